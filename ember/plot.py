"""Figures for the classic workflows: loss curves, decision regions, weights, letters, Jacobians.

Every function draws one figure, writes it to ``path`` (PNG, PDF or SVG, by the
suffix; parent folders are created) and returns the path as a
:class:`pathlib.Path`. Figures are built on :class:`matplotlib.figure.Figure`
with an Agg canvas, never through ``pyplot``: no window opens, no global backend
is chosen, and nothing is left in memory after the call. matplotlib is imported
when a function is called, so ``import ember`` does not need it.

Example::

    from ember import plot
    path = plot.loss_curves("loss.png", history_train, history_val)
    print(f"wrote {path}")
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ember.errors import InputError, InputTypeError
from ember.files import atomic_write, write_text

#: the letters of the OCR subset, indexed by label (0 = "a", …, 9 = "u").
OCR_LETTERS = ("a", "e", "g", "i", "l", "n", "o", "r", "t", "u")


def _figure(width: float, height: float) -> Any:
    """A new matplotlib Figure attached to an Agg canvas (no pyplot, no backend needed)."""
    try:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
    except ImportError as error:  # pragma: no cover - depends on the environment
        raise ImportError("ember.plot needs matplotlib: pip install matplotlib") from error
    figure = Figure(figsize=(width, height), layout="constrained")
    FigureCanvasAgg(figure)
    return figure


def _integer_ticks(axes: Any, x: bool = True, y: bool = True) -> None:
    """Ticks only at whole numbers on the chosen axes (indices, epochs): never ``0.5`` of a row."""
    from matplotlib.ticker import MaxNLocator

    if x:
        axes.xaxis.set_major_locator(MaxNLocator(integer=True))
    if y:
        axes.yaxis.set_major_locator(MaxNLocator(integer=True))


def _suptitle(figure: Any, title: str) -> None:
    """The figure's title, wrapped to lines that fit its width (a long title is never cut at the edges)."""
    import textwrap

    characters = max(16, int(figure.get_figwidth() * 9.5))  # ~0.105 inch per character at 12 pt
    figure.suptitle(textwrap.fill(title, characters))


def _save(figure: Any, path: str | Path) -> Path:
    """Write ``figure`` to ``path`` (creating its folder) and return the path."""
    path = Path(path)
    formats = figure.canvas.get_supported_filetypes()
    if path.suffix[1:].lower() not in formats:
        raise InputError(f"ember.plot: the path {str(path)!r} needs a figure suffix, one of "
                         f"{', '.join('.' + name for name in sorted(formats))}")
    return atomic_write(path, lambda temporary: figure.savefig(temporary, dpi=100, format=path.suffix[1:].lower()),
                        make_parents=True)


def _as_series(values: Any, what: str) -> np.ndarray:
    """``values`` as a 1-D float array, with a clear error otherwise."""
    array = np.asarray(values, dtype=np.float64)
    if array.ndim != 1 or array.size == 0:
        raise InputError(f"ember.plot: expected {what} as a non-empty sequence of numbers, got shape {array.shape}")
    return array


# -- curves -------------------------------------------------------------------------------------


def line_plot(path: str | Path, series: Mapping[str, Sequence[float]], x: Sequence[float] | None = None, *,
              title: str = "", xlabel: str = "", ylabel: str = "", log_x: bool = False, log_y: bool = False,
              markers: bool = False) -> Path:
    """Several named curves on one set of axes (e.g. cross-entropy against hidden units, one per split).

    Args:
        path: where to write the figure.
        series: ``{label: y values}``; every series has the length of ``x``.
        x: the shared x values (default ``1, 2, …``); a series may instead be ``(x, y)`` pairs given
            as a 2-tuple of sequences.
        title: the title.
        xlabel: the text of the x axis.
        ylabel: the text of the y axis.
        log_x: a logarithmic x axis.
        log_y: a logarithmic y axis.
        markers: draw a marker at each point (useful for a handful of points).

    Returns:
        ``Path(path)``.

    """
    if not series:
        raise InputError("ember.plot.line_plot: expected at least one series")
    figure = _figure(6.4, 4.2)
    axes = figure.add_subplot()
    for label, values in series.items():
        if isinstance(values, tuple) and len(values) == 2:
            xs, ys = _as_series(values[0], f"x values of {label!r}"), _as_series(values[1], f"series {label!r}")
        else:
            ys = _as_series(values, f"series {label!r}")
            xs = np.arange(1, ys.size + 1) if x is None else _as_series(x, "x")
        if xs.size != ys.size:
            raise InputError(f"ember.plot.line_plot: series {label!r} has {ys.size} values for {xs.size} x values")
        axes.plot(xs, ys, marker="o" if markers else None, label=str(label))
    if log_x:
        axes.set_xscale("log")
    elif x is None:  # counts 1, 2, …: epochs or iterations, never 1.25
        _integer_ticks(axes, y=False)
    if log_y:
        axes.set_yscale("log")
    axes.set(title=title, xlabel=xlabel, ylabel=ylabel)
    axes.grid(True, alpha=0.3)
    axes.legend()
    return _save(figure, path)


