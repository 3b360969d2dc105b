"""Tests for lrbook.plotting: every helper runs headless and returns what it promises."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg", force=True)

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402
from matplotlib.axes import Axes  # noqa: E402

import lrbook.optim  # noqa: E402
from lrbook import plotting, problems  # noqa: E402


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def _gd_path(problem, lr, num_steps):
    return problems.trajectory(problem, lambda p: lrbook.optim.GradientDescent(p, lr=lr), num_steps)


def test_use_book_style_sets_the_palette():
    matplotlib.rcdefaults()
    plotting.use_book_style()
    colours = matplotlib.rcParams["axes.prop_cycle"].by_key()["color"]
    assert [c.lower() for c in colours] == [c.lower() for c in plotting.PALETTE]
    assert matplotlib.rcParams["axes.spines.top"] is False


def test_contour_trajectories_draws_every_path():
    quad = problems.quadratic()
    paths = {"slow": _gd_path(quad, 0.02, 10), "fast": _gd_path(quad, 0.15, 10)}
    ax = plotting.contour_trajectories(quad, paths)
    assert isinstance(ax, Axes)
    labels = [line.get_label() for line in ax.get_lines()]
    assert "slow" in labels and "fast" in labels
    slow = ax.get_lines()[labels.index("slow")]
    np.testing.assert_allclose(np.asarray(slow.get_xdata()), paths["slow"][:, 0])
    assert ax.get_xlim() == quad.xlim and ax.get_ylim() == quad.ylim
    assert ax.get_legend() is not None


def test_contour_trajectories_without_legend_on_given_axes():
    quad = problems.quadratic()
    _, ax = plt.subplots()
    out = plotting.contour_trajectories(quad, {"a": _gd_path(quad, 0.1, 3)}, ax=ax, legend=False)
    assert out is ax
    assert ax.get_legend() is None


def test_contour_rejects_a_1d_problem():
    with pytest.raises(ValueError):
        plotting.contour(problems.nonconvex_1d())


def test_loss_curves_values_and_pairs():
    ax = plotting.loss_curves({"a": [1.0, 0.5, 0.25], "b": (np.array([0, 10, 20]), np.array([2.0, 1.0, 0.1]))})
    assert ax.get_yscale() == "log"
    lines = {line.get_label(): line for line in ax.get_lines()}
    np.testing.assert_array_equal(lines["a"].get_xdata(), [0, 1, 2])
    np.testing.assert_array_equal(lines["b"].get_xdata(), [0, 10, 20])
    assert ax.get_xlabel() == "step"
    linear = plotting.loss_curves({"a": [3.0, 2.0]}, logy=False, xlabel="epoch", ylabel="mse")
    assert linear.get_yscale() == "linear" and linear.get_xlabel() == "epoch" and linear.get_ylabel() == "mse"


def test_seed_band_plots_mean_and_band():
    _, ax = plt.subplots()
    runs = np.array([[1.0, 2.0, 3.0], [3.0, 4.0, 5.0]])
    plotting.seed_band(ax, [0, 1, 2], runs, label="runs")
    np.testing.assert_allclose(ax.get_lines()[0].get_ydata(), [2.0, 3.0, 4.0])
    assert len(ax.collections) == 1


@pytest.mark.parametrize("frame_format, mime", [("png", "image/png"), ("jpeg", "image/jpeg")])
def test_animate_trajectories_returns_a_player_with_few_frames(frame_format, mime):
    from IPython.display import HTML

    quad = problems.quadratic()
    paths = {"a": _gd_path(quad, 0.1, 60), "b": _gd_path(quad, 0.18, 60)}
    open_before = plt.get_fignums()         # other tests in this worker may have left figures
    html = plotting.animate_trajectories(quad, paths, max_frames=8, figsize=(3, 2), dpi=40,
                                         frame_format=frame_format)
    assert isinstance(html, HTML)
    assert "<script" in html.data
    assert html.data.count(f"data:{mime};base64") == 8
    assert plt.get_fignums() == open_before  # the animation figure is closed, not shown twice


def test_show_source_returns_the_code_of_the_rule():
    from IPython.display import Code

    code = plotting.show_source(lrbook.optim.gd.gd_update)
    assert isinstance(code, Code)
    assert "def gd_update" in code.data
    assert "param.add_" in code.data


def test_curve_trajectories_1d():
    problem = problems.nonconvex_1d()
    path = _gd_path(problem, 0.02, 10)
    ax = plotting.curve_trajectories(problem, {"η = 0.02": path})
    line = [ln for ln in ax.get_lines() if ln.get_label() == "η = 0.02"][0]
    np.testing.assert_allclose(np.asarray(line.get_xdata()), path[:, 0])
    expected = problem.f(torch.tensor(path)).numpy()
    np.testing.assert_allclose(np.asarray(line.get_ydata()), expected)
    assert ax.get_xlim() == problem.xlim


def test_curve_trajectories_drops_nan_rows_of_a_diverged_run():
    problem = problems.quadratic_1d()
    path = np.array([[1.0], [-2.0], [np.nan], [np.nan]])
    ax = plotting.curve_trajectories(problem, {"diverged": path})
    line = [ln for ln in ax.get_lines() if ln.get_label() == "diverged"][0]
    np.testing.assert_array_equal(line.get_xdata(), [1.0, -2.0])


def test_curve_trajectories_rejects_2d():
    with pytest.raises(ValueError):
        plotting.curve_trajectories(problems.quadratic(), {})


def test_flowchart_draws_nodes_edges_and_labels():
    nodes = {
        "a": (0.0, 2.0, "start", "terminal"),
        "b": (0.0, 1.0, "work"),
        "c": (0.0, 0.0, "done?", "decision"),
        "d": (2.0, 0.0, "maybe", "optional", (1.0, 0.5)),
    }
    edges = [("a", "b"), ("b", "c"), ("c", "b", "no", [(-1.5, 0.0), (-1.5, 1.0)]), ("c", "d", "yes")]
    ax = plotting.flowchart(nodes, edges)
    assert isinstance(ax, Axes)
    assert len(ax.patches) == len(nodes)
    texts = [t.get_text() for t in ax.texts]
    for word in ("start", "work", "done?", "maybe", "yes", "no"):
        assert word in texts
    plain_texts = [t for t in ax.texts if type(t).__name__ == "Text"]
    assert len(plain_texts) == len(nodes) + 2         # node texts + two edge labels
    # one arrowhead per edge, and the routed loop draws its polyline separately
    assert len([c for c in ax.get_children() if type(c).__name__ == "Annotation"]) == len(edges)
    assert len(ax.get_lines()) == 1
    assert not ax.axison
    # the routed edge widened the view to the left
    assert ax.get_xlim()[0] < -1.5


def test_flowchart_arrows_stop_at_node_outlines():
    nodes = {"top": (0.0, 1.0, "top"), "bottom": (0.0, -1.0, "bottom")}
    ax = plotting.flowchart(nodes, [("top", "bottom")])
    (arrow,) = [c for c in ax.get_children() if type(c).__name__ == "Annotation"]
    height = plotting._NODE_SIZE["box"][1]
    assert arrow.xy == pytest.approx((0.0, -1.0 + height / 2))
    assert arrow.xyann == pytest.approx((0.0, 1.0 - height / 2))


def test_flowchart_rejects_unknown_shape_and_node():
    with pytest.raises(ValueError):
        plotting.flowchart({"a": (0, 0, "x", "hexagon")}, [])
    with pytest.raises(KeyError):
        plotting.flowchart({"a": (0, 0, "x")}, [("a", "nowhere")])


def test_training_loop_flowchart_order():
    ax = plotting.training_loop_flowchart()
    positions = {t.get_text(): t.get_position() for t in ax.texts}
    y = {key: next(pos[1] for text, pos in positions.items() if key in text)
         for key in ("initialise", "mini-batch", "forward pass", "backward pass", "optimizer step",
                     "validation set", "restore the best")}
    # the forward pass (loss) comes before the backward pass (gradients), in reading order
    assert y["initialise"] > y["mini-batch"] > y["forward pass"] > y["backward pass"] > y["optimizer step"]
    assert {"yes", "no", "no: next epoch"} <= set(positions)


def test_every_trajectory_is_drawn_even_beyond_the_palette():
    """More paths than palette colours: none may be dropped (colours cycle)."""
    q = problems.quadratic(kappa=4.0)
    n = len(plotting.PALETTE) + 3
    paths = {f"run {i}": np.array([[i, 0.0], [i, 1.0]]) for i in range(n)}
    ax = plotting.contour_trajectories(q, paths, legend=False)
    labels = [line.get_label() for line in ax.get_lines()]
    assert all(f"run {i}" in labels for i in range(n))
    plt.close(ax.figure)
