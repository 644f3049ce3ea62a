"""ember.recipes.trace: every intermediate of the homework's network, in three formats, and the comparison."""

from __future__ import annotations

import re

import numpy as np
import pytest

from ember.errors import InputError
from ember.recipes import trace


def hand_computed(x, label, w):
    """The homework's formulas written out directly in NumPy."""
    y = np.eye(10)[label]
    a = w["alpha"] @ x + w["alpha0"]
    z = 1 / (1 + np.exp(-a))
    b = w["beta"] @ z + w["beta0"]
    y_hat = np.exp(b) / np.exp(b).sum()
    g_b = y_hat - y
    g_z = w["beta"].T @ g_b
    g_a = g_z * z * (1 - z)
    return {"a": a, "z": z, "b": b, "y_hat": y_hat, "J": -np.log(y_hat[label]), "g_y_hat": -y / y_hat,
            "g_b": g_b, "g_beta": np.outer(g_b, z), "g_beta0": g_b, "g_z": g_z, "g_a": g_a,
            "g_alpha": np.outer(g_a, x), "g_alpha0": g_a}


def test_every_intermediate_matches_the_homework_formulas():
    t = trace.ocr_trace()
    assert list(t.values) == list(trace.MEANINGS)
    x, label = t.values["x"], int(np.argmax(t.values["y"]))
    weights = {name: t.values[name] for name in trace.WEIGHTS}
    for name, expected in hand_computed(x, label, weights).items():
        np.testing.assert_allclose(t.values[name], expected, rtol=1e-12, atol=1e-12, err_msg=name)


def test_formats():
    t = trace.ocr_trace(x=np.array([1.0, 0.0]), label=3, num_hidden=2)
    markdown = trace.to_markdown(t)
    assert markdown.startswith("| quantity | what | value |") and "| `J` | J = −log ŷ_y |" in markdown
    latex = trace.to_latex(t)
    assert latex.startswith(r"\begin{align*}") and r"\hat{y} &= \begin{bmatrix}" in latex
    rows = trace.to_csv(t).splitlines()
    assert rows[0] == "quantity,index,value" and rows[1] == "x,0,1.0"
    assert any(row.startswith("g_alpha,1;0,") for row in rows)
    assert not re.search(r"-0[,\]]", trace.to_markdown(trace.ocr_trace()))  # no negative zeros


def test_csv_round_trip_and_the_first_wrong_value(tmp_path):
    t = trace.ocr_trace()
    path = tmp_path / "mine.csv"
    path.write_text(trace.to_csv(t))
    assert trace.compare(t, path).ok
    values = trace.read_csv(path)
    values[("g_a", "2")] += 0.01  # the first mistake, in trace order ...
    values[("g_alpha", "2;1")] += 0.5  # ... and one it causes later
    found = trace.compare(t, values)
    assert not found.ok and (found.name, found.index) == ("g_a", "2")
    assert "first wrong value: g_a[2]" in str(found) and "off by +0.01" in str(found)


def test_hand_rounded_values_pass_and_partial_work_is_compared(tmp_path):
    t = trace.ocr_trace()
    path = tmp_path / "mine.csv"
    path.write_text("quantity,index,value\n" + "".join(f"a,{i},{v:.5f}\n" for i, v in enumerate(t.values["a"]))
                    + f"J,,{float(t.values['J']):.5f}\n")
    result = trace.compare(t, path)
    assert result.ok and result.checked == 5


def test_given_weights_from_a_csv_file(tmp_path):
    weights = trace.default_weights(5, 3, seed=4)
    path = tmp_path / "weights.csv"
    path.write_text("".join(f"{name},{';'.join(map(str, i))},{array[i]}\n" for name, array in weights.items()
                            for i in np.ndindex(array.shape)))
    t = trace.ocr_trace(weights=path)
    assert t.values["alpha"].shape == (3, 5)
    np.testing.assert_array_equal(t.values["beta"], weights["beta"])


def test_bad_values_are_refused(tmp_path):
    t = trace.ocr_trace()
    with pytest.raises(InputError, match=r"the trace has no q\[0\]"):
        trace.compare(t, {("q", "0"): 1.0})
    path = tmp_path / "bad.csv"
    path.write_text("a,0\n")
    with pytest.raises(ValueError, match="line 1 has 2 fields"):
        trace.read_csv(path)
    with pytest.raises(ValueError, match="alpha has shape"):
        trace.ocr_trace(x=np.ones(5), label=1, weights={**trace.default_weights(5, 4), "alpha": np.ones((2, 2))})
