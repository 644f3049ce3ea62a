"""Table modules: the seed's table layers, Torch behaviours, routing of gradients, errors."""

from __future__ import annotations

import numpy as np
import pytest

from ember import nn
from ember.check import copy_structure, jacobian


def rng():
    return np.random.default_rng(0)


# -- the seed's examples -----------------------------------------------------------------------


def test_seed_sparse_and_dense_linear_layer():
    # W_o x_o + W_d x_d + b, with the one-hot x_o given as an index to a LookupTable (0-based: index 1).
    r = rng()
    lookup, linear = nn.LookupTable(5, 2, rng=r), nn.Linear(3, 2, rng=r)
    net = nn.Sequential(nn.ParallelTable(lookup, linear), nn.CAddTable())
    x_o, x_d = np.array([1]), r.standard_normal((1, 3))
    out = net.forward([x_o, x_d])
    one_hot = np.eye(5)[1]
    expected = np.hstack([lookup.weight.T, linear.weight]) @ np.concatenate([one_hot, x_d[0]]) + linear.bias
    np.testing.assert_allclose(out, expected[None, :], rtol=1e-12)
    assert repr(net) == (
        "nn.Sequential {\n"
        "  [input -> (0) -> (1) -> output]\n"
        "  (0): nn.ParallelTable {\n"
        "    input\n"
        "      |-> (0): nn.LookupTable(5 -> 2)\n"
        "      |-> (1): nn.Linear(3 -> 2)\n"
        "       ... -> output\n"
        "  }\n"
        "  (1): nn.CAddTable\n"
        "}")
    # Backward: the dense input gets W_dᵀ g, the looked-up row and W_d, b get their gradients.
    g = np.array([[1.0, -2.0]])
    net.zeroGradParameters()
    grad_in = net.backward([x_o, x_d], g)
    np.testing.assert_allclose(grad_in[1], g @ linear.weight, rtol=1e-12)
    np.testing.assert_array_equal(grad_in[0], np.zeros(1))
    np.testing.assert_allclose(lookup.gradWeight[1], g[0])
    assert not lookup.gradWeight[[0, 2, 3, 4]].any()
    np.testing.assert_allclose(linear.gradWeight, g.T @ x_d)
    np.testing.assert_allclose(linear.gradBias, g[0])


def test_seed_sparse_and_dense_layer_batch_rows_are_examples():
    r = rng()
    net = nn.Sequential(nn.ParallelTable(nn.LookupTable(5, 2, rng=r), nn.Linear(3, 2, rng=r)), nn.CAddTable())
    idx, dense = np.array([4, 0, 4, 2]), r.standard_normal((4, 3))
    batch = net.forward([idx, dense]).copy()
    for i in range(4):
        np.testing.assert_allclose(net.forward([idx[i:i + 1], dense[i:i + 1]]), batch[i:i + 1], rtol=1e-12)


def test_seed_dense_part_gradient_by_finite_differences():
    r = rng()
    linear = nn.Linear(3, 2, rng=r)
    net = nn.Sequential(nn.ParallelTable(nn.LookupTable(5, 2, rng=r), linear), nn.CAddTable())
    idx, dense = np.array([3, 1]), r.standard_normal((2, 3))
    # Only the dense entry is differentiable: check d/d(dense) through a wrapper that fixes the indices.
    full = nn.Sequential(_FixFirst(idx), net)
    analytic, numeric = jacobian(full, dense)
    np.testing.assert_allclose(analytic, numeric, atol=1e-7)


def test_seed_sparse_and_dense_layer_saves_and_loads(tmp_path):
    from ember import io

    r = rng()
    net = nn.Sequential(nn.ParallelTable(nn.LookupTable(5, 2, rng=r), nn.Linear(3, 2, rng=r)), nn.CAddTable())
    x = [np.array([1, 3]), r.standard_normal((2, 3))]
    io.save(net, tmp_path / "net.npz")
    back = io.load(tmp_path / "net.npz")
    assert repr(back) == repr(net)
    np.testing.assert_array_equal(back.forward(x), net.forward(x))