def loss_curves(path: str | Path, train: Sequence[float], validation: Sequence[float] | None = None, *,
                title: str = "Loss", xlabel: str = "epoch", ylabel: str = "loss", log_y: bool = False,
                validation_label: str = "validation") -> Path:
    """The training loss per epoch (or iteration), with the validation loss beside it when given.

    Args:
        path: where to write the figure.
        train: the training loss, one value per epoch.
        validation: the held-out loss, one value per epoch (optional).
        title: the title.
        xlabel: the text of the x axis.
        ylabel: the text of the y axis.
        log_y: a logarithmic loss axis.
        validation_label: the legend's name of the held-out curve: ``"test"`` when it is measured on the
            test set (the OCR and MNIST workflows), ``"validation"`` on a validation set.

    Returns:
        ``Path(path)``.

    """
    series = {"train": train}
    if validation is not None:
        series[validation_label] = validation
    return line_plot(path, series, title=title, xlabel=xlabel, ylabel=ylabel, log_y=log_y)


# -- decision regions ---------------------------------------------------------------------------


def decision_regions(path: str | Path, predict: Callable[[np.ndarray], np.ndarray], X: np.ndarray, y: np.ndarray,
                     features: tuple[int, int] = (0, 1), *, resolution: int = 200,
                     feature_names: Sequence[str] | None = None, class_names: Sequence[str] | None = None,
                     title: str = "Decision regions", margin: float = 0.1) -> Path:
    """A heatmap of the predicted class over a grid of two features, with the data on top.

    The other features are held at their mean over ``X``, so the picture is a slice through the
    model's input space.

    Args:
        path: where to write the figure.
        predict: maps an ``(n, d)`` array to ``n`` labels, or to ``(n, k)`` scores (the argmax is taken),
            or to ``(n,)``/``(n, 1)`` probabilities of class 1 (thresholded at 0.5).
        X: the data, ``(n, d)`` with ``d ≥ 2``.
        y: the labels, ``(n,)`` (0-based).
        features: the two feature indices on the x and y axes.
        resolution: grid points per axis.
        feature_names: the name of each feature, for the axes (default ``feature i``).
        class_names: the name of each class, for the legend (default ``class c``).
        title: the title.
        margin: the grid extends beyond the data by this fraction of its range.

    Returns:
        ``Path(path)``.

    """
    X = np.asarray(X, dtype=np.float64)
    y = np.asarray(y).reshape(-1)
    if X.ndim != 2 or X.shape[1] < 2:
        raise InputError(f"ember.plot.decision_regions: expected X of shape (n, d) with d >= 2, got {X.shape}")
    if y.shape[0] != X.shape[0]:
        raise InputError(f"ember.plot.decision_regions: expected {X.shape[0]} labels, got {y.shape[0]}")
    fx, fy = features
    if not (0 <= fx < X.shape[1] and 0 <= fy < X.shape[1]) or fx == fy:
        raise InputError(f"ember.plot.decision_regions: features {features} must be two different indices "
                         f"in 0..{X.shape[1] - 1}")
    lows, highs = X.min(axis=0), X.max(axis=0)
    spans = np.where(highs > lows, highs - lows, 1.0)
    gx = np.linspace(lows[fx] - margin * spans[fx], highs[fx] + margin * spans[fx], resolution)
    gy = np.linspace(lows[fy] - margin * spans[fy], highs[fy] + margin * spans[fy], resolution)
    mesh_x, mesh_y = np.meshgrid(gx, gy)
    grid = np.tile(X.mean(axis=0), (mesh_x.size, 1))
    grid[:, fx] = mesh_x.ravel()
    grid[:, fy] = mesh_y.ravel()
    regions = _labels_from(np.asarray(predict(grid)), mesh_x.size).reshape(mesh_x.shape)

    n_classes = int(max(regions.max(), y.max())) + 1
    names = list(class_names) if class_names is not None else [f"class {c}" for c in range(n_classes)]
    from matplotlib import colormaps
    from matplotlib.colors import BoundaryNorm, ListedColormap

    colours = colormaps["tab10"](np.arange(n_classes) % 10)
    cmap = ListedColormap(colours)
    norm = BoundaryNorm(np.arange(-0.5, n_classes + 0.5), n_classes)
    figure = _figure(6.4, 5.0)
    axes = figure.add_subplot()
    axes.pcolormesh(mesh_x, mesh_y, regions, cmap=cmap, norm=norm, alpha=0.35, shading="auto")
    for c in range(n_classes):
        mask = y == c
        if mask.any():
            axes.scatter(X[mask, fx], X[mask, fy], color=colours[c], edgecolor="k", s=24,
                         label=names[c] if c < len(names) else f"class {c}")
    axis_names = list(feature_names) if feature_names is not None else [f"feature {i}" for i in range(X.shape[1])]
    axes.set(title=title, xlabel=axis_names[fx], ylabel=axis_names[fy])
    axes.legend(loc="best", fontsize="small")
    return _save(figure, path)


