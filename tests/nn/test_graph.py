"""Graph containers (nngraph): making nodes, running graphs, errors that name the node, printing, pictures."""

from __future__ import annotations

import numpy as np
import pytest

from ember import nn
from ember.check import check_model, check_module
from tests.nn.catalog_graph import CASES
from tests.optional import skip_reason


def two_paths():
    x = nn.Identity()()
    h1 = nn.Tanh()(nn.Linear(4, 5)(x))
    h2 = nn.Linear(4, 5)(x)
    return x, h1, h2, nn.gModule([x], [nn.CAddTable()([h1, h2])])


def test_calling_a_module_makes_nodes_and_on_an_array_still_runs_forward():
    x = nn.Identity()()
    assert isinstance(x, nn.Node) and x.inputs == [] and not x.table
    a, b = nn.Linear(4, 3)(x), nn.Tanh()(x)
    joined = nn.JoinTable(0)([a, b])
    assert joined.inputs == [a, b] and joined.table and a.inputs == [x]
    assert "test_graph.py" in joined.where
    assert nn.Tanh()(np.zeros(2)).shape == (2,)
    with pytest.raises(TypeError, match="mixes nodes and other values"):
        nn.CAddTable()([a, np.zeros(3)])


def test_forward_and_backward_follow_the_formula():
    _, _, _, g = two_paths()
    lin1, lin2 = g.get(1), g.get(3)
    x = np.random.default_rng(0).standard_normal((3, 4))
    expected = np.tanh(x @ lin1.weight.T + lin1.bias) + x @ lin2.weight.T + lin2.bias
    np.testing.assert_allclose(g.forward(x), expected)
    grad_out = np.ones((3, 5))
    d_tanh = 1 - np.tanh(x @ lin1.weight.T + lin1.bias) ** 2
    np.testing.assert_allclose(g.backward(x, grad_out), (grad_out * d_tanh) @ lin1.weight + grad_out @ lin2.weight)


def test_parameters_and_get_parameters_cover_the_graph():
    _, _, _, g = two_paths()
    params, grads = g.parameters()
    assert len(params) == 4
    flat, flat_grad = g.getParameters()
    assert flat.size == 2 * (4 * 5 + 5)
    flat[:] = 0
    assert not g.get(1).weight.any() and not g.get(3).bias.any()
    g.zeroGradParameters()
    g.forward(np.ones(4))
    g.backward(np.ones(4), np.ones(5))
    assert flat_grad.any()


def test_updateGradInput_then_accGradParameters_equals_backward():
    _, _, _, g = two_paths()
    x, go = np.random.default_rng(1).standard_normal((2, 4)), np.random.default_rng(2).standard_normal((2, 5))
    g.zeroGradParameters()
    g.forward(x)
    expected_in = g.backward(x, go, 0.5).copy()
    expected_grads = [p.copy() for p in g.parameters()[1]]
    g.zeroGradParameters()
    g.forward(x)
    np.testing.assert_allclose(g.updateGradInput(x, go), expected_in)
    g.accGradParameters(x, go, 0.5)
    for mine, theirs in zip(g.parameters()[1], expected_grads):
        np.testing.assert_allclose(mine, theirs)


def test_gradients_where_an_output_is_also_used_inside():
    x = nn.Identity()()
    h = nn.Tanh()(x)
    g = nn.gModule([x], [h, nn.Square()(h)])
    value = np.array([0.3, -0.7])
    g.forward(value)
    grad = g.backward(value, [np.ones(2), np.ones(2)])
    t = np.tanh(value)
    np.testing.assert_allclose(grad, (1 + 2 * t) * (1 - t ** 2))


def test_gradoutput_is_never_modified_at_a_fan_out():
    x = nn.Identity()()
    g = nn.gModule([x], [nn.CAddTable()([x, x, nn.Identity()(x)])])
    value, grad_out = np.ones(3), np.full(3, 2.0)
    g.forward(value)
    np.testing.assert_allclose(g.backward(value, grad_out), np.full(3, 6.0))
    np.testing.assert_array_equal(grad_out, np.full(3, 2.0))


def test_clone_and_share_work_on_graphs():
    _, _, _, g = two_paths()
    twin = g.clone("weight", "bias", "gradWeight", "gradBias")
    assert twin.get(1).weight is g.get(1).weight and twin.nodes[0].graph is twin
    copy = g.clone()
    copy.get(1).weight[...] = 0
    assert g.get(1).weight.any()
    x = np.ones(4)
    np.testing.assert_allclose(twin.forward(x), g.forward(x))


@pytest.mark.parametrize("case", CASES, ids=[case.id for case in CASES])
def test_audit_passes(case):
    rng = np.random.default_rng(0)
    module = case.make(rng)
    for x in (case.single(rng), case.batch(rng)):
        report = check_module(module, x)
        assert report.ok, str(report)


