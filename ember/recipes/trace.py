"""Show your work: one forward and backward pass of the OCR homework's network, every intermediate.

The homework asks students to work one tiny example on paper and check that their code reproduces each
number. :func:`ocr_trace` runs the network (``Linear → Sigmoid → Linear``, softmax and cross-entropy,
built from ember modules) on one example and records, in the homework's names and order::

    a = α x + α₀        z = σ(a)        b = β z + β₀        ŷ = softmax(b)        J = −log ŷ_y
    g_ŷ = −y / ŷ        g_b = ŷ − y     g_β = g_b zᵀ   g_β₀ = g_b     g_z = βᵀ g_b
    g_a = g_z ⊙ z (1 − z)               g_α = g_a xᵀ   g_α₀ = g_a

(``y`` one-hot; indices 0-based, as everywhere in ember). :func:`to_markdown`, :func:`to_latex` and
:func:`to_csv` write the :class:`Trace`; :func:`read_csv` reads values in the CSV layout
(``quantity,index,value``, a matrix index written ``row;column``) and :func:`compare` names the first
quantity, in the order above, where a student's hand-computed values are wrong, and by how much.

By default the example is the first row of the homework's ``tiny`` data (5 pixels) with 4 hidden units
and weights of one decimal drawn from a fixed seed, easy to multiply by hand; ``weights`` (a dict or a
CSV file in the same layout with ``alpha``, ``alpha0``, ``beta``, ``beta0``) replaces them.
"""

from __future__ import annotations

import csv
import io
import math
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ember import nn
from ember.errors import InputError
from ember.recipes.ocr import NUM_CLASSES, build_network

#: the weights and biases, their shapes given ``(M, D, K)``.
WEIGHTS = {"alpha": lambda m, d, k: (d, m), "alpha0": lambda m, d, k: (d,),
           "beta": lambda m, d, k: (k, d), "beta0": lambda m, d, k: (k,)}
#: what each traced quantity is, in the order of the trace.
MEANINGS = {
    "x": "the input", "y": "the label, one-hot", "alpha": "first-layer weights α", "alpha0": "first-layer bias α₀",
    "beta": "second-layer weights β", "beta0": "second-layer bias β₀",
    "a": "a = α x + α₀", "z": "z = σ(a)", "b": "b = β z + β₀", "y_hat": "ŷ = softmax(b)", "J": "J = −log ŷ_y",
    "g_y_hat": "∂J/∂ŷ = −y / ŷ", "g_b": "∂J/∂b = ŷ − y", "g_beta": "∂J/∂β = g_b zᵀ", "g_beta0": "∂J/∂β₀ = g_b",
    "g_z": "∂J/∂z = βᵀ g_b", "g_a": "∂J/∂a = g_z ⊙ z (1 − z)", "g_alpha": "∂J/∂α = g_a xᵀ",
    "g_alpha0": "∂J/∂α₀ = g_a",
}
LATEX = {"x": "x", "y": "y", "alpha": r"\alpha", "alpha0": r"\alpha_0", "beta": r"\beta", "beta0": r"\beta_0",
         "a": "a", "z": "z", "b": "b", "y_hat": r"\hat{y}", "J": "J", "g_y_hat": r"g_{\hat{y}}", "g_b": "g_b",
         "g_beta": r"g_{\beta}", "g_beta0": r"g_{\beta_0}", "g_z": "g_z", "g_a": "g_a", "g_alpha": r"g_{\alpha}",
         "g_alpha0": r"g_{\alpha_0}"}


@dataclass
class Trace:
    """The traced quantities, in order: ``values[name]`` is a float array (``J`` a 0-d array)."""

    values: dict[str, np.ndarray] = field(default_factory=dict)

    def entries(self) -> Iterator[tuple[str, str, float]]:
        """``(name, index, value)`` for every element, in the trace's order (index ``'2'`` or ``'1;3'``)."""
        for name, array in self.values.items():
            for index in np.ndindex(array.shape):
                yield name, ";".join(str(i) for i in index), float(array[index])


def default_weights(num_features: int, num_hidden: int, num_classes: int = NUM_CLASSES,
                    seed: int = 0) -> dict[str, np.ndarray]:
    """Weights of one decimal in [−1, 1] and biases in [−0.5, 0.5], drawn from ``seed``: easy by hand."""
    rng = np.random.default_rng(seed)
    shapes = {name: shape(num_features, num_hidden, num_classes) for name, shape in WEIGHTS.items()}
    return {name: np.round(rng.uniform(-1, 1, shape) * (0.5 if name.endswith("0") else 1.0), 1)
            for name, shape in shapes.items()}