class _FixFirst(nn.Module):
    """Test helper: x -> [indices, x], passing only the gradient of x back."""

    def __init__(self, indices):
        super().__init__()
        self.indices = indices

    def updateOutput(self, input):
        self.output = [self.indices, input]
        return self.output

    def updateGradInput(self, input, gradOutput):
        self.gradInput = gradOutput[1]
        return self.gradInput


def test_seed_join_and_narrow():
    r = rng()
    t = [r.standard_normal((1, 3)), r.standard_normal((1, 3)), r.standard_normal((1, 2))]
    joined = nn.JoinTable(1, 2).forward(t)  # Torch's JoinTable(2, 2)
    np.testing.assert_array_equal(joined, np.hstack(t))
    assert joined.shape == (1, 8)
    narrowed = nn.NarrowTable(0, 2).forward(t)  # Torch's NarrowTable(1, 2)
    assert len(narrowed) == 2 and narrowed[0] is t[0] and narrowed[1] is t[1]


# -- JoinTable / SplitTable ---------------------------------------------------------------------


def test_join_table_batch_shift_and_negative_dim():
    a, b = np.ones((4, 2, 3)), np.zeros((4, 2, 1))
    assert nn.JoinTable(1, n_input_dims=2).forward([a, b]).shape == (4, 2, 4)  # batch: dim 1 -> 2
    assert nn.JoinTable(1, n_input_dims=2).forward([a[0], b[0]]).shape == (2, 4)  # one example
    assert nn.JoinTable(-1).forward([a, b]).shape == (4, 2, 4)  # negative: never shifted
    assert nn.JoinTable(0).forward([a, a]).shape == (8, 2, 3)  # no n_input_dims: no shift


def test_join_table_gradient_is_slices_in_reused_buffers():
    module = nn.JoinTable(0)
    x = [np.ones(2), np.ones(3)]
    module.forward(x)
    g = np.arange(5.0)
    grads = module.backward(x, g)
    np.testing.assert_array_equal(grads[0], [0, 1])
    np.testing.assert_array_equal(grads[1], [2, 3, 4])
    first = grads[0]
    assert module.backward(x, g)[0] is first
    assert not np.shares_memory(first, g)


@pytest.mark.parametrize(("module", "table", "error", "match"), [
    (nn.JoinTable(0), [], ValueError, r"JoinTable\(0\): expected a non-empty list of arrays, got a list of 0"),
    (nn.JoinTable(0), np.ones(3), ValueError, r"expected a non-empty list of arrays, got ndarray of shape \(3,\)"),
    (nn.JoinTable(0), [np.ones(2), [np.ones(2)]], TypeError, "entry 1 is list"),
    (nn.JoinTable(1), [np.ones((2, 3)), np.ones((3, 3))], ValueError,
     r"equal sizes outside dim 1, got shapes \[\(2, 3\), \(3, 3\)\]"),
    (nn.JoinTable(0), [np.ones(2), np.ones(2, dtype=np.float32)], ValueError, r"dtypes \['float32', 'float64'\]"),
    (nn.JoinTable(2), [np.ones((2, 3))], ValueError, r"cannot join along dim 2 arrays of shape \(2, 3\)"),
    (nn.JoinTable(1, 1), [np.ones((2, 3))], ValueError, r"along dim 1 \(dim 2 of a batch\)"),
])
def test_join_table_errors(module, table, error, match):
    with pytest.raises(error, match=match):
        module.forward(table)


def test_split_table_outputs_views_without_dim():
    x = np.arange(24.0).reshape(2, 3, 4)
    parts = nn.SplitTable(1).forward(x)
    assert len(parts) == 3 and all(p.shape == (2, 4) for p in parts)
    np.testing.assert_array_equal(parts[2], x[:, 2])
    assert all(np.shares_memory(p, x) for p in parts)
    batch = nn.SplitTable(0, n_input_dims=2).forward(x)  # a batch of two (3, 4) examples: split the 3
    assert len(batch) == 3 and batch[1].shape == (2, 4)
    assert [p.shape for p in nn.SplitTable(0).forward(np.arange(3.0))] == [(), (), ()]
    assert [float(p) for p in nn.SplitTable(-1).forward(np.arange(3.0))] == [0.0, 1.0, 2.0]


