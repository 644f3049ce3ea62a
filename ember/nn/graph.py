"""Graph containers: any directed acyclic graph of modules (Torch's ``nngraph``).

Calling a module on a :class:`Node`, or on a list of nodes, makes a new node;
calling it with no argument makes an input node (a module called on an array
still runs ``forward``). :class:`gModule` turns lists of input and output nodes
into a Module::

    x = nn.Identity()()
    h1 = nn.Tanh()(nn.Linear(4, 5)(x)); h2 = nn.Linear(4, 5)(x)
    g = nn.gModule([x], [nn.CAddTable()([h1, h2])])

A node called on one node receives that node's output; a node called on a list
receives the list of their outputs (a table). Forward runs the nodes in
topological order; backward runs them in reverse, and where a node's output
feeds several nodes (it *fans out*) their gradients are summed. One input and
one output are arrays; several are lists, in the order given.

The nodes are numbered in topological order from 0, as ``get()``, ``print``,
errors and the gradient checker's localiser count them (``model[3]`` is node 3).
"""

from __future__ import annotations

import heapq
import itertools
import sys
from typing import Any

import numpy as np

from ember.errors import InputError, InputTypeError
from ember.nn.module import Module, resized
from ember.random import get_rng

_created = itertools.count()


class Node:
    """One use of a module in a graph: the module and the nodes whose outputs it receives.

    Attributes:
        module: the Module this node runs.
        inputs: the parent nodes, in order (empty for an input node).
        table: ``True`` when the module was called on a list of nodes (it receives a list).
        where: ``'file.py:12'``, where the node was made (named in errors).
        name: an optional label given by :meth:`annotate` (shown in errors, printing and pictures).

    """

    def __init__(self, module: Module, inputs: list[Node], table: bool, where: str = "?") -> None:
        self.module, self.inputs, self.table, self.where = module, inputs, table, where
        self.name: str | None = None
        self.graph: gModule | None = None
        self.index: int | None = None  # place in its graph's topological order
        self.input_index: int | None = None  # place among its graph's inputs
        self._order = next(_created)

    def annotate(self, name: str) -> Node:
        """Give the node a name for errors, printing and pictures (nngraph's ``annotate{name=…}``)."""
        self.name = str(name)
        return self

    def split(self, n: int) -> list[Node]:
        """``n`` nodes selecting the entries of this node's table output (``SelectTable(0) … (n−1)``)."""
        from ember.nn.table import SelectTable

        where = _caller(1)
        nodes = [Node(SelectTable(i), [self], False, where) for i in range(n)]
        return nodes

    def describe(self) -> str:
        """``node[3] Linear(4 -> 5) 'name' (made at file.py:12)``: the node in error messages."""
        place = f"node[{self.index}]" if self.index is not None else "node"
        name = f" {self.name!r}" if self.name else ""
        return f"{place} {self.module.describe()}{name} (made at {self.where})"

    def __repr__(self) -> str:
        return f"<{self.describe()}>"


def _caller(depth: int) -> str:
    """``'file.py:12'`` of the frame ``depth`` levels above the caller of this function."""
    frame = sys._getframe(depth + 2)
    return f"{frame.f_code.co_filename.rsplit('/', 1)[-1]}:{frame.f_lineno}"


def make_node(module: Module, input: Any, depth: int = 1) -> Node:
    """The node for ``module(input)`` where ``input`` is nothing, a node, or a list of nodes."""
    where = _caller(depth)
    if input is None:
        return Node(module, [], False, where)
    if isinstance(input, Node):
        return Node(module, [input], False, where)
    if not all(isinstance(item, Node) for item in input):
        module.fail("called on a list that mixes nodes and other values; a node takes nodes only", TypeError)
    return Node(module, list(input), True, where)


def _rethrow(error: Exception, where: str) -> Exception:
    """``error`` again, same type, its message prefixed with ``where > `` (Torch's ``rethrowErrors``)."""
    try:
        new = type(error)(f"{where} > {error.args[0] if len(error.args) == 1 else error}")
    except Exception:
        return error
    new.__traceback__ = error.__traceback__
    return new


def _as_nodes(value: Any, what: str) -> list[Node]:
    nodes = [value] if isinstance(value, Node) else value
    if not isinstance(nodes, (list, tuple)) or not nodes or not all(isinstance(n, Node) for n in nodes):
        raise InputTypeError(f"gModule: expected the {what} as a non-empty list of nodes (made by calling modules), "
                        f"got {value!r:.100}")
    return list(nodes)


