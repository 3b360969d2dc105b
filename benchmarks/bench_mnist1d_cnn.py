"""Training time of the MNIST-1D CNN (Greydanus 2020) to 0.91 test accuracy on this machine.

Model: :class:`lrbook.models.CNN1D` (three 1-D convolutions, 25 channels, the
reference ``ConvBase``); data: MNIST-1D generated offline
(:func:`lrbook.data.mnist1d`, 4,000 training / 1,000 test signals); optimizer:
Adam with the reference setting (eta = 1e-2, batch 100). The test accuracy is
measured every ``--eval-every`` steps; the printed time is the training
wall-clock (evaluations excluded) until the first evaluation at or above the
target, for each seed, and the processor time of the whole run (training to
``--max-steps`` and all evaluations; on a busy machine compare this column).
Not a timed test: it only prints. Goal: <= 60 s on two
CPU cores.

Run:  .venv/bin/python benchmarks/bench_mnist1d_cnn.py [--threads 2] [--seeds 3] [--target 0.91]
"""

from __future__ import annotations

import argparse
import time

import torch

import lrbook.data
from lrbook.models import CNN1D, steps_to_target, train_steps


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--target", type=float, default=0.91)
    parser.add_argument("--max-steps", type=int, default=8000)
    parser.add_argument("--eval-every", type=int, default=100)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    X_train, y_train, X_test, y_test = lrbook.data.mnist1d()
    print(f"MNIST-1D CNN to {args.target:.2f} test accuracy, Adam eta=1e-2, batch 100, "
          f"{args.threads} thread(s)")
    print("| seed | steps to target | seconds to target | CPU s (whole run) | final test acc |")
    print("|---|---|---|---|---|")
    for seed in range(args.seeds):
        cpu = time.process_time()
        run = train_steps(CNN1D, lambda p, lr: torch.optim.Adam(p, lr), 1e-2, seed, X_train,
                          y_train, {"test": (X_test, y_test)}, args.max_steps, 100,
                          eval_every=args.eval_every)
        cpu = time.process_time() - cpu
        h = run.history
        steps = steps_to_target(h.step, h.test_acc, args.target)
        secs = float(h.seconds[h.step == steps].iloc[0]) if steps < float("inf") else float("inf")
        print(f"| {seed} | {steps:.0f} | {secs:.1f} | {cpu:.1f} | {h.test_acc.iloc[-1]:.3f} |")


if __name__ == "__main__":
    main()