def read_csv(source: str | os.PathLike | io.TextIOBase) -> dict[tuple[str, str], float]:
    """Values in the trace's CSV layout: ``{(quantity, index): value}``; a header row is optional."""
    text = Path(source).read_text() if isinstance(source, (str, os.PathLike)) else source.read()
    values: dict[tuple[str, str], float] = {}
    for number, row in enumerate(csv.reader(io.StringIO(text)), start=1):
        if not row or row[0].strip().startswith("#") or (number == 1 and row[0].strip() == "quantity"):
            continue
        if len(row) != 3:
            raise InputError(f"trace: line {number} has {len(row)} fields, expected quantity,index,value")
        name, index, value = (cell.strip() for cell in row)
        try:
            values[(name, index)] = float(value)
        except ValueError:
            raise InputError(f"trace: line {number}: {value!r} is not a number") from None
    return values


def _weights_from(weights: Any, shapes: dict[str, tuple[int, ...]]) -> dict[str, np.ndarray]:
    if isinstance(weights, (str, os.PathLike)):
        table = read_csv(weights)
        weights = {}
        for name, shape in shapes.items():
            array = np.full(shape, np.nan)
            for index in np.ndindex(shape):
                key = (name, ";".join(str(i) for i in index))
                if key not in table:
                    raise InputError(f"trace: the weights file has no {name}[{key[1]}] (expected {name} of shape "
                                     f"{shape}: rows '{name},{key[1]},VALUE')")
                array[index] = table[key]
            weights[name] = array
    result = {}
    for name, shape in shapes.items():
        array = np.asarray(weights[name], dtype=np.float64)
        if array.shape != shape:
            raise InputError(f"trace: {name} has shape {array.shape}, expected {shape}")
        result[name] = array
    return result


def ocr_trace(x: Any = None, label: int | None = None, weights: Any = None, num_hidden: int = 4,
              data_dir: str | os.PathLike | None = None) -> Trace:
    """One forward and backward pass of the homework's network on one example, every intermediate.

    Args:
        x: the example's ``M`` pixels (default: the first training row of the ``tiny`` data).
        label: its label in 0..9 (default: that row's).
        weights: ``{'alpha', 'alpha0', 'beta', 'beta0'}`` arrays, or a CSV file of them in the trace's
            layout (default: :func:`default_weights`).
        num_hidden: ``D``, when the weights are the default ones.
        data_dir: where the tiny data is read (default: the shipped copy or ``$EMBER_DATA_DIR``).

    Returns:
        A :class:`Trace` of ``x, y, alpha, alpha0, beta, beta0, a, z, b, y_hat, J`` and the gradients.

    """
    if x is None:
        from ember import data

        (X, y), _ = data.ocr_letters("tiny", data_dir=data_dir)
        x, label = X[0], int(y[0]) if label is None else label
    x = np.asarray(x, dtype=np.float64).reshape(-1)
    if label is None or not 0 <= int(label) < NUM_CLASSES:
        raise InputError(f"trace: give the example's label, an integer in 0..{NUM_CLASSES - 1} (got {label!r})")
    if weights is None:
        weights = default_weights(x.size, num_hidden)
    hidden = np.shape(weights["alpha"])[0] if isinstance(weights, dict) else num_hidden
    if isinstance(weights, (str, os.PathLike)):
        hidden = 1 + max(int(i.split(";")[0]) for (name, i) in read_csv(weights) if name == "alpha")
    shapes = {name: shape(x.size, hidden, NUM_CLASSES) for name, shape in WEIGHTS.items()}
    weights = _weights_from(weights, shapes)
    model = build_network(x.size, hidden, init_rand=False)
    first, second = model.get(0), model.get(2)
    first.weight[...], first.bias[...] = weights["alpha"], weights["alpha0"]
    second.weight[...], second.bias[...] = weights["beta"], weights["beta0"]
    criterion = nn.CrossEntropyCriterion()
    J = criterion.forward(model.forward(x), int(label))
    model.zeroGradParameters()
    model.backward(x, criterion.backward(model.output, int(label)))
    one_hot = np.zeros(NUM_CLASSES)
    one_hot[int(label)] = 1.0
    b = model.get(2).output
    y_hat = np.exp(b - b.max()) / np.exp(b - b.max()).sum()
    values = {"x": x, "y": one_hot, **weights, "a": model.get(0).output, "z": model.get(1).output, "b": b,
              "y_hat": y_hat, "J": np.array(J), "g_y_hat": -one_hot / y_hat, "g_b": criterion.gradInput,
              "g_beta": second.gradWeight, "g_beta0": second.gradBias, "g_z": second.gradInput,
              "g_a": model.get(1).gradInput, "g_alpha": first.gradWeight, "g_alpha0": first.gradBias}
    return Trace({name: np.array(value, dtype=np.float64) + 0.0 for name, value in values.items()})  # no −0