def test_split_table_gradient_stacks_and_checks_length():
    module = nn.SplitTable(-1)
    x = np.zeros((2, 3))
    module.forward(x)
    grads = [np.full(2, float(i)) for i in range(3)]
    np.testing.assert_array_equal(module.backward(x, grads), [[0, 1, 2], [0, 1, 2]])
    with pytest.raises(ValueError, match=r"SplitTable\(-1\): expected gradOutput shaped like the output table: "
                                         r"a list of 3 entries, got 2"):
        module.backward(x, grads[:2])


def test_split_then_join_flattens_each_example():
    x = rng().standard_normal((3, 4, 2))
    net = nn.Sequential(nn.SplitTable(0, n_input_dims=2), nn.JoinTable(0, n_input_dims=1))
    np.testing.assert_array_equal(net.forward(x[0]), x[0].ravel())  # one (4, 2) example -> (8,)
    np.testing.assert_array_equal(net.forward(x), x.reshape(3, 8))  # a batch of three -> (3, 8)
    g = rng().standard_normal((3, 8))
    np.testing.assert_array_equal(net.backward(x, g), g.reshape(3, 4, 2))


@pytest.mark.parametrize(("module", "x", "error", "match"), [
    (nn.SplitTable(0), [np.ones(2)], TypeError, "SplitTable\\(0\\): expected a NumPy array, got a list of 1"),
    (nn.SplitTable(2), np.ones((2, 3)), ValueError, r"cannot split along dim 2 an array of shape \(2, 3\)"),
    (nn.SplitTable(0), np.ones(()), ValueError, r"cannot split along dim 0 an array of shape \(\)"),
])
def test_split_table_errors(module, x, error, match):
    with pytest.raises(error, match=match):
        module.forward(x)


# -- NarrowTable / SelectTable / FlattenTable -------------------------------------------------------


def test_narrow_table_passes_entries_and_zero_fills_the_rest():
    x = [np.ones(2), np.ones(3), [np.ones(4), np.ones((2, 2))], np.ones(1)]
    module = nn.NarrowTable(1, 2)
    out = module.forward(x)
    assert out[0] is x[1] and out[1] is x[2]
    g = [np.full(3, 5.0), [np.full(4, 6.0), np.full((2, 2), 7.0)]]
    saved = copy_structure(g)
    grads = module.backward(x, g)
    assert len(grads) == 4 and grads[1] is g[0] and grads[2] is g[1]
    np.testing.assert_array_equal(grads[0], np.zeros(2))
    np.testing.assert_array_equal(grads[3], np.zeros(1))
    np.testing.assert_array_equal(g[0], saved[0])
    zero_buffer = grads[0]
    assert module.backward(x, g)[0] is zero_buffer  # reused


def test_narrow_table_errors():
    with pytest.raises(ValueError, match=r"NarrowTable\(1, 2\): expected a list of at least 3 entries, "
                                         r"got a list of 2"):
        nn.NarrowTable(1, 2).forward([np.ones(1), np.ones(1)])
    with pytest.raises(ValueError, match="offset must be >= 0"):
        nn.NarrowTable(-1)
    with pytest.raises(ValueError, match="length must be >= 1"):
        nn.NarrowTable(0, 0)
    module = nn.NarrowTable(0, 2)
    x = [np.ones(1), np.ones(1)]
    module.forward(x)
    with pytest.raises(ValueError, match="expected gradOutput as a list of 2 entries, got ndarray"):
        module.backward(x, np.ones(1))


