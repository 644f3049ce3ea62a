"""ember.plot: every function writes a non-blank figure and returns its path; bad input is refused clearly."""

from __future__ import annotations

import numpy as np
import pytest

from tests.optional import skip_reason

pytest.importorskip("matplotlib", reason=skip_reason("matplotlib", "the figure tests"))

from matplotlib.image import imread  # noqa: E402

from ember import plot  # noqa: E402


def assert_not_blank(path, expected):
    """The file is where it was asked for, and its pixels are not all one colour."""
    assert path == expected
    assert path.is_file() and path.stat().st_size > 0
    pixels = imread(path)
    assert pixels.ndim == 3
    flat = pixels.reshape(-1, pixels.shape[-1])
    assert (flat != flat[0]).any(), f"{path} is a single colour"
    # more than a frame: a real drawing has many distinct colours
    assert len(np.unique(flat.round(2), axis=0)) > 5


def test_loss_curves(tmp_path):
    path = plot.loss_curves(tmp_path / "loss.png", [3.0, 2.0, 1.5, 1.2], [3.1, 2.4, 2.0, 1.9])
    assert_not_blank(path, tmp_path / "loss.png")


def test_line_plot_with_own_x_and_log_axes(tmp_path):
    series = {"train": [1.0, 0.5, 0.3], "test": ([5, 20, 50], [1.2, 0.8, 0.7])}
    path = plot.line_plot(tmp_path / "sub" / "lines.png", series, x=[5, 20, 50], log_x=True, markers=True)
    assert_not_blank(path, tmp_path / "sub" / "lines.png")


def test_decision_regions_from_scores_and_labels(tmp_path):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(60, 3))
    y = (X[:, 0] + X[:, 1] > 0).astype(int)
    scores = lambda Z: np.stack([-(Z[:, 0] + Z[:, 1]), Z[:, 0] + Z[:, 1]], axis=1)  # noqa: E731
    path = plot.decision_regions(tmp_path / "regions.png", scores, X, y, features=(0, 1), resolution=50)
    assert_not_blank(path, tmp_path / "regions.png")
    labels = lambda Z: (Z[:, 1] > 0).astype(int)  # noqa: E731
    assert_not_blank(plot.decision_regions(tmp_path / "r2.png", labels, X, y, (1, 2), resolution=30),
                     tmp_path / "r2.png")


def test_decision_regions_from_probabilities_is_thresholded():
    assert plot._labels_from(np.array([[0.2], [0.7], [0.5]]), 3).tolist() == [0, 1, 1]
    assert plot._labels_from(np.array([[0.1, 0.9], [0.8, 0.2]]), 2).tolist() == [1, 0]


def test_decision_regions_errors(tmp_path):
    X = np.zeros((4, 2))
    with pytest.raises(ValueError, match="two different indices"):
        plot.decision_regions(tmp_path / "x.png", lambda Z: Z[:, 0], X, np.zeros(4, int), features=(0, 0))
    with pytest.raises(ValueError, match="expected 4 labels"):
        plot.decision_regions(tmp_path / "x.png", lambda Z: Z[:, 0], X, np.zeros(3, int))
    with pytest.raises(ValueError, match="returned 1 values"):
        plot.decision_regions(tmp_path / "x.png", lambda Z: np.zeros(1), X, np.zeros(4, int), resolution=5)


def test_weight_images_and_hinton(tmp_path):
    weights = {"W1": np.array([[1.0, -2.0], [0.5, 0.1]]), "b1": np.array([0.3, -0.3])}
    assert_not_blank(plot.weight_images(tmp_path / "w.png", weights), tmp_path / "w.png")
    assert_not_blank(plot.hinton(tmp_path / "h.png", [np.random.default_rng(1).normal(size=(5, 7))]),
                     tmp_path / "h.png")


def test_weights_must_be_matrices(tmp_path):
    with pytest.raises(ValueError, match="1-D or 2-D"):
        plot.hinton(tmp_path / "h.png", np.zeros((2, 2, 2)))
    with pytest.raises(ValueError, match="at least one"):
        plot.weight_images(tmp_path / "w.png", {})


def test_letter_grid(tmp_path):
    rng = np.random.default_rng(0)
    X = (rng.random((40, 128)) > 0.6).astype(float)
    y = np.repeat(np.arange(4), 10)
    predictions = y.copy()
    predictions[0] = 3
    path = plot.letter_grid(tmp_path / "letters.png", X, y, per_class=5, predictions=predictions)
    assert_not_blank(path, tmp_path / "letters.png")
    with pytest.raises(ValueError, match=r"\(n, 128\) for 16x8"):
        plot.letter_grid(tmp_path / "bad.png", X[:, :100], y)


def test_jacobian_heatmap(tmp_path):
    analytic = np.diag([1.0, 2.0, 3.0])
    path = plot.jacobian_heatmap(tmp_path / "jac.png", analytic, analytic + 1e-7)
    assert_not_blank(path, tmp_path / "jac.png")
    with pytest.raises(ValueError, match="differ in shape"):
        plot.jacobian_heatmap(tmp_path / "jac.png", analytic, analytic[:2])


def test_scatter_fit_and_table_heatmap(tmp_path):
    x = np.linspace(-3, 3, 50)
    path = plot.scatter_fit(tmp_path / "fit.png", x, np.sin(x), {"line": 0.3 * x})
    assert_not_blank(path, tmp_path / "fit.png")
    values = np.array([[0.1, np.nan], [0.7, 0.2]])
    path = plot.table_heatmap(tmp_path / "t.png", values, ["a", "b"], ["x", "y"], title="grid")
    assert_not_blank(path, tmp_path / "t.png")
    with pytest.raises(ValueError, match="expected values of shape"):
        plot.table_heatmap(tmp_path / "t.png", values, ["a"], ["x", "y"])


def test_path_needs_a_suffix(tmp_path):
    with pytest.raises(ValueError, match="needs a file suffix"):
        plot.loss_curves(tmp_path / "loss", [1.0, 0.5])


def test_no_pyplot_state_is_left_behind(tmp_path):
    import sys

    plot.loss_curves(tmp_path / "l.png", [1.0, 0.5])
    if "matplotlib.pyplot" in sys.modules:  # another test may import it; then no figure may be open
        import matplotlib.pyplot as plt

        assert plt.get_fignums() == []
