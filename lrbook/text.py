r"""Text machinery for the two text case studies: tokenizers, models, training loops, MLM masking.

- :func:`train_tokenizer` / :func:`encode` -- a word-level or WordPiece
  tokenizer trained offline by Hugging Face ``tokenizers`` on the corpus, and
  padded id tensors.
- :class:`BagOfEmbeddings` (``nn.EmbeddingBag``, optionally ``sparse=True``),
  :class:`GRUClassifier` and :class:`TransformerEncoder` (``torch.nn``; Post-LN
  or Pre-LN) -- the classifiers of the chapters.
- :func:`fit_classifier` -- minibatch training with one optimizer, returning
  validation accuracy, per-step losses and time per step.
- :func:`mask_tokens` -- BERT's masked-language-model corruption (Devlin et
  al., 2019): 15 % of the non-special tokens are chosen; of those 80 % become
  ``[MASK]``, 10 % a random token, 10 % stay.
- :func:`pretrain_mlm` -- MLM pre-training with AdamW and BERT's schedule
  (linear warm-up to :math:`\eta_{\max}`, then linear decay to 0), returning
  the loss of every step so that spikes and divergence can be counted.
- :func:`optimizer_state_bytes` -- memory held by an optimizer's state.

Every function takes explicit seeds; nothing here reads environment variables.
Special token ids are fixed: ``[PAD]=0, [UNK]=1, [CLS]=2, [SEP]=3, [MASK]=4``.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence

import numpy as np
import torch
from torch import Tensor, nn

from lrbook.schedules.functions import linear_decay, linear_warmup, make_schedule

__all__ = [
    "SPECIAL_TOKENS",
    "PAD",
    "UNK",
    "CLS",
    "SEP",
    "MASK",
    "BagOfEmbeddings",
    "GRUClassifier",
    "TransformerEncoder",
    "accuracy",
    "bert_schedule",
    "encode",
    "fit_classifier",
    "mask_tokens",
    "optimizer_state_bytes",
    "predict",
    "pretrain_mlm",
    "train_tokenizer",
    "walk_grid",
    "count_spikes",
]

SPECIAL_TOKENS = ("[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]")
PAD, UNK, CLS, SEP, MASK = range(5)


# --------------------------------------------------------------------------
# tokenizers (Hugging Face `tokenizers`, trained offline)
# --------------------------------------------------------------------------


def train_tokenizer(
    texts: Sequence[str], vocab_size: int, kind: str = "wordpiece", min_frequency: int = 2
):
    """Train a lower-casing tokenizer on ``texts`` with Hugging Face ``tokenizers``.

    ``kind="word"``: whole words (split on white space and punctuation), the
    ``vocab_size`` most frequent ones seen at least ``min_frequency`` times.
    ``kind="wordpiece"``: BERT's WordPiece subwords (Wu et al. 2016; Devlin et
    al. 2019), so rare words are spelled with pieces instead of ``[UNK]``.
    Both use BERT's normaliser (lower case, accents stripped) and reserve the
    ids 0-4 for :data:`SPECIAL_TOKENS`. Training is in memory, offline.

    Returns:
        a ``tokenizers.Tokenizer``.

    Raises:
        ValueError: ``kind`` not ``"word"``/``"wordpiece"``, ``vocab_size < 6``,
            ``min_frequency < 1`` or no texts.
    """
    from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers, trainers

    if kind not in ("word", "wordpiece"):
        raise ValueError(f"kind must be 'word' or 'wordpiece', got {kind!r}")
    if int(vocab_size) != vocab_size or vocab_size < 6:
        raise ValueError(f"vocab_size must be an integer >= 6, got {vocab_size!r}")
    if int(min_frequency) != min_frequency or min_frequency < 1:
        raise ValueError(f"min_frequency must be an integer >= 1, got {min_frequency!r}")
    if len(texts) == 0:
        raise ValueError("texts must not be empty")
    if kind == "word":
        tok = Tokenizer(models.WordLevel(unk_token="[UNK]"))
        trainer = trainers.WordLevelTrainer(
            vocab_size=int(vocab_size), min_frequency=int(min_frequency),
            special_tokens=list(SPECIAL_TOKENS), show_progress=False,
        )
    else:
        tok = Tokenizer(models.WordPiece(unk_token="[UNK]"))
        trainer = trainers.WordPieceTrainer(
            vocab_size=int(vocab_size), min_frequency=int(min_frequency),
            special_tokens=list(SPECIAL_TOKENS), show_progress=False,
        )
        tok.decoder = decoders.WordPiece()
    tok.normalizer = normalizers.BertNormalizer(lowercase=True)
    tok.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    tok.train_from_iterator(list(texts), trainer=trainer)
    if [tok.token_to_id(t) for t in SPECIAL_TOKENS] != list(range(5)):
        raise RuntimeError("special tokens did not receive the ids 0-4")
    return tok


def encode(tokenizer, texts: Sequence[str], max_len: int, add_cls: bool = False) -> Tensor:
    """Token ids of ``texts``, truncated to ``max_len`` and padded with ``[PAD]`` (id 0).

    With ``add_cls=True`` every row starts with ``[CLS]`` (counted in ``max_len``).

    Returns:
        int64 tensor of shape ``(len(texts), max_len)``.
    """
    if int(max_len) != max_len or max_len < 2:
        raise ValueError(f"max_len must be an integer >= 2, got {max_len!r}")
    keep = max_len - 1 if add_cls else max_len
    out = torch.zeros(len(texts), max_len, dtype=torch.long)
    for i, enc in enumerate(tokenizer.encode_batch(list(texts), add_special_tokens=False)):
        ids = enc.ids[:keep]
        if add_cls:
            ids = [CLS, *ids]
        out[i, : len(ids)] = torch.tensor(ids, dtype=torch.long)
    return out


# --------------------------------------------------------------------------
# models
# --------------------------------------------------------------------------


class BagOfEmbeddings(nn.Module):
    """Mean of word embeddings, then a linear layer (fastText-style; Joulin et al. 2017).

    ``nn.EmbeddingBag(mode="mean", padding_idx=0)`` averages the embeddings
    of the non-pad ids of each row. With ``sparse=True`` its gradient is a
    sparse tensor holding only the rows of the words in the batch, which only
    sparse-aware optimizers accept (``torch.optim.SparseAdam``, ``SGD``,
    ``Adagrad``). The output layer stays dense.

    Input ``(B, L)`` int64 ids; output ``(B, num_classes)`` logits.
    """

    def __init__(self, vocab_size: int, dim: int, num_classes: int, sparse: bool = False):
        super().__init__()
        self.embedding = nn.EmbeddingBag(vocab_size, dim, mode="mean", padding_idx=PAD,
                                         sparse=sparse)
        self.out = nn.Linear(dim, num_classes)

    def forward(self, ids: Tensor) -> Tensor:
        return self.out(self.embedding(ids))


class GRUClassifier(nn.Module):
    """Embedding, one GRU layer (Cho et al. 2014), mean of its outputs over the real tokens, linear.

    The GRU reads left to right, so its outputs at the real tokens never see
    the padding that follows them; the mean over those positions is exact.
    Input ``(B, L)`` int64 ids; output ``(B, num_classes)`` logits.
    """

    def __init__(self, vocab_size: int, dim: int, hidden: int, num_classes: int):
        super().__init__()
        self.embedding = nn.Embedding(vocab_size, dim, padding_idx=PAD)
        self.gru = nn.GRU(dim, hidden, batch_first=True)
        self.out = nn.Linear(hidden, num_classes)

    def forward(self, ids: Tensor) -> Tensor:
        h, _ = self.gru(self.embedding(ids))  # (B, L, hidden)
        mask = (ids != PAD).unsqueeze(-1).to(h.dtype)
        pooled = (h * mask).sum(1) / mask.sum(1).clamp_min(1.0)
        return self.out(pooled)


class TransformerEncoder(nn.Module):
    """A small BERT-style encoder: token + learned position embeddings, ``nn.TransformerEncoder``.

    ``pre_ln=False`` is the original Post-LN block (Vaswani et al. 2017; BERT):
    ``x = LN(x + sublayer(x))``. ``pre_ln=True`` is the Pre-LN block
    ``x = x + sublayer(LN(x))`` with a final LayerNorm, which Xiong et al.
    (2020) show has well-behaved gradients at initialisation and trains
    without warm-up. :meth:`mlm_logits` gives ``(B, L, vocab_size)`` logits
    (output layer tied to the token embedding, as in BERT);
    :meth:`forward` gives ``(B, num_classes)`` logits from the ``[CLS]``
    position (``num_classes=0`` for a pre-training-only model).
    """

    def __init__(self, vocab_size: int, d_model: int = 64, num_layers: int = 2,
                 num_heads: int = 4, d_ff: int | None = None, max_len: int = 128,
                 num_classes: int = 0, dropout: float = 0.1, pre_ln: bool = False):
        super().__init__()
        if d_model % num_heads:
            raise ValueError(f"d_model={d_model} must be divisible by num_heads={num_heads}")
        self.tok = nn.Embedding(vocab_size, d_model, padding_idx=PAD)
        self.pos = nn.Embedding(max_len, d_model)
        self.emb_norm = nn.LayerNorm(d_model)
        self.drop = nn.Dropout(dropout)
        layer = nn.TransformerEncoderLayer(
            d_model, num_heads, d_ff or 4 * d_model, dropout, activation="gelu",
            batch_first=True, norm_first=pre_ln,
        )
        self.encoder = nn.TransformerEncoder(
            layer, num_layers, norm=nn.LayerNorm(d_model) if pre_ln else None,
            enable_nested_tensor=False,
        )
        self.mlm_bias = nn.Parameter(torch.zeros(vocab_size))
        self.head = nn.Linear(d_model, num_classes) if num_classes else None
        nn.init.normal_(self.tok.weight, std=0.02)
        nn.init.normal_(self.pos.weight, std=0.02)

    def encode(self, ids: Tensor) -> Tensor:
        """Hidden states ``(B, L, d_model)``; pad positions are masked out of attention."""
        positions = torch.arange(ids.shape[1], device=ids.device)
        x = self.drop(self.emb_norm(self.tok(ids) + self.pos(positions)))
        return self.encoder(x, src_key_padding_mask=ids == PAD)

    def mlm_logits(self, ids: Tensor) -> Tensor:
        return self.encode(ids) @ self.tok.weight.T + self.mlm_bias

    def forward(self, ids: Tensor) -> Tensor:
        if self.head is None:
            raise RuntimeError("this model has no classification head (num_classes=0)")
        return self.head(self.encode(ids)[:, 0])


# --------------------------------------------------------------------------
# training and evaluation
# --------------------------------------------------------------------------


@torch.no_grad()
def predict(model: nn.Module, ids: Tensor, batch_size: int = 1024) -> np.ndarray:
    """Predicted class of every row of ``ids`` (eval mode), as an int64 array."""
    was = model.training
    model.eval()
    dev = next(model.parameters()).device
    out = [model(ids[i : i + batch_size].to(dev)).argmax(-1).cpu()
           for i in range(0, len(ids), batch_size)]
    model.train(was)
    return torch.cat(out).numpy()


def accuracy(model: nn.Module, ids: Tensor, y: Tensor | np.ndarray) -> float:
    """Fraction of rows of ``ids`` whose predicted class equals ``y``."""
    return float(np.mean(predict(model, ids) == np.asarray(y)))


def fit_classifier(
    model: nn.Module,
    optimizer: torch.optim.Optimizer,
    X: Tensor,
    y: Tensor,
    X_val: Tensor,
    y_val: Tensor,
    num_epochs: int,
    batch_size: int,
    seed: int,
    schedule: Callable[[int], float] | None = None,
    clip_grad_norm: float | None = None,
) -> dict:
    """Train ``model`` with cross-entropy for ``num_epochs`` epochs; evaluate on validation.

    Minibatches are drawn without replacement in an order fixed by
    ``torch.Generator().manual_seed(seed)``. ``schedule`` (step -> lr) sets
    every group's lr before each step. A non-finite loss stops training and is
    reported as ``diverged`` with validation accuracy 0.

    Returns:
        dict with ``val_acc`` (best over epochs is NOT taken: the last epoch's),
        ``val_acc_per_epoch``, ``losses`` (per step), ``seconds_per_step``,
        ``diverged``, ``steps``.
    """
    if num_epochs < 1 or batch_size < 1:
        raise ValueError(f"num_epochs and batch_size must be >= 1, got {num_epochs}, {batch_size}")
    dev = next(model.parameters()).device
    gen = torch.Generator().manual_seed(seed)
    loss_fn = nn.CrossEntropyLoss()
    losses, accs, step, diverged = [], [], 0, False
    model.train()
    t0 = time.perf_counter()
    for _ in range(num_epochs):
        order = torch.randperm(len(X), generator=gen)
        for i in range(0, len(X), batch_size):
            idx = order[i : i + batch_size]
            if schedule is not None:
                for g in optimizer.param_groups:
                    g["lr"] = schedule(step)
            optimizer.zero_grad(set_to_none=True)
            loss = loss_fn(model(X[idx].to(dev)), y[idx].to(dev))
            if not torch.isfinite(loss):
                diverged = True
                break
            loss.backward()
            if clip_grad_norm is not None:
                nn.utils.clip_grad_norm_(model.parameters(), clip_grad_norm)
            optimizer.step()
            losses.append(loss.item())
            step += 1
        if diverged:
            break
        accs.append(accuracy(model, X_val, y_val))
    seconds = time.perf_counter() - t0
    return {
        "val_acc": 0.0 if diverged else accs[-1],
        "val_acc_per_epoch": accs,
        "losses": np.array(losses),
        "seconds_per_step": seconds / max(step, 1),
        "diverged": diverged,
        "steps": step,
    }


def optimizer_state_bytes(optimizer: torch.optim.Optimizer) -> int:
    """Bytes held by the tensors in ``optimizer.state`` (moments, step counts, sums)."""
    total = 0
    for state in optimizer.state.values():
        for v in state.values():
            if isinstance(v, Tensor):
                total += v.numel() * v.element_size()
    return total


# --------------------------------------------------------------------------
# masked-language-model pre-training (BERT's recipe, small)
# --------------------------------------------------------------------------


def mask_tokens(
    ids: Tensor, vocab_size: int, generator: torch.Generator, p: float = 0.15
) -> tuple[Tensor, Tensor]:
    """BERT's MLM corruption (Devlin et al. 2019, section 3.1).

    Each non-special token (id >= 5) is chosen with probability ``p``. A chosen
    token becomes ``[MASK]`` with probability 0.8, a uniformly random
    non-special token with probability 0.1, and stays unchanged otherwise. The
    model must predict the original token at every chosen position.

    Returns:
        ``(inputs, labels)``: ``inputs`` is the corrupted copy of ``ids``;
        ``labels`` holds the original id at chosen positions and -100 (ignored by
        ``cross_entropy``) elsewhere. Both have the shape of ``ids``.
    """
    if not 0.0 < p < 1.0:
        raise ValueError(f"p must lie in (0, 1), got {p!r}")
    if vocab_size <= len(SPECIAL_TOKENS):
        raise ValueError(f"vocab_size must exceed {len(SPECIAL_TOKENS)}, got {vocab_size}")
    u = torch.rand(ids.shape, generator=generator)
    chosen = (u < p) & (ids >= len(SPECIAL_TOKENS))
    labels = torch.where(chosen, ids, torch.full_like(ids, -100))
    r = torch.rand(ids.shape, generator=generator)
    inputs = ids.clone()
    inputs[chosen & (r < 0.8)] = MASK
    swap = chosen & (r >= 0.8) & (r < 0.9)
    rand_ids = torch.randint(len(SPECIAL_TOKENS), vocab_size, ids.shape, generator=generator)
    inputs[swap] = rand_ids[swap]
    return inputs, labels


def bert_schedule(peak_lr: float, total_steps: int, warmup_steps: int) -> Callable[[int], float]:
    r"""BERT's schedule: linear warm-up from 0 to :math:`\eta_{\max}` over :math:`T_w` steps,
    then linear decay to 0 at step :math:`T` (``warmup_steps=0``: decay only).

    Built from :func:`lrbook.schedules.functions.linear_warmup` and
    :func:`~lrbook.schedules.functions.linear_decay`.
    """
    if not 0 <= warmup_steps < total_steps:
        raise ValueError(
            f"need 0 <= warmup_steps < total_steps, got {warmup_steps} and {total_steps}"
        )
    decay = make_schedule(linear_decay, initial_learning_rate=peak_lr,
                          total_steps=total_steps - warmup_steps)
    return linear_warmup(decay, warmup_steps) if warmup_steps else decay


def pretrain_mlm(
    model: TransformerEncoder,
    ids: Tensor,
    num_steps: int,
    batch_size: int,
    peak_lr: float,
    warmup_steps: int,
    seed: int,
    weight_decay: float = 0.01,
    betas: tuple[float, float] = (0.9, 0.999),
    clip_grad_norm: float | None = 1.0,
) -> np.ndarray:
    """Masked-LM pre-training of ``model`` on the rows of ``ids`` with AdamW and :func:`bert_schedule`.

    BERT used Adam with decoupled weight decay 0.01, β1=0.9, β2=0.999, warm-up
    over the first 10,000 of 1,000,000 steps and linear decay (Devlin et al.
    2019, appendix A.2); here the same shape is used at a far smaller size.
    Each step draws ``batch_size`` rows (with ``torch.Generator().manual_seed(seed)``)
    and masks them with :func:`mask_tokens`. A non-finite loss stops training;
    the remaining steps are reported as NaN.

    Returns:
        float array of length ``num_steps``: the MLM loss (cross-entropy in nats
        over the masked positions) of every step.
    """
    dev = next(model.parameters()).device
    gen = torch.Generator().manual_seed(seed)
    vocab = model.tok.num_embeddings
    decay, no_decay = [], []
    for name, p in model.named_parameters():
        (no_decay if p.ndim < 2 or "norm" in name else decay).append(p)
    opt = torch.optim.AdamW(
        [{"params": decay, "weight_decay": weight_decay},
         {"params": no_decay, "weight_decay": 0.0}], lr=peak_lr, betas=betas,
    )
    sched = bert_schedule(peak_lr, num_steps, warmup_steps)
    losses = np.full(num_steps, np.nan)
    model.train()
    for step in range(num_steps):
        rows = torch.randint(0, len(ids), (batch_size,), generator=gen)
        inputs, labels = mask_tokens(ids[rows], vocab, gen)
        for g in opt.param_groups:
            g["lr"] = sched(step)
        labels = labels.to(dev)
        chosen = labels != -100  # the output layer runs only where a token was chosen
        hidden = model.encode(inputs.to(dev))[chosen]
        logits = hidden @ model.tok.weight.T + model.mlm_bias
        loss = nn.functional.cross_entropy(logits, labels[chosen])
        if not torch.isfinite(loss):
            break
        opt.zero_grad(set_to_none=True)
        loss.backward()
        if clip_grad_norm is not None:
            nn.utils.clip_grad_norm_(model.parameters(), clip_grad_norm)
        opt.step()
        losses[step] = loss.item()
    return losses


def count_spikes(losses: np.ndarray, window: int = 20, factor: float = 1.5) -> int:
    """Number of steps whose loss exceeds ``factor`` times the median of the previous ``window``.

    A diverged run (NaN after some step) counts each NaN step as a spike.
    """
    losses = np.asarray(losses, dtype=float)
    spikes = int(np.isnan(losses).sum())
    for t in range(window, len(losses)):
        if np.isfinite(losses[t]):
            ref = np.nanmedian(losses[t - window : t]) if np.isfinite(
                losses[t - window : t]).any() else math.inf
            spikes += int(losses[t] > factor * ref)
    return spikes


# --------------------------------------------------------------------------
# tuning on a grid without evaluating its far ends
# --------------------------------------------------------------------------


def walk_grid(
    grid: Sequence[float], score: Callable[[float], float], start: int, patience: int = 2
) -> np.ndarray:
    """Evaluate ``score`` (higher is better) on ``grid``, walking outwards from ``grid[start]``.

    From ``start`` the walk goes up the grid until ``patience`` consecutive
    values score worse than the best so far (or the grid ends), then down from
    ``start`` the same way. For a unimodal score this finds the same maximum as
    evaluating every point, at a fraction of the cost; values it never reached
    are returned as NaN, which :func:`lrbook.stats.best_interior` treats as the
    worst score, so a best value at a grid edge still raises there.

    Returns:
        float array of ``len(grid)`` scores, NaN where not evaluated.
    """
    grid = list(grid)
    if not 0 <= start < len(grid):
        raise ValueError(f"start must index the grid (0..{len(grid) - 1}), got {start!r}")
    if int(patience) != patience or patience < 1:
        raise ValueError(f"patience must be a positive integer, got {patience!r}")
    scores = np.full(len(grid), np.nan)
    scores[start] = score(grid[start])
    for direction in (+1, -1):
        worse, i = 0, start + direction
        while 0 <= i < len(grid) and worse < patience:
            scores[i] = score(grid[i])
            best = np.nanmax(scores)
            worse = 0 if scores[i] >= best else worse + 1
            i += direction
    return scores
