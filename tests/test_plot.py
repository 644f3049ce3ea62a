"""ember.plot: every function writes a non-blank figure and returns its path; bad input is refused clearly."""

from __future__ import annotations

import numpy as np
import pytest

from tests.optional import skip_reason

pytest.importorskip("matplotlib", reason=skip_reason("matplotlib", "the figure tests"))

from matplotlib.image import imread  # noqa: E402

from ember import plot  # noqa: E402
from ember.errors import InputError  # noqa: E402


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


def test_module_jacobian_draws_a_module_at_an_input(tmp_path):
    from ember import nn

    path = plot.module_jacobian(tmp_path / "sub" / "tanh.png", nn.Tanh(), np.linspace(-1.0, 1.0, 4))
    assert_not_blank(path, tmp_path / "sub" / "tanh.png")


def test_scatter_fit_and_table_heatmap(tmp_path):
    x = np.linspace(-3, 3, 50)
    path = plot.scatter_fit(tmp_path / "fit.png", x, np.sin(x), {"line": 0.3 * x})
    assert_not_blank(path, tmp_path / "fit.png")
    values = np.array([[0.1, np.nan], [0.7, 0.2]])
    path = plot.table_heatmap(tmp_path / "t.png", values, ["a", "b"], ["x", "y"], title="grid")
    assert_not_blank(path, tmp_path / "t.png")
    with pytest.raises(ValueError, match="expected values of shape"):
        plot.table_heatmap(tmp_path / "t.png", values, ["a"], ["x", "y"])


@pytest.mark.parametrize("name", ["loss", "loss.xyz"])
def test_path_needs_a_figure_suffix(tmp_path, name):
    with pytest.raises(InputError, match=rf"the path '.*{name}' needs a figure suffix, one of .*\.png"):
        plot.loss_curves(tmp_path / name, [1.0, 0.5])
    assert list(tmp_path.iterdir()) == []


def test_no_pyplot_state_is_left_behind(tmp_path):
    import sys

    plot.loss_curves(tmp_path / "l.png", [1.0, 0.5])
    if "matplotlib.pyplot" in sys.modules:  # another test may import it; then no figure may be open
        import matplotlib.pyplot as plt

        assert plt.get_fignums() == []


@pytest.fixture
def drawn(monkeypatch):
    """The figures the plot functions save, drawn, in a list (to measure what a reader sees)."""
    figures = []
    save = plot._save

    def keep(figure, path):
        figure.canvas.draw()
        figures.append(figure)
        return save(figure, path)

    monkeypatch.setattr(plot, "_save", keep)
    return figures


def inside(figure, artist):
    box, frame = artist.get_window_extent(figure.canvas.get_renderer()), figure.bbox
    return (box.x0 >= frame.x0 - 0.5 and box.x1 <= frame.x1 + 0.5
            and box.y0 >= frame.y0 - 0.5 and box.y1 <= frame.y1 + 0.5)


def ticks_are_integers(axes):
    return all(float(t).is_integer() for t in [*axes.get_xticks(), *axes.get_yticks()])


def test_long_titles_stay_inside_the_figure(tmp_path, drawn):
    title = "Hidden-layer weights of the OCR network after training, one row per hidden unit (alpha)"
    plot.weight_images(tmp_path / "w.png", {"alpha": np.ones((20, 128))}, title=title)
    plot.hinton(tmp_path / "h.png", np.ones((2, 3)), title=title)
    plot.jacobian_heatmap(tmp_path / "j.png", np.eye(3), np.eye(3), title=title * 2)
    plot.unit_images(tmp_path / "u.png", np.ones((3, 128)), (16, 8), title=title)
    for figure in drawn:
        assert inside(figure, figure._suptitle), figure._suptitle.get_text()


def test_a_wide_weight_matrix_gets_visible_cells(tmp_path, drawn):
    plot.weight_images(tmp_path / "w.png", {"alpha": np.random.default_rng(0).normal(size=(20, 128))})
    axes = drawn[0].axes[0]
    box = axes.get_window_extent(drawn[0].canvas.get_renderer())
    assert box.width / 128 >= 3 and box.height / 20 >= 8, (box.width, box.height)  # pixels per cell
    assert ticks_are_integers(axes)