def test_select_table_nested_entry_and_zeros_for_the_others():
    inner = [np.ones(2), [np.ones(3)]]
    x = [np.ones(4), inner, [np.ones(1), np.ones((2, 1))]]
    module = nn.SelectTable(1)
    assert module.forward(x) is inner
    g = [np.full(2, 3.0), [np.full(3, 4.0)]]
    grads = module.backward(x, g)
    assert grads[1] is g
    np.testing.assert_array_equal(grads[0], np.zeros(4))
    assert isinstance(grads[2], list) and grads[2][1].shape == (2, 1) and not grads[2][1].any()
    assert not grads[2][0].any()


def test_select_table_negative_index_follows_the_table_length():
    module = nn.SelectTable(-1)
    short, long = [np.ones(2), np.ones(3)], [np.ones(2), np.ones(3), np.ones(4)]
    assert module.forward(short) is short[1]
    g_short = np.full(3, 2.0)
    module.backward(short, g_short)
    assert module.forward(long) is long[2]
    grads = module.backward(long, np.full(4, 1.0))
    # position 1 now gets zeros: they must not be written into the earlier gradOutput
    np.testing.assert_array_equal(g_short, np.full(3, 2.0))
    np.testing.assert_array_equal(grads[1], np.zeros(3))
    assert nn.SelectTable(-3).forward(long) is long[0]


def test_select_table_index_out_of_range():
    with pytest.raises(IndexError, match=r"SelectTable\(2\): index 2 out of range for a list of 2 "
                                         r"\(indices are 0-based\)"):
        nn.SelectTable(2).forward([np.ones(1), np.ones(1)])
    with pytest.raises(IndexError, match="index -3 out of range for a list of 2"):
        nn.SelectTable(-3).forward([np.ones(1), np.ones(1)])
    with pytest.raises(IndexError, match="out of range for ndarray"):
        nn.SelectTable(0).forward(np.ones(3))


def test_flatten_table_depth_first_and_renests_gradients():
    a, b, c, d = np.ones(1), np.ones(2), np.ones(3), np.ones(4)
    x = [a, [b, [c]], [], d]
    module = nn.FlattenTable()
    out = module.forward(x)
    assert len(out) == 4 and all(o is e for o, e in zip(out, [a, b, c, d]))
    g = [np.zeros(1), np.zeros(2), np.zeros(3), np.zeros(4)]
    grads = module.backward(x, g)
    assert grads[0] is g[0] and grads[1][0] is g[1] and grads[1][1][0] is g[2] and grads[2] == [] and grads[3] is g[3]


def test_flatten_table_errors():
    with pytest.raises(TypeError, match=r"FlattenTable: expected a \(nested\) list of arrays, got ndarray"):
        nn.FlattenTable().forward(np.ones(2))
    with pytest.raises(TypeError, match=r"entry \[1\]\[0\] is tuple"):
        nn.FlattenTable().forward([np.ones(2), [(1, 2)]])
    module = nn.FlattenTable()
    x = [np.ones(1), [np.ones(2)]]
    module.forward(x)
    with pytest.raises(ValueError, match="gradOutput shaped like the output table: a list of 2 entries, got 1"):
        module.backward(x, [np.ones(1)])


# -- element-wise tables ---------------------------------------------------------------------------


def test_elementwise_values():
    a, b, c = np.array([1.0, -2.0, 3.0]), np.array([4.0, 5.0, -6.0]), np.array([0.5, 2.0, 1.0])
    np.testing.assert_array_equal(nn.CAddTable().forward([a, b, c]), a + b + c)
    np.testing.assert_array_equal(nn.CSubTable().forward([a, b]), a - b)
    np.testing.assert_array_equal(nn.CMulTable().forward([a, b, c]), a * b * c)
    np.testing.assert_array_equal(nn.CDivTable().forward([a, c]), a / c)
    np.testing.assert_array_equal(nn.CMaxTable().forward([a, b, c]), [4.0, 5.0, 3.0])
    np.testing.assert_array_equal(nn.CMinTable().forward([a, b, c]), [0.5, -2.0, -6.0])


