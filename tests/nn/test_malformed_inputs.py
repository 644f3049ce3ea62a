"""Property test (issue 12): every catalog module and criterion, given generated malformed input (non-finite values,
empty batches, a wrong rank or shape, integer/bool/complex dtypes, lists, scalars, tables of another length), either
returns a result or raises an ember exception, forward and backward, never another exception type; where PyTorch
has an equivalent, a result for non-finite values is PyTorch's. After a forward of valid input, the same mutations
of its gradOutput (a dtype other than floating, a number, a list, another shape) or of the input given to backward
(unlike forward's) are refused with an ember exception too.

The catalogs are read when the tests are collected, so modules and criteria registered later are covered too.
The examples are derandomised (the same in every run, 20 per case and test) for a stable suite;
``EMBER_FUZZ_EXAMPLES=200`` explores more, with fresh randomness.
"""

from __future__ import annotations

import os
import warnings
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from ember.errors import EmberError
from tests.nn.catalog import all_cases
from tests.nn.test_loss import BATCH, CRITERIA

EXAMPLES = int(os.environ.get("EMBER_FUZZ_EXAMPLES", "0"))
FUZZ = settings(max_examples=EXAMPLES or 20, deadline=None, derandomize=not EXAMPLES, database=None,
                suppress_health_check=list(HealthCheck),
                phases=[Phase.generate] if not EXAMPLES else list(Phase))  # (no shrinking: a failure fails fast)
SPECIAL = [np.nan, np.inf, -np.inf, 0.0, -0.0, 1e308, -1e308, 5e-324, 1.0, -1.0]
MUTATIONS = ["values", "empty", "rank+", "rank-", "shape", "dtype", "list", "scalar", "table"]


def _leaves(value: Any) -> list[np.ndarray]:
    if isinstance(value, list):
        return [leaf for item in value for leaf in _leaves(item)]
    return [value] if isinstance(value, np.ndarray) else []


def _replace_leaf(value: Any, index: int, new: Any, counter: list[int]) -> Any:
    """``value`` with its ``index``-th array leaf (depth first) replaced by ``new``."""
    if isinstance(value, list):
        return [_replace_leaf(item, index, new, counter) for item in value]
    if isinstance(value, np.ndarray):
        counter[0] += 1
        return new if counter[0] - 1 == index else value
    return value


def _mutate(data: st.DataObject, value: Any, batch: Any) -> tuple[str, Any]:
    """A malformed variant of the valid input ``value`` (``batch``: a valid batch input, or ``None``)."""
    kind = data.draw(st.sampled_from(MUTATIONS), label="mutation")
    leaves = _leaves(value)
    if kind == "table":
        if isinstance(value, list) and value:
            return kind, data.draw(st.sampled_from([value[:-1], value + value[:1], []]), label="table")
        return kind, [value]
    if not leaves:
        return "scalar", None
    index = data.draw(st.integers(0, len(leaves) - 1), label="leaf")
    leaf = leaves[index]
    if kind == "values":
        if not np.issubdtype(leaf.dtype, np.floating) or leaf.size == 0:
            new = leaf
        else:
            mask = data.draw(st.lists(st.booleans(), min_size=leaf.size, max_size=leaf.size), label="where")
            specials = data.draw(st.lists(st.sampled_from(SPECIAL), min_size=leaf.size, max_size=leaf.size))
            new = np.where(np.reshape(mask, leaf.shape), np.reshape(specials, leaf.shape), leaf)
    elif kind == "empty":
        source = _leaves(batch)[index] if batch is not None and len(_leaves(batch)) == len(leaves) else leaf
        new = source[:0] if source.ndim else np.zeros(0, dtype=source.dtype)
    elif kind == "rank+":
        new = leaf[None, None] if leaf.ndim else leaf.reshape(1)
    elif kind == "rank-":
        new = leaf.reshape(-1)[0] if leaf.ndim <= 1 else leaf.reshape(leaf.shape[0], -1)[..., 0]
        new = np.asarray(new)
    elif kind == "shape":
        if leaf.ndim == 0:
            new = np.zeros(3, dtype=leaf.dtype)
        else:
            axis = data.draw(st.integers(0, leaf.ndim - 1), label="axis")
            grow = data.draw(st.booleans(), label="grow")
            new = np.concatenate([leaf, leaf], axis=axis) if grow or leaf.shape[axis] < 2 else \
                np.take(leaf, range(leaf.shape[axis] - 1), axis=axis)
    elif kind == "dtype":
        dtype = data.draw(st.sampled_from([np.int64, np.int8, np.bool_, np.float32, np.float16, np.complex128,
                                           np.uint8]), label="dtype")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            new = leaf.astype(dtype)
    elif kind == "list":
        new = leaf.tolist()
    else:
        new = data.draw(st.sampled_from([None, 1.5, 3, "x", True, (1, 2)]), label="scalar")
    return kind, _replace_leaf(value, index, new, [0])