# -- formats ------------------------------------------------------------------------------------------


def _text(array: np.ndarray, digits: int) -> str:
    if array.ndim == 0:
        return f"{float(array):.{digits}g}"
    if array.ndim == 1:
        return "[" + ", ".join(f"{v:.{digits}g}" for v in array) + "]"
    return "[" + ", ".join(_text(row, digits) for row in array) + "]"


def to_markdown(trace: Trace, digits: int = 6) -> str:
    """A Markdown table: quantity, what it is, its value (rows of a matrix in brackets)."""
    lines = ["| quantity | what | value |", "|---|---|---|"]
    lines += [f"| `{name}` | {MEANINGS[name]} | {_text(array, digits)} |" for name, array in trace.values.items()]
    return "\n".join(lines) + "\n"


def to_latex(trace: Trace, digits: int = 6) -> str:
    """An ``align*`` block: each quantity as a scalar or a ``bmatrix`` (a vector as a column)."""
    lines = [r"\begin{align*}"]
    for name, array in trace.values.items():
        if array.ndim == 0:
            body = f"{float(array):.{digits}g}"
        else:
            rows = array.reshape(-1, 1) if array.ndim == 1 else array
            body = (r"\begin{bmatrix} " + r" \\ ".join(" & ".join(f"{v:.{digits}g}" for v in row) for row in rows)
                    + r" \end{bmatrix}")
        lines.append(f"{LATEX[name]} &= {body} \\\\")
    lines.append(r"\end{align*}")
    return "\n".join(lines) + "\n"


def to_csv(trace: Trace) -> str:
    """One row per element: ``quantity,index,value`` (full precision), the layout :func:`compare` reads."""
    lines = ["quantity,index,value"] + [f"{name},{index},{value!r}" for name, index, value in trace.entries()]
    return "\n".join(lines) + "\n"


FORMATS = {"markdown": to_markdown, "latex": to_latex, "csv": to_csv}


# -- checking a student's values ---------------------------------------------------------------------


@dataclass
class Comparison:
    """What :func:`compare` found: ``ok``, the number of values ``checked``, and the first wrong one."""

    checked: int
    name: str = ""
    index: str = ""
    expected: float = math.nan
    got: float = math.nan

    @property
    def ok(self) -> bool:
        return not self.name

    def __str__(self) -> str:
        if self.ok:
            return f"all {self.checked} values match"
        where = f"{self.name}[{self.index}]" if self.index else self.name
        return (f"first wrong value: {where} ({MEANINGS.get(self.name, '')}) is {self.got:.6g}, expected "
                f"{self.expected:.6g} (off by {self.got - self.expected:+.3g}); the {self.checked - 1} values "
                "before it match")


def compare(trace: Trace, mine: Any, tol: float = 1e-4) -> Comparison:
    """Compare a student's values (a CSV path or :func:`read_csv`'s dict) with ``trace``, in trace order.

    A value matches when it is within ``tol`` of the trace's, absolutely or relatively (hand computation
    rounds). Values the student left out are skipped; names the trace does not have are refused.
    """
    values = read_csv(mine) if isinstance(mine, (str, os.PathLike)) else dict(mine)
    known = {(name, index) for name, index, _ in trace.entries()}
    unknown = sorted(set(values) - known)
    if unknown:
        name, index = unknown[0]
        raise InputError(f"trace: the trace has no {name}[{index}] (quantities: {', '.join(trace.values)}; "
                         f"indices 0-based, a matrix entry as row;column)")
    if not values:
        raise InputError("trace: no values to compare")
    checked = 0
    for name, index, expected in trace.entries():
        if (name, index) not in values:
            continue
        checked += 1
        got = values[(name, index)]
        if not abs(got - expected) <= tol * max(1.0, abs(expected)):
            return Comparison(checked, name, index, expected, got)
    return Comparison(checked)