def test_elementwise_gradients():
    a, b = np.array([1.0, -2.0]), np.array([4.0, 0.5])
    g = np.array([1.0, 3.0])
    grads = nn.CSubTable()
    grads.forward([a, b])
    minus = grads.backward([a, b], g)
    np.testing.assert_array_equal(minus[0], g)
    np.testing.assert_array_equal(minus[1], -g)
    div = nn.CDivTable()
    div.forward([a, b])
    q = div.backward([a, b], g)
    np.testing.assert_allclose(q[0], g / b)
    np.testing.assert_allclose(q[1], -g * a / b**2)
    add = nn.CAddTable()
    add.forward([a, b])
    s = add.backward([a, b], g)
    np.testing.assert_array_equal(s[0], g)
    np.testing.assert_array_equal(s[1], g)
    assert s[0] is not g and s[1] is not s[0]  # copies, as Torch


def test_cmul_table_gradient_with_zeros_in_the_input():
    # products of the other entries, not output / input: a zero entry must not give nan
    x = [np.array([0.0, 2.0]), np.array([3.0, 0.0]), np.array([5.0, 7.0])]
    module = nn.CMulTable()
    module.forward(x)
    grads = module.backward(x, np.ones(2))
    np.testing.assert_array_equal(grads[0], [15.0, 0.0])
    np.testing.assert_array_equal(grads[1], [0.0, 14.0])
    np.testing.assert_array_equal(grads[2], [0.0, 0.0])


@pytest.mark.parametrize("kind", [nn.CMaxTable, nn.CMinTable])
def test_extremum_ties_route_the_gradient_to_the_first(kind):
    x = [np.array([1.0, 2.0, 3.0]), np.array([1.0, 5.0, 3.0]), np.array([1.0, -5.0, 3.0])]
    module = kind()
    module.forward(x)
    grads = module.backward(x, np.array([10.0, 20.0, 30.0]))
    winner = 1 if kind is nn.CMaxTable else 2  # the middle element has a strict winner
    expected = [[10.0, 0.0, 30.0], [0.0, 0.0, 0.0], [0.0, 0.0, 0.0]]
    expected[winner][1] = 20.0
    for grad, want in zip(grads, expected):
        np.testing.assert_array_equal(grad, want)


def test_extremum_gradient_buffers_are_refilled_each_call():
    module = nn.CMaxTable()
    x = [np.array([1.0, 0.0]), np.array([0.0, 1.0])]
    module.forward(x)
    module.backward(x, np.ones(2))
    y = [np.array([0.0, 1.0]), np.array([1.0, 0.0])]
    module.forward(y)
    grads = module.backward(y, np.ones(2))
    np.testing.assert_array_equal(grads[0], [0.0, 1.0])
    np.testing.assert_array_equal(grads[1], [1.0, 0.0])


def test_gradinput_follows_the_table_length():
    module = nn.CAddTable()
    for n in (3, 2, 4):
        x = [np.ones(2) for _ in range(n)]
        module.forward(x)
        assert len(module.backward(x, np.ones(2))) == n


@pytest.mark.parametrize(("module", "table", "error", "match"), [
    (nn.CSubTable(), [np.ones(2)] * 3, ValueError, r"^CSubTable: expected a list of 2 arrays, got a list of 3$"),
    (nn.CDivTable(), np.ones((2, 3)), ValueError, r"CDivTable: expected a list of 2 arrays, got ndarray of shape"),
    (nn.CAddTable(), [], ValueError, "CAddTable: expected a list of 1 or more arrays, got a list of 0"),
    (nn.CMulTable(), [np.ones(2), np.ones(3)], ValueError, r"expected arrays of one shape and dtype, got shapes "
                                                           r"\[\(2,\), \(3,\)\]"),
    (nn.CMaxTable(), [np.ones(2), np.ones(2, np.float32)], ValueError, r"dtypes \['float32', 'float64'\]"),
    (nn.CMinTable(), [np.ones(2), 3.0], TypeError, "CMinTable: expected a list of arrays, entry 1 is float"),
    (nn.CAddTable(), [np.ones(2, int), np.ones(2, int)], TypeError, "expected floating-point arrays, got dtype int"),
])
def test_elementwise_errors(module, table, error, match):
    with pytest.raises(error, match=match):
        module.forward(table)