def _labels_from(prediction: np.ndarray, n: int) -> np.ndarray:
    """Class labels from a predictor's output: labels, per-class scores, or probabilities of class 1."""
    if prediction.ndim == 2 and prediction.shape[1] > 1:
        return prediction.argmax(axis=1)
    prediction = prediction.reshape(-1)
    if prediction.size != n:
        raise InputError(f"ember.plot.decision_regions: predict returned {prediction.size} values for {n} points")
    if np.issubdtype(prediction.dtype, np.integer):
        return prediction
    if prediction.min() >= 0.0 and prediction.max() <= 1.0 and not np.all(prediction == np.round(prediction)):
        return (prediction >= 0.5).astype(int)
    return np.round(prediction).astype(int)


# -- weights ------------------------------------------------------------------------------------


def _named_matrices(weights: Any) -> list[tuple[str, np.ndarray]]:
    """``weights`` (one array, a list of arrays, or ``{name: array}``) as (name, 2-D array) pairs."""
    if isinstance(weights, Mapping):
        items = list(weights.items())
    elif isinstance(weights, np.ndarray):
        items = [("weight", weights)]
    else:
        items = [(f"layer {i + 1}", w) for i, w in enumerate(weights)]
    if not items:
        raise InputError("ember.plot: expected at least one weight matrix")
    result = []
    for name, matrix in items:
        matrix = np.asarray(matrix, dtype=np.float64)
        if matrix.ndim == 1:
            matrix = matrix[:, None]
        if matrix.ndim != 2:
            raise InputError(f"ember.plot: expected 1-D or 2-D weights for {name!r}, got shape {matrix.shape}")
        result.append((str(name), matrix))
    return result


def weight_images(path: str | Path, weights: Any, *, title: str = "Weights", annotate: bool | None = None) -> Path:
    """Each weight matrix as an image (rows = output units, columns = inputs), on a diverging colour map
    centred at zero.

    Args:
        path: where to write the figure.
        weights: one array, a list of arrays, or ``{name: array}`` (1-D arrays such as biases are drawn as
            a column).
        title: the figure title.
        annotate: write each value in its cell (default: when every matrix has at most 64 entries).

    Returns:
        ``Path(path)``.

    """
    matrices = _named_matrices(weights)
    if annotate is None:
        annotate = all(m.size <= 64 for _, m in matrices)
    # each panel sized by its matrix: about 0.05 inch (5 pixels) per column and 0.16 inch per row at least
    widths = [min(max(3.2, 1.6 + 0.05 * m.shape[1] + (0.45 * m.shape[1] if annotate else 0)), 12.0)
              for _, m in matrices]
    height = min(max(3.8, 1.8 + max(0.16 * m.shape[0] + (0.3 * m.shape[0] if annotate else 0) for _, m in matrices)),
                 9.0)
    figure = _figure(max(sum(widths), 4.0), height)
    _suptitle(figure, title)
    grid = figure.add_gridspec(1, len(matrices), width_ratios=widths)
    for index, (name, matrix) in enumerate(matrices):
        axes = figure.add_subplot(grid[0, index])
        limit = float(np.abs(matrix).max()) or 1.0
        image = axes.imshow(matrix, cmap="RdBu_r", vmin=-limit, vmax=limit, aspect="auto", interpolation="nearest")
        axes.set(title=f"{name} {matrix.shape[0]}x{matrix.shape[1]}", xlabel="input", ylabel="output unit")
        _integer_ticks(axes)
        if matrix.shape[0] <= 20:
            axes.set_yticks(range(matrix.shape[0]))
        if matrix.shape[1] <= 20:
            axes.set_xticks(range(matrix.shape[1]))
        if annotate:
            for (row, col), value in np.ndenumerate(matrix):
                axes.text(col, row, f"{value:.2f}", ha="center", va="center", fontsize=9,
                          color="white" if abs(value) > 0.6 * limit else "black")
        figure.colorbar(image, ax=axes, shrink=0.8)
    return _save(figure, path)