def test_unit_images_draw_each_unit_as_an_image(tmp_path, drawn):
    weights = np.random.default_rng(0).normal(size=(12, 128))
    path = plot.unit_images(tmp_path / "u.png", weights, (16, 8), columns=5)
    assert_not_blank(path, tmp_path / "u.png")
    images = [axes for axes in drawn[0].axes if axes.images]
    assert len(images) == 12 and images[0].images[0].get_array().shape == (16, 8)
    np.testing.assert_array_equal(images[3].images[0].get_array(), weights[3].reshape(16, 8))
    box = images[0].get_window_extent(drawn[0].canvas.get_renderer())
    assert box.height >= 100 and box.width >= 50  # a letter-sized image, not a sliver
    plot.unit_images(tmp_path / "many.png", np.zeros((80, 128)), (16, 8))
    assert "the first 50 of 80" in drawn[1]._suptitle.get_text()
    with pytest.raises(ValueError, match=r"\(units, 128\) for 16x8"):
        plot.unit_images(tmp_path / "bad.png", weights[:, :100], (16, 8))


def test_heatmap_and_epoch_ticks_are_whole_numbers(tmp_path, drawn):
    plot.jacobian_heatmap(tmp_path / "j.png", np.eye(3), np.eye(3) + 1e-9)
    plot.loss_curves(tmp_path / "l.png", [3.0, 2.0, 1.0], [3.5, 2.5, 2.0])
    heatmaps = [axes for axes in drawn[0].axes if axes.images and axes.get_label() != "<colorbar>"]
    assert len(heatmaps) == 3
    for axes in heatmaps:
        assert ticks_are_integers(axes) and len(axes.get_xticks()) >= 2
    assert all(float(t).is_integer() for t in drawn[1].axes[0].get_xticks())


def test_held_out_curve_is_named_as_asked(tmp_path, drawn):
    plot.loss_curves(tmp_path / "l.png", [1.0, 0.5], [1.2, 0.8], validation_label="test")
    plot.loss_curves(tmp_path / "v.png", [1.0, 0.5], [1.2, 0.8])
    legends = [[text.get_text() for text in figure.axes[0].get_legend().get_texts()] for figure in drawn]
    assert legends == [["train", "test"], ["train", "validation"]]


def test_data_and_fits_are_drawn_in_different_colours(tmp_path, drawn):
    from matplotlib.colors import to_rgba

    x = np.linspace(-3, 3, 50)
    plot.scatter_fit(tmp_path / "fit.png", x, np.sin(x), {"one": 0.3 * x, "two": 0.2 * x})
    axes = drawn[0].axes[0]
    data_colour = tuple(axes.collections[0].get_facecolor()[0][:3])
    fit_colours = [to_rgba(line.get_color())[:3] for line in axes.lines]
    assert len(set(fit_colours)) == 2 and data_colour not in fit_colours


def test_the_workflows_figures(tmp_path, drawn):
    """The OCR figures: the test curve is called test, the hidden units are letter images; MNIST's likewise."""
    from ember.recipes import ocr

    rng = np.random.default_rng(0)
    X, y = (rng.random((40, 128)) > 0.5).astype(float), np.arange(40) % 10
    trained = ocr.train((X, y), (X, y), 2, 6, True, 0.1, rng=rng)
    names = [path.name for path in ocr.figures(trained, (X, y), tmp_path)]
    assert names == ["crossentropy.png", "test_letters.png", "hidden_weights.png"]
    curves, _, hidden = drawn
    assert [text.get_text() for text in curves.axes[0].get_legend().get_texts()] == ["train", "test"]
    assert sum(1 for axes in hidden.axes if axes.images) == 6
    for figure in drawn:
        assert inside(figure, figure._suptitle) if figure._suptitle else True