# -- pair measures -----------------------------------------------------------------------------------


def test_dot_product_shapes_follow_torch():
    module = nn.DotProduct()
    out = module.forward([np.array([1.0, 2.0, 3.0]), np.array([4.0, 5.0, 6.0])])
    assert out.shape == (1,) and out[0] == 32.0
    batch = module.forward([np.array([[1.0, 0.0], [2.0, 3.0]]), np.array([[5.0, 7.0], [1.0, 1.0]])])
    np.testing.assert_array_equal(batch, [5.0, 5.0])
    x = [np.array([1.0, 2.0]), np.array([3.0, 4.0])]
    module.forward(x)
    grads = module.backward(x, np.array([2.0]))
    np.testing.assert_array_equal(grads[0], [6.0, 8.0])
    np.testing.assert_array_equal(grads[1], [2.0, 4.0])
    assert grads[0].shape == (2,)


def test_cosine_distance_is_the_similarity():
    module = nn.CosineDistance()
    a = np.array([[1.0, 2.0], [1.0, 0.0], [3.0, 4.0]])
    b = np.array([[2.0, 4.0], [0.0, 5.0], [-3.0, -4.0]])
    np.testing.assert_allclose(module.forward([a, b]), [1.0, 0.0, -1.0], atol=1e-12)
    assert module.forward([a[0], b[1]]).shape == (1,)
    np.testing.assert_allclose(module.forward([a[0], b[1]]), [(1 * 0 + 2 * 5) / (np.sqrt(5) * 5)], rtol=1e-12)


def test_cosine_distance_of_a_zero_vector_is_zero_with_finite_gradient():
    module = nn.CosineDistance()
    x = [np.zeros(3), np.array([1.0, 2.0, 2.0])]
    assert module.forward(x)[0] == 0.0
    grads = module.backward(x, np.ones(1))
    assert np.all(np.isfinite(grads[0])) and np.all(np.isfinite(grads[1]))


def test_pairwise_distance_values():
    a, b = np.array([[1.0, 2.0, 3.0], [0.0, 0.0, 0.0]]), np.array([[1.0, 0.0, -1.0], [3.0, 4.0, 0.0]])
    np.testing.assert_allclose(nn.PairwiseDistance(2).forward([a, b]), [np.sqrt(20.0), 5.0], rtol=1e-12)
    np.testing.assert_allclose(nn.PairwiseDistance(1).forward([a, b]), [6.0, 7.0], rtol=1e-12)
    np.testing.assert_allclose(nn.PairwiseDistance(3).forward([a, b]), [72.0 ** (1 / 3), 91.0 ** (1 / 3)],
                               rtol=1e-12)
    assert nn.PairwiseDistance().forward([a[1], b[1]]).shape == (1,)
    assert repr(nn.PairwiseDistance()) == "nn.PairwiseDistance(2)"
    assert repr(nn.PairwiseDistance(1.5)) == "nn.PairwiseDistance(1.5)"


@pytest.mark.parametrize("p", [1, 1.5, 2, 3])
def test_pairwise_distance_takes_the_zero_subgradient_at_equal_inputs(p):
    module = nn.PairwiseDistance(p)
    x = [np.array([1.0, 2.0]), np.array([1.0, 2.0])]
    assert module.forward(x)[0] == 0.0
    grads = module.backward(x, np.ones(1))
    np.testing.assert_array_equal(grads[0], [0.0, 0.0])
    np.testing.assert_array_equal(grads[1], [0.0, 0.0])


def test_pairwise_distance_p1_gradient_is_the_sign():
    module = nn.PairwiseDistance(1)
    x = [np.array([3.0, 1.0, 2.0]), np.array([1.0, 1.0, 5.0])]
    module.forward(x)
    grads = module.backward(x, np.array([2.0]))
    np.testing.assert_array_equal(grads[0], [2.0, 0.0, -2.0])
    np.testing.assert_array_equal(grads[1], [-2.0, 0.0, 2.0])