class gModule(Module):  # noqa: N801 - nngraph's name
    """A Module made of a directed acyclic graph of nodes (nngraph's ``nn.gModule``).

    Forward: every node, in topological order, runs its module on its parents'
    outputs (or on the gModule's input, for input nodes). Backward, in reverse:
    node ``n`` receives ``∂L/∂out_n = Σ_{c child of n} (gradInput of c for n)``,
    plus the gModule's ``gradOutput`` where ``n`` is an output.

    Args:
        inputs: the input nodes (made by calling a module with no argument), in order.
        outputs: the output nodes, in order.

    Shape: with one input node the input is whatever that node's module takes; with
    several, a list with one entry per input node. Likewise the output.

    Attributes:
        nodes: every node, in topological order (``get(i)`` is ``nodes[i].module``).
        inputs, outputs: the input and output nodes as given.

    Raises:
        ValueError: naming the node, for a cycle, an unused input, an output that does
            not depend on the inputs, a node already in another graph, a module used by
            two nodes.

    """

    def __init__(self, inputs: Any, outputs: Any) -> None:
        super().__init__()
        self.inputs = _as_nodes(inputs, "inputs")
        self.outputs = _as_nodes(outputs, "outputs")
        self.nodes = self._sorted()
        for node in self.nodes:
            if node.graph is not None:
                raise InputError(f"gModule: {node.describe()} is already in another gModule; build each graph "
                                 f"from its own nodes (clone the first gModule to use it twice)")
        for i, node in enumerate(self.nodes):
            node.index = i
        try:
            self._validate()
        except ValueError:
            for node in self.nodes:
                node.index = None
            raise
        for node in self.nodes:
            node.graph = self
        for i, node in enumerate(self.inputs):
            node.input_index = i
        self._grads: list[Any] = [None] * len(self.nodes)
        self._buffers_of: list[Any] = [None] * len(self.nodes)
        self._node_inputs: list[Any] = [None] * len(self.nodes)

    # -- building ---------------------------------------------------------------------------------

    def _sorted(self) -> list[Node]:
        """The nodes the outputs depend on, parents before children; a cycle is an error."""
        state: dict[int, int] = {}  # 1: being visited, 2: done
        reached: list[Node] = []
        for output in self.outputs:
            stack = [(output, iter(output.inputs))]
            if state.get(id(output)) == 2:
                continue
            state[id(output)] = 1
            while stack:
                node, parents = stack[-1]
                parent = next(parents, None)
                if parent is None:
                    stack.pop()
                    state[id(node)] = 2
                    reached.append(node)
                elif state.get(id(parent)) == 1:
                    cycle = [n for n, _ in stack[[n for n, _ in stack].index(parent):]]
                    raise InputError("gModule: the graph has a cycle through "
                                     + " -> ".join(n.describe() for n in cycle + [parent]))
                elif parent is not None and state.get(id(parent)) is None:
                    state[id(parent)] = 1
                    stack.append((parent, iter(parent.inputs)))
        # Kahn's order, ties broken by creation, so the numbering follows the code that built the graph.
        waiting = {id(n): len(n.inputs) for n in reached}
        children: dict[int, list[Node]] = {id(n): [] for n in reached}
        for node in reached:
            for parent in node.inputs:
                children[id(parent)].append(node)
        ready = [(n._order, id(n), n) for n in reached if not n.inputs]
        heapq.heapify(ready)
        order: list[Node] = []
        while ready:
            node = heapq.heappop(ready)[2]
            order.append(node)
            for child in children[id(node)]:
                waiting[id(child)] -= 1
                if waiting[id(child)] == 0:
                    heapq.heappush(ready, (child._order, id(child), child))
        return order

    def _validate(self) -> None:
        in_graph = {id(n) for n in self.nodes}
        given = {id(n): i for i, n in enumerate(self.inputs)}
        for i, node in enumerate(self.inputs):
            if given[id(node)] != i:
                raise InputError(f"gModule: {node.describe()} is given twice as an input")
            if node.inputs:
                raise InputError(f"gModule: input {i}, {node.describe()}, has inputs of its own; make input "
                                 f"nodes by calling a module with no argument, e.g. nn.Identity()()")
            if id(node) not in in_graph:
                raise InputError(f"gModule: input {i}, {node.describe()}, is unused: no output depends on it")
        for node in self.nodes:
            if not node.inputs and id(node) not in given:
                raise InputError(f"gModule: an output does not depend on the inputs: {node.describe()} has no "
                                 f"inputs and is not among the gModule's inputs")
        modules: dict[int, Node] = {}
        for node in self.nodes:
            other = modules.setdefault(id(node.module), node)
            if other is not node:
                raise InputError(f"gModule: {node.module.describe()} is used by two nodes ({other.describe()} and "
                                 f"{node.describe()}); use module.clone('weight', 'bias', 'gradWeight', "
                                 f"'gradBias') for shared parameters")

    # -- structure --------------------------------------------------------------------------------

    def children(self) -> list[Module]:
        return [node.module for node in self.nodes]

    @property
    def modules(self) -> list[Module]:
        """The nodes' modules, in topological order."""
        return self.children()

    def get(self, index: int) -> Module:
        """The module of node ``index`` (0-based, topological order)."""
        return self.nodes[index].module

    def __getitem__(self, index: int) -> Module:
        return self.nodes[index].module

    def __len__(self) -> int:
        return len(self.nodes)

    def size(self) -> int:
        return len(self.nodes)

    def reset(self, rng: int | np.random.Generator | None = None, *, stdv: float | None = None) -> gModule:
        """Re-initialise every node's module, in topological order, from one generator."""
        rng = get_rng(rng)
        for node in self.nodes:
            if stdv is None:
                node.module.reset(rng)
            else:
                node.module.reset(rng, stdv=stdv)
        return self

    def config(self) -> dict[str, Any]:
        """The graph as data: per node (topological order) its module, parents (node numbers), whether it
        takes a table, its name and where it was made; the input and output node numbers. ``ember.io``
        saves it and :meth:`from_config` rebuilds the same graph (same numbering).
        """
        return {"nodes": [{"module": node.module, "inputs": [parent.index for parent in node.inputs],
                           "table": node.table, "name": node.name, "where": node.where} for node in self.nodes],
                "inputs": [node.index for node in self.inputs], "outputs": [node.index for node in self.outputs]}

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> gModule:
        """The graph :meth:`config` describes (its modules used as they are, in new nodes)."""
        nodes: list[Node] = []
        for i, spec in enumerate(config["nodes"]):
            parents = [int(j) for j in spec["inputs"]]
            if any(not 0 <= j < i for j in parents):
                raise InputError(f"gModule: node {i}'s parents {parents} must be earlier nodes")
            node = Node(spec["module"], [nodes[j] for j in parents], bool(spec["table"]), str(spec.get("where", "?")))
            node.name = spec.get("name")
            nodes.append(node)
        return cls([nodes[int(i)] for i in config["inputs"]], [nodes[int(i)] for i in config["outputs"]])

    # -- forward ----------------------------------------------------------------------------------

    def checkInput(self, input: Any) -> None:
        n = len(self.inputs)
        if n > 1 and (not isinstance(input, list) or len(input) != n):
            got = f"a list of {len(input)}" if isinstance(input, list) else type(input).__name__
            self.fail(f"expected a list of {n} inputs (one per input node), got {got}")

    def _node_input(self, node: Node, input: Any) -> Any:
        if not node.inputs:
            return input if len(self.inputs) == 1 else input[node.input_index]
        if node.table:
            return [parent.module.output for parent in node.inputs]
        return node.inputs[0].module.output

    def updateOutput(self, input: Any) -> Any:
        node_inputs = self._node_inputs
        for i, node in enumerate(self.nodes):
            x = self._node_input(node, input)
            node_inputs[i] = x
            try:
                node.module.forward(x)
            except Exception as error:
                raise _rethrow(error, f"{self.describe()}: {node.describe()}") from None
        outputs = [node.module.output for node in self.outputs]
        self.output = outputs[0] if len(outputs) == 1 else outputs
        return self.output

    # -- backward ---------------------------------------------------------------------------------

    def _add_grad(self, index: int, grad: Any, owned: list[bool]) -> None:
        """Add ``grad`` to node ``index``'s gradOutput: the first is borrowed, a second is summed in a buffer."""
        if grad is None:
            return
        current = self._grads[index]
        if current is None:
            self._grads[index] = grad
            return
        if not owned[index]:
            self._buffers_of[index] = current = _copy_into(self._buffers_of[index], current)
            owned[index] = True
        self._grads[index] = _accumulate(current, grad)

    def _backprop(self, gradOutput: Any, step: Any) -> Any:
        grads, nodes = self._grads, self.nodes
        for i in range(len(nodes)):
            grads[i] = None
        owned = [False] * len(nodes)
        if len(self.outputs) == 1:
            self._add_grad(self.outputs[0].index, gradOutput, owned)
        else:
            if not isinstance(gradOutput, list) or len(gradOutput) != len(self.outputs):
                self.fail(f"expected gradOutput as a list of {len(self.outputs)} arrays (one per output node)")
            for node, grad in zip(self.outputs, gradOutput):
                self._add_grad(node.index, grad, owned)
        for i in range(len(nodes) - 1, -1, -1):
            node = nodes[i]
            if grads[i] is None:  # only table entries nobody used lead here
                self._buffers_of[i] = grads[i] = _zeros_into(self._buffers_of[i], node.module.output)
                owned[i] = True
            try:
                grad_input = step(node.module, self._node_inputs[i], grads[i])
            except Exception as error:
                raise _rethrow(error, f"{self.describe()}: {node.describe()}") from None
            if node.table:
                for parent, grad in zip(node.inputs, grad_input):
                    self._add_grad(parent.index, grad, owned)
            elif node.inputs:
                self._add_grad(node.inputs[0].index, grad_input, owned)
        grad_inputs = [node.module.gradInput for node in self.inputs]
        self.gradInput = grad_inputs[0] if len(grad_inputs) == 1 else grad_inputs
        return self.gradInput

    def backward(self, input: Any, gradOutput: Any, scale: float = 1.0) -> Any:
        if input is not self._input:
            self.check_backward_input(input)
        return self._backprop(gradOutput, lambda m, x, g: m.backward(x, g, scale))

    def updateGradInput(self, input: Any, gradOutput: Any) -> Any:
        return self._backprop(gradOutput, lambda m, x, g: m.updateGradInput(x, g))

    def accGradParameters(self, input: Any, gradOutput: Any, scale: float = 1.0) -> None:
        for node, x, grad in zip(self.nodes, self._node_inputs, self._grads):
            node.module.accGradParameters(x, grad, scale)

    def clearState(self) -> gModule:
        super().clearState()
        self._grads = [None] * len(self.nodes)
        self._buffers_of = [None] * len(self.nodes)
        self._node_inputs = [None] * len(self.nodes)
        return self

    # -- printing ---------------------------------------------------------------------------------

    def extra_repr(self) -> str:
        return f"{len(self.inputs)} -> {len(self.outputs)}, {len(self.nodes)} nodes"

    def __repr__(self) -> str:
        def parents(node: Node) -> str:
            if not node.inputs:
                return f"input {node.input_index}"
            names = ", ".join(f"({p.index})" for p in node.inputs)
            return f"[{names}]" if node.table else names

        lines = [f"nn.gModule {{  -- {self.extra_repr()}"]
        for node in self.nodes:
            name = f" {node.name!r}" if node.name else ""
            text = repr(node.module).replace("\n", "\n      ")
            lines.append(f"  ({node.index}){name} <- {parents(node)}: {text}")
        lines.append(f"  outputs: {', '.join(f'({n.index})' for n in self.outputs)}")
        return "\n".join(lines + ["}"])


def _copy_into(buffer: Any, value: Any) -> Any:
    if isinstance(value, list):
        old = buffer if isinstance(buffer, list) else []
        return [_copy_into(old[i] if i < len(old) else None, v) for i, v in enumerate(value)]
    buffer = resized(buffer, value)
    np.copyto(buffer, value)
    return buffer


def _accumulate(total: Any, part: Any) -> Any:
    if isinstance(part, list):
        return [_accumulate(t, p) if p is not None else t for t, p in zip(total, part)]
    np.add(total, part, out=total)
    return total


def _zeros_into(buffer: Any, like: Any) -> Any:
    if isinstance(like, list):
        old = buffer if isinstance(buffer, list) else []
        return [_zeros_into(old[i] if i < len(old) else None, v) for i, v in enumerate(like)]
    buffer = resized(buffer, like)
    buffer.fill(0)
    return buffer


Module._graph_nodes = (Node, make_node)