# -- errors --------------------------------------------------------------------------------------


def test_a_cycle_is_named():
    x = nn.Identity()()
    a = nn.Tanh()(x)
    b = nn.Sigmoid()(a)
    a.inputs.append(b)
    a.table = True
    with pytest.raises(ValueError, match=r"cycle through node Sigmoid .* -> node Tanh .* -> node Sigmoid"):
        nn.gModule([x], [b])


def test_an_unused_input_is_named():
    x, y = nn.Identity()(), nn.Identity()().annotate("spare")
    with pytest.raises(ValueError, match="input 1, node Identity 'spare' .* is unused"):
        nn.gModule([x, y], [nn.Tanh()(x)])


def test_an_output_that_does_not_depend_on_the_inputs_is_named():
    x, stray = nn.Identity()(), nn.Linear(2, 2)()
    with pytest.raises(ValueError, match=r"does not depend on the inputs: node\[1\] Linear\(2 -> 2\) \(made at "
                                         r"test_graph.py:\d+\) has no inputs"):
        nn.gModule([x], [nn.CAddTable()([nn.Tanh()(x), stray])])


def test_a_node_in_two_graphs_is_named():
    x, h1, h2, g = two_paths()
    with pytest.raises(ValueError, match=r"node\[0\] Identity .* is already in another gModule"):
        nn.gModule([x], [h1])


def test_one_module_at_two_nodes_is_refused():
    x, layer = nn.Identity()(), nn.Tanh()
    with pytest.raises(ValueError, match=r"Tanh is used by two nodes \(node\[1\] Tanh .* and node\[2\] Tanh"):
        nn.gModule([x], [layer(layer(x))])


def test_bad_arguments_and_inputs():
    with pytest.raises(TypeError, match="expected the outputs as a non-empty list of nodes"):
        nn.gModule([nn.Identity()()], [])
    x, y = nn.Identity()(), nn.Identity()()
    g = nn.gModule([x, y], [nn.CAddTable()([x, y])])
    with pytest.raises(ValueError, match=r"gModule\(2 -> 1, 3 nodes\): expected a list of 2 inputs"):
        g.forward(np.ones(3))


def test_an_error_inside_names_the_node_and_keeps_its_type():
    _, _, _, g = two_paths()
    with pytest.raises(ValueError, match=r"^gModule\(1 -> 1, 5 nodes\): node\[1\] Linear\(4 -> 5\) \(made at "
                                         r"test_graph.py:\d+\) > Linear\(4 -> 5\): expected input of shape"):
        g.forward(np.ones(3))


# -- printing and pictures -----------------------------------------------------------------------


def test_printing_lists_the_nodes_with_their_parents():
    x = nn.Identity()()
    h = nn.Linear(4, 5)(x).annotate("hidden")
    g = nn.gModule([x], [nn.CAddTable()([nn.Tanh()(h), h])])
    assert repr(g) == "\n".join([
        "nn.gModule {  -- 1 -> 1, 4 nodes",
        "  (0) <- input 0: nn.Identity",
        "  (1) 'hidden' <- (0): nn.Linear(4 -> 5)",
        "  (2) <- (1): nn.Tanh",
        "  (3) <- [(2), (1)]: nn.CAddTable",
        "  outputs: (3)",
        "}",
    ])


class _WrongTanh(nn.Tanh):
    """A student's Tanh whose backward forgets the square."""

    def updateGradInput(self, input, gradOutput):
        self.gradInput = gradOutput * (1 - self.output)
        return self.gradInput


def test_check_model_names_the_failing_node_and_the_picture_colours_it(tmp_path):
    pytest.importorskip("matplotlib", reason=skip_reason("matplotlib", "the graph figure"))
    from ember import plot

    rng = np.random.default_rng(0)
    x = nn.Identity()()
    g = nn.gModule([x], [nn.Linear(5, 2, rng=rng)(_WrongTanh()(nn.Linear(3, 5, rng=rng)(x)))])
    report = check_model(g, nn.MSECriterion(), rng.standard_normal((4, 3)), rng.standard_normal((4, 2)))
    assert not report.ok and report.failures == [g.get(2)]
    assert report.failure_names == ["model[2] _WrongTanh"]
    path = plot.graph(g, tmp_path / "graph.png", highlight=report)
    assert path.stat().st_size > 0
    dot = plot.graph(g, tmp_path / "graph.dot", highlight=report).read_text()
    assert 'n2 [label="(2) _WrongTanh", style=filled, fillcolor=red];' in dot
    assert "n1 -> n2;" in dot and dot.count("fillcolor") == 1