def _ones_like(value: Any) -> Any:
    if isinstance(value, list):
        return [_ones_like(item) for item in value]
    return np.ones_like(value) if isinstance(value, np.ndarray) else 1.0


def _only_ember_errors(call, *args: Any) -> tuple[bool, Any]:
    """``(True, result)``, or ``(False, None)`` when ``call`` raised an ember exception; any other exception
    fails the test."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # NumPy's "invalid value" warnings on NaN are not errors
            return True, call(*args)
    except EmberError:
        return False, None


def _to_torch(torch: Any, value: Any) -> Any:
    if isinstance(value, list):
        return [_to_torch(torch, item) for item in value]
    return torch.from_numpy(np.array(value))


def _torch_leaves(value: Any) -> list[np.ndarray]:
    if isinstance(value, (list, tuple)):
        return [leaf for item in value for leaf in _torch_leaves(item)]
    return [value.detach().numpy()]


def _assert_as_torch(case: Any, module: Any, x: Any, out: Any) -> None:
    """A result for non-finite values is PyTorch's (NaN where it has NaN), for cases with a PyTorch reference."""
    if case.torch is None or any(leaf.dtype != np.float64 for leaf in _leaves(x)):
        return
    # Huge finite values (1e308) overflow or cancel in sums whose order PyTorch and ember choose differently
    # (sum a window then scale, or scale then sum): the result is not determined, so only NaN and inf inputs
    # with moderate finite neighbours are compared.
    def largest(arrays: list[np.ndarray]) -> float:
        return max((float(np.abs(a[np.isfinite(a)]).max(initial=0.0)) for a in arrays), default=0.0)

    if largest(_leaves(x)) * max(1.0, largest(module.parameters()[0])) > 1e150:
        return
    torch = pytest.importorskip("torch")
    params = [torch.from_numpy(p.copy()) for p in module.parameters()[0]]
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            expected = case.torch(torch, module, _to_torch(torch, x), params)
    except RuntimeError:  # PyTorch refuses the input itself: nothing to compare with
        return
    # atol as the catalog's conformance tests: finite values that cancel (1 − 1, 0.5·1 − 0.5·1) leave round-off
    # of ~1e-17 that depends on the order of operations and on PyTorch's FMA, where an exact 0 is not determined
    for mine, theirs in zip(_leaves(out), _torch_leaves(expected)):
        np.testing.assert_allclose(mine, np.asarray(theirs).reshape(mine.shape), rtol=1e-7, atol=1e-12,
                                   equal_nan=True, err_msg=f"{case.id}: not PyTorch's result")


MODULE_CASES = [pytest.param(case, id=case.id) for case in all_cases()]


@pytest.mark.parametrize("case", MODULE_CASES)
@FUZZ
@given(data=st.data())
def test_modules_refuse_malformed_input_with_an_ember_error(case, data):
    rng = np.random.default_rng(0)
    module = case.make(rng)
    x, batch = case.single(rng), case.batch(rng) if case.batch is not None else None
    kind, bad = _mutate(data, x, batch)
    ok, out = _only_ember_errors(module.forward, bad)
    if not ok:
        return
    if kind == "values":
        _assert_as_torch(case, module, bad, out)
    _only_ember_errors(module.backward, bad, _ones_like(out))


@pytest.mark.parametrize("case", MODULE_CASES)
@FUZZ
@given(data=st.data())
def test_modules_refuse_a_malformed_backward_with_an_ember_error(case, data):
    rng = np.random.default_rng(0)
    module = case.make(rng)
    x = case.batch(rng) if case.batch is not None and data.draw(st.booleans(), label="batch") else case.single(rng)
    ok, out = _only_ember_errors(module.forward, x)
    assert ok, f"{case.id}: the catalog's own input was refused"
    if data.draw(st.booleans(), label="mutate gradOutput"):
        _only_ember_errors(module.backward, x, _mutate(data, _ones_like(out), None)[1])
    else:  # an input other than forward's
        _only_ember_errors(module.backward, _mutate(data, x, None)[1], _ones_like(out))


@pytest.mark.parametrize("case", CRITERIA, ids=[case.id for case in CRITERIA])
@FUZZ
@given(data=st.data())
def test_criteria_refuse_malformed_input_with_an_ember_error(case, data):
    rng = np.random.default_rng(0)
    criterion = case.make()
    x = case.input(rng, None)
    target = case.target(rng, x)
    batch = case.input(rng, BATCH)
    if data.draw(st.booleans(), label="mutate the target"):
        kind, target = _mutate(data, target, case.target(rng, batch))
    else:
        kind, x = _mutate(data, x, batch)
    ok, loss = _only_ember_errors(criterion.forward, x, target)
    if not ok:
        return
    assert isinstance(loss, float), f"{case.id}: the loss is a {type(loss).__name__}"
    _only_ember_errors(criterion.backward, x, target)