def unit_images(path: str | Path, weights: np.ndarray, image_shape: tuple[int, int], *,
                title: str = "Hidden units", columns: int = 10, max_units: int = 50) -> Path:
    """What each unit of a layer looks for: its incoming weights (one row of ``weights``) drawn as an image
    of the input's shape (e.g. a 16x8 letter), on one diverging colour scale centred at zero.

    Args:
        path: where to write the figure.
        weights: ``(units, h·w)``, a Linear layer's ``weight``.
        image_shape: ``(h, w)`` of one input image.
        title: the figure title.
        columns: images per row.
        max_units: draw at most this many units (the first ones; the title says so).

    Returns:
        ``Path(path)``.

    """
    weights = np.asarray(weights, dtype=np.float64)
    height, width = image_shape
    if weights.ndim != 2 or weights.shape[1] != height * width:
        raise InputError(f"ember.plot.unit_images: expected weights of shape (units, {height * width}) for "
                         f"{height}x{width} images, got {weights.shape}")
    shown = weights[:max_units]
    if len(shown) < len(weights):
        title = f"{title} (the first {len(shown)} of {len(weights)})"
    columns = max(1, min(columns, len(shown)))
    rows = -(-len(shown) // columns)
    scale = 1.5 / max(height, width)  # inches per input pixel: the longer side of each image is 1.5 inch
    figure = _figure(max(columns * (width * scale + 0.2) + 1.3, 5.0), rows * (height * scale + 0.35) + 0.9)
    _suptitle(figure, title)
    grid = figure.add_gridspec(rows, columns)
    limit = float(np.abs(shown).max()) or 1.0
    image = None
    panels = []
    for unit, row in enumerate(shown):
        axes = figure.add_subplot(grid[unit // columns, unit % columns])
        image = axes.imshow(row.reshape(height, width), cmap="RdBu_r", vmin=-limit, vmax=limit,
                            interpolation="nearest")
        axes.set_xticks([])
        axes.set_yticks([])
        axes.set_title(f"unit {unit}", fontsize=8)
        panels.append(axes)
    figure.colorbar(image, ax=panels, shrink=0.6, label="weight")
    return _save(figure, path)


def hinton(path: str | Path, weights: Any, *, title: str = "Hinton diagram") -> Path:
    """Hinton diagrams of weight matrices: a white square for a positive weight, a black one for a
    negative weight, its area proportional to the magnitude, on a grey background.

    Args:
        path: where to write the figure.
        weights: one array, a list of arrays, or ``{name: array}``.
        title: the figure title.

    Returns:
        ``Path(path)``.

    """
    from matplotlib.patches import Rectangle

    matrices = _named_matrices(weights)
    figure = _figure(max(3.2 * len(matrices), 4.0), 3.8)
    _suptitle(figure, title)
    for index, (name, matrix) in enumerate(matrices):
        axes = figure.add_subplot(1, len(matrices), index + 1)
        axes.set_facecolor("grey")
        axes.set_aspect("equal", "box")
        largest = float(np.abs(matrix).max()) or 1.0
        for (row, col), value in np.ndenumerate(matrix):
            side = 0.9 * np.sqrt(abs(value) / largest)
            colour = "white" if value > 0 else "black"
            axes.add_patch(Rectangle((col - side / 2, row - side / 2), side, side, facecolor=colour,
                                     edgecolor=colour))
        axes.set_xlim(-0.5, matrix.shape[1] - 0.5)
        axes.set_ylim(matrix.shape[0] - 0.5, -0.5)
        axes.set(title=f"{name} {matrix.shape[0]}x{matrix.shape[1]}", xlabel="input", ylabel="output unit")
        axes.set_xticks(range(matrix.shape[1]))
        axes.set_yticks(range(matrix.shape[0]))
    return _save(figure, path)


# -- images -------------------------------------------------------------------------------------


def letter_grid(path: str | Path, X: np.ndarray, y: np.ndarray, *, per_class: int = 10,
                image_shape: tuple[int, int] = (16, 8), labels: Sequence[str] = OCR_LETTERS,
                predictions: np.ndarray | None = None, rng: np.random.Generator | int | None = 0,
                title: str = "Random images of each letter") -> Path:
    """A grid of images, one row per class and ``per_class`` random examples of it (the OCR
    homework's figure of 10 random images of each of 10 letters).

    Args:
        path: where to write the figure.
        X: images as flat rows, ``(n, h·w)`` in row-major order, values in [0, 1].
        y: labels ``(n,)``, 0-based.
        per_class: examples drawn per class (fewer when a class has fewer).
        image_shape: ``(h, w)`` of one image (16x8 for the OCR letters).
        labels: the name of each class (default the OCR letters a e g i l n o r t u).
        predictions: optional predicted labels ``(n,)``; a wrong prediction is written above its image.
        rng: a Generator or seed choosing the examples (default seed 0: the same figure each run).
        title: the figure title.

    Returns:
        ``Path(path)``.

    """
    X = np.asarray(X, dtype=np.float64)
    y = np.asarray(y).reshape(-1)
    height, width = image_shape
    if X.ndim != 2 or X.shape[1] != height * width:
        raise InputError(f"ember.plot.letter_grid: expected images of shape (n, {height * width}) for "
                         f"{height}x{width} images, got {X.shape}")
    if y.shape[0] != X.shape[0]:
        raise InputError(f"ember.plot.letter_grid: expected {X.shape[0]} labels, got {y.shape[0]}")
    generator = rng if isinstance(rng, np.random.Generator) else np.random.default_rng(rng)
    classes = np.unique(y)
    figure = _figure(0.55 * per_class + 0.8, 0.95 * len(classes) + 0.6)
    _suptitle(figure, title)
    grid = figure.add_gridspec(len(classes), per_class)
    for row, label in enumerate(classes):
        members = np.flatnonzero(y == label)
        chosen = generator.choice(members, size=min(per_class, members.size), replace=False)
        for col in range(per_class):
            axes = figure.add_subplot(grid[row, col])
            axes.set_xticks([])
            axes.set_yticks([])
            if col < chosen.size:
                index = chosen[col]
                axes.imshow(X[index].reshape(height, width), cmap="gray_r", vmin=0.0, vmax=1.0,
                            interpolation="nearest")
                if predictions is not None and predictions[index] != label:
                    guess = int(predictions[index])
                    axes.set_title(labels[guess] if guess < len(labels) else str(guess), fontsize=7, color="red")
            else:
                axes.axis("off")
            if col == 0:
                name = labels[int(label)] if int(label) < len(labels) else str(label)
                axes.set_ylabel(name, rotation=0, labelpad=10, fontsize=11, va="center")
    return _save(figure, path)


def jacobian_heatmap(path: str | Path, analytic: np.ndarray, numeric: np.ndarray, *,
                     title: str = "Jacobian") -> Path:
    """Three heatmaps side by side: the Jacobian by backprop, by finite differences, and their difference.

    Args:
        path: where to write the figure.
        analytic: the backprop Jacobian (rows = output elements, columns = input elements), as returned
            by :func:`ember.check.jacobian`.
        numeric: the finite-difference Jacobian, of the same shape.
        title: the figure title; the largest absolute difference is appended.

    Returns:
        ``Path(path)``.

    """
    analytic = np.atleast_2d(np.asarray(analytic, dtype=np.float64))
    numeric = np.atleast_2d(np.asarray(numeric, dtype=np.float64))
    if analytic.shape != numeric.shape:
        raise InputError(f"ember.plot.jacobian_heatmap: the Jacobians differ in shape: backprop {analytic.shape}, "
                         f"finite differences {numeric.shape}")
    difference = analytic - numeric
    largest = float(np.abs(difference).max(initial=0.0))
    figure = _figure(11.0, 3.9)
    _suptitle(figure, f"{title} (max |difference| = {largest:.3g})")
    limit = float(max(np.abs(analytic).max(initial=0.0), np.abs(numeric).max(initial=0.0))) or 1.0
    panels = (("backprop", analytic, limit), ("finite differences", numeric, limit),
              ("difference", difference, largest or 1.0))
    for index, (name, matrix, scale) in enumerate(panels):
        axes = figure.add_subplot(1, 3, index + 1)
        image = axes.imshow(matrix, cmap="RdBu_r", vmin=-scale, vmax=scale, aspect="auto", interpolation="nearest")
        axes.set(title=name, xlabel="input element", ylabel="output element")
        _integer_ticks(axes)  # element indices: 0, 1, 2, never 0.5
        figure.colorbar(image, ax=axes, shrink=0.8)
    return _save(figure, path)


def module_jacobian(path: str | Path, module: Any, input: Any, *, eps: float = 1e-6) -> Path:
    """:func:`jacobian_heatmap` of ``module``'s Jacobian with respect to ``input`` (:func:`ember.check.jacobian`)."""
    from ember.check import jacobian

    return jacobian_heatmap(path, *jacobian(module, input, eps=eps), title=f"{module.describe()}: d output / d input")


# -- data and tables ----------------------------------------------------------------------------


def scatter_fit(path: str | Path, x: Sequence[float], y: Sequence[float],
                fits: Mapping[str, Sequence[float]] | None = None, *, fit_x: Sequence[float] | None = None,
                title: str = "", xlabel: str = "x", ylabel: str = "y") -> Path:
    """Data points and fitted curves over them (a regression line, a fitted polynomial).

    Args:
        path: where to write the figure.
        x: the x coordinates of the data points.
        y: their y coordinates.
        fits: ``{label: values}`` of curves evaluated at ``fit_x`` (default at ``x``, sorted).
        fit_x: where the curves are evaluated.
        title: the title.
        xlabel: the text of the x axis.
        ylabel: the text of the y axis.

    Returns:
        ``Path(path)``.

    """
    x = _as_series(x, "x")
    y = _as_series(y, "y")
    if x.size != y.size:
        raise InputError(f"ember.plot.scatter_fit: {x.size} x values for {y.size} y values")
    figure = _figure(6.4, 4.2)
    axes = figure.add_subplot()
    axes.scatter(x, y, s=6, alpha=0.5, color="0.45", label="data")  # grey data; each fit in its own colour
    curve_x = x if fit_x is None else _as_series(fit_x, "fit_x")
    order = np.argsort(curve_x)
    for index, (label, values) in enumerate((fits or {}).items()):
        values = _as_series(values, f"fit {label!r}")
        if values.size != curve_x.size:
            raise InputError(f"ember.plot.scatter_fit: fit {label!r} has {values.size} values for "
                             f"{curve_x.size} points")
        axes.plot(curve_x[order], values[order], linewidth=2, color=f"C{(index + 1) % 10}", label=str(label))
    axes.set(title=title, xlabel=xlabel, ylabel=ylabel)
    axes.grid(True, alpha=0.3)
    axes.legend()
    return _save(figure, path)


def table_heatmap(path: str | Path, values: np.ndarray, row_labels: Sequence[str], column_labels: Sequence[str], *,
                  title: str = "", colorbar_label: str = "", fmt: str = "{:.3f}", cmap: str = "viridis") -> Path:
    """A table of numbers as an annotated heatmap (e.g. final loss per configuration of a grid).

    Args:
        path: where to write the figure.
        values: ``(rows, columns)``; NaN cells are left blank.
        row_labels: the text of each row.
        column_labels: the text of each column.
        title: the title.
        colorbar_label: the text of the colour bar.
        fmt: format of each annotation.
        cmap: the matplotlib colour map.

    Returns:
        ``Path(path)``.

    """
    values = np.asarray(values, dtype=np.float64)
    if values.ndim != 2 or values.shape != (len(row_labels), len(column_labels)):
        raise InputError(f"ember.plot.table_heatmap: expected values of shape ({len(row_labels)}, "
                         f"{len(column_labels)}) for the labels given, got {values.shape}")
    figure = _figure(max(1.1 * len(column_labels) + 3.0, 5.0), max(0.38 * len(row_labels) + 1.5, 3.0))
    axes = figure.add_subplot()
    image = axes.imshow(np.ma.masked_invalid(values), cmap=cmap, aspect="auto", interpolation="nearest")
    axes.set_xticks(range(len(column_labels)), labels=list(column_labels), rotation=30, ha="right")
    axes.set_yticks(range(len(row_labels)), labels=list(row_labels))
    finite = values[np.isfinite(values)]
    middle = float(finite.mean()) if finite.size else 0.0
    for (row, col), value in np.ndenumerate(values):
        if np.isfinite(value):
            axes.text(col, row, fmt.format(value), ha="center", va="center", fontsize=8,
                      color="white" if value < middle else "black")
    axes.set_title(title)
    figure.colorbar(image, ax=axes, label=colorbar_label)
    return _save(figure, path)


# -- graphs -------------------------------------------------------------------------------------


def _graph_layout(model: Any) -> tuple[dict[int, tuple[float, float]], int, int]:
    """Node index → (x, y): inputs on top, each node one row below its deepest parent."""
    depth: dict[int, int] = {}
    for node in model.nodes:
        depth[node.index] = 1 + max((depth[p.index] for p in node.inputs), default=-1)
    rows: dict[int, list[int]] = {}
    for index, d in depth.items():
        rows.setdefault(d, []).append(index)
    width = max(len(row) for row in rows.values())
    places = {index: (i - (len(row) - 1) / 2, -float(d)) for d, row in rows.items() for i, index in enumerate(row)}
    return places, width, len(rows)


def _highlighted(model: Any, highlight: Any) -> set[int]:
    """The indices of the nodes named by ``highlight``: nodes, modules, or a check report's failures."""
    items = getattr(highlight, "failures", highlight) or ()
    wanted = {id(item) for item in items}
    return {node.index for node in model.nodes if id(node) in wanted or id(node.module) in wanted}


def graph(model: Any, path: str | Path, *, highlight: Any = None, title: str = "") -> Path:
    """A picture of a :class:`~ember.nn.gModule`: one box per node, arrows from parents to children.

    Input nodes are on top, each node a row below its deepest parent; boxes show the node's
    number (as ``print`` and ``get()`` count), its module and its name. Nodes in ``highlight``
    are drawn red: nodes, modules, or a :func:`ember.check.check_model` report, whose failing
    modules are coloured. A path ending in ``.dot`` gets Graphviz text instead (no matplotlib needed).

    Args:
        model: the gModule.
        path: where to write the figure (``.png``, ``.pdf``, ``.svg``) or the Graphviz file (``.dot``).
        highlight: nodes, modules or a check report to colour red.
        title: the title.

    Returns:
        ``Path(path)``.

    """
    if not hasattr(model, "nodes") or not hasattr(model, "outputs"):
        raise InputTypeError(f"ember.plot.graph: expected a gModule, got {type(model).__name__}")
    red = _highlighted(model, highlight)
    outputs = {node.index for node in model.outputs}

    def label(node: Any) -> str:
        name = f" '{node.name}'" if node.name else ""
        return f"({node.index}){name} {node.module.describe()}"

    if Path(path).suffix == ".dot":
        lines = ["digraph gModule {", "  node [shape=box];"]
        for node in model.nodes:
            colour = ", style=filled, fillcolor=red" if node.index in red else ""
            lines.append(f'  n{node.index} [label="{label(node)}"{colour}];')
            lines += [f"  n{p.index} -> n{node.index};" for p in node.inputs]
        return write_text(path, "\n".join(lines + ["}"]) + "\n")
    places, width, height = _graph_layout(model)
    figure = _figure(max(4.0, 2.6 * width), max(3.0, 1.0 * height + 1))
    axes = figure.add_subplot()
    for node in model.nodes:
        x, y = places[node.index]
        for parent in node.inputs:
            px, py = places[parent.index]
            axes.annotate("", xy=(x, y + 0.18), xytext=(px, py - 0.18),
                          arrowprops={"arrowstyle": "->", "color": "0.3"})
        face = "#f4a6a6" if node.index in red else ("#c6dbef" if not node.inputs or node.index in outputs
                                                      else "#f0f0f0")
        axes.text(x, y, label(node), ha="center", va="center", fontsize=8,
                  bbox={"boxstyle": "round", "facecolor": face, "edgecolor": "red" if node.index in red else "0.3"})
    axes.set_xlim(-width / 2 - 0.2, width / 2 + 0.2)
    axes.set_ylim(-height + 0.5, 0.5)
    axes.set_axis_off()
    axes.set_title(title or ("gModule (red: failing)" if red else ""))
    return _save(figure, path)
