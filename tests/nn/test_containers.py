"""Containers: list operations, printing as Torch does, concatenation and tables."""

from __future__ import annotations

import numpy as np
import pytest

from ember import nn


def test_sequential_list_operations_chain():
    net = nn.Sequential()
    assert net.add(nn.Linear(4, 3)) is net
    net.add(nn.Linear(3, 2)).insert(nn.Sigmoid(), 1)
    assert len(net) == 3 and isinstance(net.get(1), nn.Sigmoid) and net.modules[1] is net[1]
    net.remove(1)
    assert [type(m) for m in net.modules] == [nn.Linear, nn.Linear]
    net.remove()
    assert len(net) == 1
    with pytest.raises(TypeError, match="Sequential: expected a Module to add, got int"):
        net.add(3)


def test_empty_sequential_is_identity():
    net = nn.Sequential()
    x = np.ones(3)
    assert net.forward(x) is x
    assert net.backward(x, x) is x


def test_remove_from_empty_names_the_container():
    with pytest.raises(IndexError, match="Sequential: cannot remove from an empty Sequential"):
        nn.Sequential().remove()


def test_printing_follows_torch_numbered_from_0_as_get_counts():
    net = nn.Sequential(nn.Linear(4, 2), nn.Sigmoid(), nn.Sequential(nn.Linear(2, 2, bias=False)))
    assert repr(net) == (
        "nn.Sequential {\n"
        "  [input -> (0) -> (1) -> (2) -> output]\n"
        "  (0): nn.Linear(4 -> 2)\n"
        "  (1): nn.Sigmoid\n"
        "  (2): nn.Sequential {\n"
        "    [input -> (0) -> output]\n"
        "    (0): nn.Linear(2 -> 2 without bias)\n"
        "  }\n"
        "}")
    assert repr(nn.ParallelTable(nn.Linear(3, 2), nn.Sigmoid())) == (
        "nn.ParallelTable {\n"
        "  input\n"
        "    |-> (0): nn.Linear(3 -> 2)\n"
        "    |-> (1): nn.Sigmoid\n"
        "     ... -> output\n"
        "}")
    assert repr(nn.Concat(0, nn.Sigmoid())).startswith("nn.Concat {\n  input\n    |`-> (0): nn.Sigmoid")


def test_concat_joins_children_outputs_along_dim():
    lin = nn.Linear(3, 2)
    cat = nn.Concat(0, lin, nn.Sigmoid())
    x = np.array([0.5, -1.0, 2.0])
    out = cat.forward(x)
    np.testing.assert_allclose(out, np.concatenate([lin.weight @ x + lin.bias, 1 / (1 + np.exp(-x))]))
    assert out.shape == (5,)


def test_concat_rejects_mismatched_outputs():
    cat = nn.Concat(0, nn.Linear(3, 2), nn.Linear(3, 4))
    with pytest.raises(ValueError, match=r"Concat\(0\): children's outputs \[\(2, 2\), \(2, 4\)\] differ"):
        cat.forward(np.ones((2, 3)))


def test_parallel_table_checks_the_table():
    par = nn.ParallelTable(nn.Sigmoid(), nn.Sigmoid())
    with pytest.raises(ValueError, match="ParallelTable: expected a list of 2 inputs .* got a list of length 3"):
        par.forward([np.ones(1)] * 3)
    with pytest.raises(ValueError, match="got ndarray"):
        par.forward(np.ones(2))


def test_concat_table_sums_children_gradients():
    table = nn.ConcatTable(nn.Identity(), nn.Identity())
    x = np.ones(3)
    table.forward(x)
    grad = table.backward(x, [np.full(3, 2.0), np.full(3, 5.0)])
    np.testing.assert_array_equal(grad, np.full(3, 7.0))