def test_pairwise_distance_rejects_bad_p():
    for p in (0.5, 0, float("inf")):
        with pytest.raises(ValueError, match="p must be a finite number >= 1"):
            nn.PairwiseDistance(p)
    with pytest.raises(TypeError, match="PairwiseDistance: p must be a number, got '2'"):
        nn.PairwiseDistance("2")


@pytest.mark.parametrize("kind", [nn.DotProduct, nn.CosineDistance, nn.PairwiseDistance])
def test_pair_measure_errors(kind):
    name = kind.__name__
    with pytest.raises(ValueError, match=rf"^{name}(\(2\))?: expected a list of 2 arrays, got a list of 3$"):
        kind().forward([np.ones(2)] * 3)
    with pytest.raises(ValueError, match=r"expected two arrays of one shape \(n,\) or \(batch, n\), "
                                         r"got \(2,\) and \(3,\)"):
        kind().forward([np.ones(2), np.ones(3)])
    with pytest.raises(ValueError, match=r"got \(2, 2, 2\) and \(2, 2, 2\)"):
        kind().forward([np.ones((2, 2, 2))] * 2)
    with pytest.raises(TypeError, match="expected two floating-point arrays of one dtype, got float64 and float32"):
        kind().forward([np.ones(2), np.ones(2, np.float32)])
    with pytest.raises(TypeError, match="got a list of ndarray and list"):
        kind().forward([np.ones(2), [np.ones(2)]])


# -- protocol ----------------------------------------------------------------------------------------


ALL = [
    (nn.JoinTable(0), lambda r: [r.standard_normal(2), r.standard_normal(3)]),
    (nn.SplitTable(1), lambda r: r.standard_normal((2, 3))),
    (nn.NarrowTable(1), lambda r: [r.standard_normal(2), r.standard_normal(3)]),
    (nn.SelectTable(0), lambda r: [r.standard_normal(2), r.standard_normal(3)]),
    (nn.FlattenTable(), lambda r: [r.standard_normal(2), [r.standard_normal(3)]]),
    (nn.CAddTable(), lambda r: [r.standard_normal(2), r.standard_normal(2)]),
    (nn.CSubTable(), lambda r: [r.standard_normal(2), r.standard_normal(2)]),
    (nn.CMulTable(), lambda r: [r.standard_normal(2), r.standard_normal(2)]),
    (nn.CDivTable(), lambda r: [r.standard_normal(2), r.uniform(1, 2, 2)]),
    (nn.CMaxTable(), lambda r: [r.standard_normal(2), r.standard_normal(2)]),
    (nn.CMinTable(), lambda r: [r.standard_normal(2), r.standard_normal(2)]),
    (nn.DotProduct(), lambda r: [r.standard_normal((3, 2)), r.standard_normal((3, 2))]),
    (nn.CosineDistance(), lambda r: [r.standard_normal((3, 2)), r.standard_normal((3, 2))]),
    (nn.PairwiseDistance(3), lambda r: [r.standard_normal((3, 2)), r.standard_normal((3, 2))]),
]


@pytest.mark.parametrize(("module", "make"), ALL, ids=[type(m).__name__ for m, _ in ALL])
def test_input_and_grad_output_are_not_modified_and_clear_state_works(module, make):
    r = rng()
    x = make(r)
    x_saved = copy_structure(x)
    out = module.forward(x)
    g = copy_structure(out)
    g_saved = copy_structure(g)
    module.backward(x, g)
    module.backward(x, g)
    np.testing.assert_array_equal(_flat(x), _flat(x_saved))
    np.testing.assert_array_equal(_flat(g), _flat(g_saved))
    module.clearState()
    again = module.forward(x)
    np.testing.assert_array_equal(_flat(again), _flat(g_saved))
    module.backward(x, g)


def _flat(structure):
    if isinstance(structure, list):
        return np.concatenate([_flat(s) for s in structure]) if structure else np.empty(0)
    return np.ravel(structure)
