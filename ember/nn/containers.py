"""Containers: modules made of modules (Torch's Sequential, Concat, ConcatTable, ParallelTable).

Each keeps its children in ``self.modules`` (a list, indexed from 0); ``add``
returns the container so that calls chain. Printing follows Torch.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any

import numpy as np

from ember.errors import EmberError, InputError, InputTypeError, ProtocolError
from ember.nn.module import Module, resized
from ember.random import get_rng


def _indent(text: str, prefix: str) -> str:
    """Indent every line of ``text`` but the first (nested containers print inside others)."""
    return text.replace("\n", "\n" + prefix)


def accumulate(total: Any, part: Any) -> Any:
    """Return ``total + part`` for arrays or (nested) tables, adding into ``total`` where it is a buffer."""
    if isinstance(part, list):
        return [accumulate(t, p) for t, p in zip(total, part)]
    np.add(total, part, out=total)
    return total


def copy_into(buffer: Any, value: Any) -> Any:
    """Copy an array or (nested) table into reused buffers and return them."""
    if isinstance(value, list):
        old = buffer if isinstance(buffer, list) else []
        return [copy_into(old[i] if i < len(old) else None, v) for i, v in enumerate(value)]
    buffer = resized(buffer, value)
    np.copyto(buffer, value)
    return buffer


_DROPPED: dict[tuple[Any, int], bool] = {}  # (code, instruction) -> whether the call made there drops its result


def result_dropped(frame: Any) -> bool:
    """Whether the call being made from ``frame`` drops its result: the instruction after it pops the value
    (a statement such as ``net.backward(x, g)``), rather than storing, returning or passing it on.
    """
    key = (frame.f_code, frame.f_lasti)
    dropped = _DROPPED.get(key)
    if dropped is None:
        import dis  # (on first use: import time)

        after = (i for i in dis.get_instructions(frame.f_code) if i.offset > frame.f_lasti)
        dropped = next(after).opname == "POP_TOP"
        if len(_DROPPED) > 4096:
            _DROPPED.clear()
        _DROPPED[key] = dropped
    return dropped


def locate(exc: BaseException, container: Container, child: Module | int) -> None:
    """Say where ``child`` sits in ``container`` in the error ``exc`` raised from it: an ember
    error's message gains the prefix ``Sequential[2] > `` (0-based, as ``get()`` counts; nested
    containers add theirs, as Torch's ``rethrowErrors``), any other exception a note.
    """
    if isinstance(child, int):
        index = child
    else:  # found by identity: a module added twice is named by its first place
        index = next(i for i, m in enumerate(container.modules) if m is child)
    where = f"{type(container).__name__}[{index}]"
    if isinstance(exc, EmberError) and exc.args and isinstance(exc.args[0], str):
        exc.args = (f"{where} > {exc.args[0]}",) + exc.args[1:]
    else:
        exc.add_note(f"raised in {where}: {container.modules[index].describe()}")


class Container(Module):
    """Base class of containers: holds ``modules`` and forwards the protocol to them.

    An error raised by a child names where it sits: ``Sequential[2] > Linear(4 -> 2): …``.
    """

    def __init__(self, *modules: Module) -> None:
        super().__init__()
        self.modules: list[Module] = []
        for module in modules:
            self.add(module)

    def add(self, module: Module) -> Container:
        """Append ``module`` and return the container (so calls chain)."""
        self._refuse_repeat(module, "add")
        self.modules.append(module)
        return self

    def _refuse_repeat(self, module: Any, how: str) -> None:
        """Raise unless ``module`` is a Module that is not in this container's tree yet (and does not hold it):
        one instance in two places overwrites its own output and gradInput buffers, so gradients come out wrong.
        """
        name = type(self).__name__  # (not describe(): a constructor adds before setting what it prints)
        if not isinstance(module, Module):
            raise InputTypeError(f"{name}: expected a Module to {how}, got {type(module).__name__}")
        mine = {id(m) for m in self.listModules()}
        if any(id(m) in mine for m in module.listModules()):
            twice = next(m for m in module.listModules() if id(m) in mine)
            raise InputError(f"{name}: cannot {how} {twice.describe()}: that instance is already in this container, "
                             f"and one instance in two places overwrites its own outputs and gradients; {how} a "
                             f"copy instead (module.clone(), or module.sharedClone() to share the parameters)")

    def get(self, index: int) -> Module:
        """The child at ``index`` (0-based)."""
        return self.modules[index]

    def size(self) -> int:
        return len(self.modules)

    def __len__(self) -> int:
        return len(self.modules)

    def __getitem__(self, index: int) -> Module:
        return self.modules[index]

    def children(self) -> list[Module]:
        return self.modules

    def checkInput(self, input: Any) -> None:
        """Children check their own inputs."""

    def _each(self, step: Callable[[int, Module], Any]) -> list[Any]:
        """``[step(i, child) for i, child in enumerate(self.modules)]``; an error names the child."""
        results = []
        try:
            for i, module in enumerate(self.modules):
                results.append(step(i, module))
        except Exception as exc:
            locate(exc, self, i)
            raise
        return results

    def reset(self, rng: int | np.random.Generator | None = None, *, stdv: float | None = None) -> Module:
        """Re-initialise every child, in order, from one generator (``rng`` a seed, a Generator or
        ``None``), so that ``model.reset(0)`` re-initialises a whole model reproducibly.
        """
        rng = get_rng(rng)
        for module in self.modules:
            if stdv is None:
                module.reset(rng)
            else:
                module.reset(rng, stdv=stdv)
        return self


class Sequential(Container):
    """Composition: ``Sequential(f, g, h)(x) = h(g(f(x)))``.

    Backward runs the children in reverse, feeding each the previous one's
    ``gradInput``; with no children it is the identity.

    Example:
        >>> from ember.nn import Linear, Sigmoid
        >>> net = Sequential().add(Linear(4, 2)).add(Sigmoid())
        >>> net.forward(np.zeros((3, 4))).shape
        (3, 2)

    """

    def insert(self, module: Module, index: int | None = None) -> Sequential:
        """Insert ``module`` before position ``index`` (default: at the end)."""
        self._refuse_repeat(module, "insert")
        self.modules.insert(len(self.modules) if index is None else index, module)
        return self

    def remove(self, index: int = -1) -> Sequential:
        """Remove the child at ``index`` (default: the last one)."""
        if not self.modules:
            self.fail("cannot remove from an empty Sequential", IndexError)
        del self.modules[index]
        return self

    def updateOutput(self, input: Any) -> Any:
        if self._deferred is not None:
            self._outdate_deferred("a forward pass replaced the outputs it needs")
        current = input
        try:
            for module in self.modules:
                current = module.forward(current)
        except Exception as exc:
            locate(exc, self, module)
            raise
        self.output = current
        return current

    def updateParameters(self, learningRate: float) -> None:
        if self._deferred is not None:
            self._outdate_deferred("updateParameters changed the parameters")
        super().updateParameters(learningRate)

    def reset(self, rng: int | np.random.Generator | None = None, *, stdv: float | None = None) -> Module:
        if self._deferred is not None:
            self._outdate_deferred("reset changed the parameters")
        return super().reset(rng, stdv=stdv)

    def clearState(self) -> Module:
        self._deferred = None  # (type() calls this too: gradInput is emptied, as every module's is)
        return super().clearState()

    def _inputs(self, input: Any) -> list[Any]:
        """The input each child saw in the last forward pass."""
        return [input] + [module.output for module in self.modules[:-1]]

    #: the input gradient that a backward whose result was dropped skipped: (input, gradOutput of child p, p),
    #: or, once what it needs has changed, the reason it can no longer be computed
    _deferred: tuple[Any, Any, int] | str | None = None

    def _outdate_deferred(self, reason: str) -> None:
        """What the skipped input gradient needs has changed: reading ``gradInput`` now raises, naming ``reason``."""
        self._deferred = reason

    @property
    def gradInput(self) -> Any:
        """``∂L/∂input`` of the last backward (computed now if that backward skipped it: see ``backward``)."""
        deferred = self._deferred
        if isinstance(deferred, str):
            raise ProtocolError(
                f"{self.describe()}: gradInput was not computed by the last backward (its result was dropped, so "
                f"the first layer skipped it) and can no longer be: {deferred} since; keep backward's result "
                "(gradInput = net.backward(input, gradOutput)) when you need it")
        if deferred is not None:
            self._deferred = None
            input, grad, first = deferred
            modules = self.modules
            try:
                for i in range(first, -1, -1):
                    module = modules[i]
                    grad = module.updateGradInput(modules[i - 1].output if i else input, grad)
            except Exception as exc:
                locate(exc, self, module)
                raise
            self._grad_input = grad
        return self._grad_input

    @gradInput.setter
    def gradInput(self, value: Any) -> None:
        self._deferred = None
        self._grad_input = value

    def _first_trained(self) -> int | None:
        """The index of the first child with parameters when it ``skips_gradInput`` and every child before it is
        a leaf without parameters (a ``View``, say): the children whose input gradients nobody needs when
        this container's own is not asked for. ``None`` otherwise.
        """
        for i, module in enumerate(self.modules):
            if module.skips_gradInput:
                return i
            if module.children() or module._declared():
                return None
        return None

    def backward(self, input: Any, gradOutput: Any, scale: float = 1.0) -> Any:
        """Backward through the children in reverse; return ``gradInput``.

        When this call's result is dropped (``net.backward(x, g)`` written as a statement, as the seeds write
        it) nothing asks for ``∂L/∂x``: a first trained child that can do without it (``skips_gradInput``: a
        ``Linear`` or a convolution fed with data, after parameter-free leaves such as a ``View``) computes only
        its parameter gradients, and the leaves before it nothing. Reading ``net.gradInput`` afterwards
        computes it then; after a forward, ``updateParameters`` or ``reset`` it raises a ``ProtocolError``
        instead (what it needs has changed). An optimizer writing into ``getParameters()``'s flat vector
        cannot be seen: read it before the step, or keep backward's result. Those children's own ``gradInput``
        is not updated by such a call. Using the result (``g = net.backward(x, gOut)``, as containers and
        ``ember.check`` do) computes it as always.
        """
        if input is not self._input:
            self.check_backward_input(input)
        modules = self.modules
        grad = gradOutput  # (checked by the child it goes to, whose error names it)
        first = None
        if type(input) is np.ndarray:
            caller = sys._getframe(1)
            dropped = _DROPPED.get((caller.f_code, caller.f_lasti))  # (result_dropped's cache, read inline)
            if dropped or (dropped is None and result_dropped(caller)):
                first = self._first_trained()
        try:
            for i in range(len(modules) - 1, 0 if first is None else first, -1):
                module = modules[i]
                grad = module.backward(modules[i - 1].output, grad, scale)
            if first is not None:
                module = modules[first]
                output = module.output
                if type(grad) is np.ndarray and type(output) is np.ndarray and grad.shape != output.shape:
                    module.fail(f"expected gradOutput of shape {output.shape} (the output's), got {grad.shape}")
                module.accGradParameters(modules[first - 1].output if first else input, grad, scale)
                self._grad_input = None
                self._deferred = (input, grad, first)
                return None
            if modules:
                module = modules[0]
                grad = module.backward(input, grad, scale)
        except Exception as exc:
            locate(exc, self, module)
            raise
        self.gradInput = grad
        return grad

    def updateGradInput(self, input: Any, gradOutput: Any) -> Any:
        modules = self.modules
        grad = gradOutput
        try:
            for i in range(len(modules) - 1, 0, -1):
                module = modules[i]
                grad = module.updateGradInput(modules[i - 1].output, grad)
            if modules:
                module = modules[0]
                grad = module.updateGradInput(input, grad)
        except Exception as exc:
            locate(exc, self, module)
            raise
        self.gradInput = grad
        return grad

    def accGradParameters(self, input: Any, gradOutput: Any, scale: float = 1.0) -> None:
        grads = [module.gradInput for module in self.modules[1:]] + [gradOutput]
        try:
            for module, module_input, grad in zip(self.modules, self._inputs(input), grads):
                module.accGradParameters(module_input, grad, scale)
        except Exception as exc:
            locate(exc, self, module)
            raise

    def __repr__(self) -> str:
        steps = " -> ".join(f"({i})" for i in range(len(self.modules)))
        lines = ["nn.Sequential {", f"  [input -> {steps} -> output]" if steps else "  [input -> output]"]
        lines += [f"  ({i}): {_indent(repr(m), '  ')}" for i, m in enumerate(self.modules)]
        return "\n".join(lines + ["}"])


class _Branching(Container):
    """Shared printing of containers whose children all see the input (Torch's layout)."""

    _branch = "|`-> "

    def __repr__(self) -> str:
        lines = [f"nn.{type(self).__name__} {{", "  input"]
        lines += [f"    {self._branch}({i}): {_indent(repr(m), '    |      ')}"
                  for i, m in enumerate(self.modules)]
        return "\n".join(lines + ["     ... -> output", "}"])


class Concat(_Branching):
    """Apply every child to the same input and concatenate the outputs along ``dim`` (0-based).

    Backward gives each child its slice of ``gradOutput`` and sums the children's
    ``gradInput``: ∂L/∂x = Σ_i J_iᵀ g_i.
    """

    def __init__(self, dim: int, *modules: Module) -> None:
        super().__init__(*modules)
        self.dim = dim

    def config(self) -> dict[str, Any]:
        return {"dim": self.dim}

    def extra_repr(self) -> str:
        return str(self.dim)

    def checkInput(self, input: Any) -> None:
        if not self.modules:
            self.fail("has no modules to apply", IndexError)

    def updateOutput(self, input: Any) -> np.ndarray:
        outputs = self._each(lambda i, module: module.forward(input))
        first = outputs[0]
        if not -first.ndim <= self.dim < first.ndim:
            self.fail(f"cannot concatenate along dim {self.dim} outputs of {first.ndim} dimensions")
        axis = self.dim % first.ndim
        shape = list(first.shape)
        shape[axis] = sum(out.shape[axis] for out in outputs)
        def outside(shape):
            return shape[:axis] + shape[axis + 1:]

        for out in outputs[1:]:
            if out.ndim != first.ndim or outside(out.shape) != outside(first.shape):
                self.fail(f"children's outputs {[o.shape for o in outputs]} differ outside dim {self.dim}")
        self.output = resized(self.output, first, tuple(shape))
        np.concatenate(outputs, axis=axis, out=self.output)
        return self.output

    def _slices(self) -> list[tuple[slice, ...]]:
        axis = self.dim % self.output.ndim
        slices, offset = [], 0
        for module in self.modules:
            width = module.output.shape[axis]
            slices.append((slice(None),) * axis + (slice(offset, offset + width),))
            offset += width
        return slices

    def _sum_children(self, input: Any, gradOutput: np.ndarray, step) -> np.ndarray:
        slices = self._slices()
        grads = self._each(lambda i, module: step(module, gradOutput[slices[i]]))
        for i, grad in enumerate(grads):
            if i == 0:
                self.gradInput = copy_into(self.gradInput, grad)
            else:
                self.gradInput = accumulate(self.gradInput, grad)
        return self.gradInput

    def backward(self, input: Any, gradOutput: np.ndarray, scale: float = 1.0) -> Any:
        if input is not self._input:
            self.check_backward_input(input)
        if gradOutput is not self._grad_output:
            gradOutput = self.check_grad_output(gradOutput)
        return self._sum_children(input, gradOutput, lambda m, g: m.backward(input, g, scale))

    def updateGradInput(self, input: Any, gradOutput: np.ndarray) -> Any:
        return self._sum_children(input, gradOutput, lambda m, g: m.updateGradInput(input, g))

    def accGradParameters(self, input: Any, gradOutput: np.ndarray, scale: float = 1.0) -> None:
        slices = self._slices()
        self._each(lambda i, module: module.accGradParameters(input, gradOutput[slices[i]], scale))


class ConcatTable(_Branching):
    """Apply every child to the same input; the output is the list of their outputs.

    Backward sums the children's ``gradInput`` (arrays or tables).
    """

    def updateOutput(self, input: Any) -> list[Any]:
        self.output = self._each(lambda i, module: module.forward(input))
        return self.output

    def checkInput(self, input: Any) -> None:
        if not self.modules:
            self.fail("has no modules to apply", IndexError)

    def _sum_children(self, gradOutput: list[Any], step) -> Any:
        self.check_grad_output(gradOutput)
        grads = self._each(lambda i, module: step(module, gradOutput[i]))
        for i, grad in enumerate(grads):
            self.gradInput = copy_into(self.gradInput, grad) if i == 0 else accumulate(self.gradInput, grad)
        return self.gradInput

    def backward(self, input: Any, gradOutput: list[Any], scale: float = 1.0) -> Any:
        if input is not self._input:
            self.check_backward_input(input)
        return self._sum_children(gradOutput, lambda m, g: m.backward(input, g, scale))

    def updateGradInput(self, input: Any, gradOutput: list[Any]) -> Any:
        return self._sum_children(gradOutput, lambda m, g: m.updateGradInput(input, g))

    def accGradParameters(self, input: Any, gradOutput: list[Any], scale: float = 1.0) -> None:
        self._each(lambda i, module: module.accGradParameters(input, gradOutput[i], scale))


class ParallelTable(_Branching):
    """Apply the i-th child to the i-th entry of a list input; the output is the list of results."""

    _branch = "|-> "

    def checkInput(self, input: Any) -> None:
        if not isinstance(input, list) or len(input) != len(self.modules):
            got = f"a list of length {len(input)}" if isinstance(input, list) else type(input).__name__
            self.fail(f"expected a list of {len(self.modules)} inputs (one per module), got {got}")

    def updateOutput(self, input: list[Any]) -> list[Any]:
        self.output = self._each(lambda i, module: module.forward(input[i]))
        return self.output

    def backward(self, input: list[Any], gradOutput: list[Any], scale: float = 1.0) -> list[Any]:
        if input is not self._input:
            self.check_backward_input(input)
        self.check_grad_output(gradOutput)
        self.gradInput = self._each(lambda i, module: module.backward(input[i], gradOutput[i], scale))
        return self.gradInput

    def updateGradInput(self, input: list[Any], gradOutput: list[Any]) -> list[Any]:
        self.check_grad_output(gradOutput)
        self.gradInput = self._each(lambda i, module: module.updateGradInput(input[i], gradOutput[i]))
        return self.gradInput

    def accGradParameters(self, input: list[Any], gradOutput: list[Any], scale: float = 1.0) -> None:
        self._each(lambda i, module: module.accGradParameters(input[i], gradOutput[i], scale))


class Parallel(Container):
    """Applies the i-th child to the i-th slice of the input along ``input_dim`` and concatenates the
    outputs along ``output_dim`` (Torch's ``nn.Parallel``; both dims 0-based).

    Backward: child ``i`` gets its part of ``gradOutput``; its ``gradInput`` fills slice ``i``.

    Args:
        input_dim: the dimension the input is split along (one slice per child).
        output_dim: the dimension the outputs are joined along.

    """

    def __init__(self, input_dim: int, output_dim: int, *modules: Module) -> None:
        super().__init__(*modules)
        self.input_dim, self.output_dim = input_dim, output_dim

    def config(self) -> dict[str, Any]:
        return {"input_dim": self.input_dim, "output_dim": self.output_dim}

    def checkInput(self, input: Any) -> None:
        if not isinstance(input, np.ndarray) or not -input.ndim <= self.input_dim < input.ndim:
            self.fail(f"expected an array with a dim {self.input_dim}, got {getattr(input, 'shape', input)}")
        if input.shape[self.input_dim] != len(self.modules):
            self.fail(f"expected {len(self.modules)} slices along dim {self.input_dim} (one per module), "
                      f"got {input.shape[self.input_dim]}")

    def _slices(self, input: np.ndarray) -> list[np.ndarray]:
        return [np.take(input, i, axis=self.input_dim) for i in range(len(self.modules))]

    def updateOutput(self, input: np.ndarray) -> np.ndarray:
        outputs = [m.forward(x) for m, x in zip(self.modules, self._slices(input))]
        self.output = np.concatenate(outputs, axis=self.output_dim)
        return self.output

    def _parts(self, gradOutput: np.ndarray) -> list[np.ndarray]:
        sizes = np.cumsum([m.output.shape[self.output_dim] for m in self.modules])[:-1]
        return np.split(gradOutput, sizes, axis=self.output_dim)

    def updateGradInput(self, input: np.ndarray, gradOutput: np.ndarray) -> np.ndarray:
        grads = [m.updateGradInput(x, g) for m, x, g in zip(self.modules, self._slices(input), self._parts(gradOutput))]
        self.gradInput = np.stack(grads, axis=self.input_dim)
        return self.gradInput

    def accGradParameters(self, input: np.ndarray, gradOutput: np.ndarray, scale: float = 1.0) -> None:
        for m, x, g in zip(self.modules, self._slices(input), self._parts(gradOutput)):
            m.accGradParameters(x, g, scale)

    def extra_repr(self) -> str:
        return f"{self.input_dim}, {self.output_dim}"


class DepthConcat(Concat):
    """``Concat`` for outputs of different sizes (Torch's ``nn.DepthConcat``, Inception's filter
    concatenation): the outputs are joined along ``dim`` in an array as large as the largest in every
    other dimension, each centred in it (offset ``⌊(max − size)/2⌋``) and zero elsewhere.

    Backward: each child gets the window of ``gradOutput`` its output occupies.
    """

    def updateOutput(self, input: Any) -> np.ndarray:
        outputs = [module.forward(input) for module in self.modules]
        first = outputs[0]
        if any(o.ndim != first.ndim for o in outputs) or not -first.ndim <= self.dim < first.ndim:
            self.fail(f"cannot join along dim {self.dim} outputs of shapes {[o.shape for o in outputs]}")
        axis = self.dim % first.ndim
        shape = [max(o.shape[d] for o in outputs) for d in range(first.ndim)]
        shape[axis] = sum(o.shape[axis] for o in outputs)
        self.output = resized(self.output, first, tuple(shape))
        self.output.fill(0.0)
        for window, out in zip(self._windows(), outputs):
            self.output[window] = out
        return self.output

    def _windows(self) -> list[tuple[slice, ...]]:
        axis = self.dim % self.output.ndim
        windows, offset = [], 0
        for module in self.modules:
            size = module.output.shape
            window = []
            for d in range(self.output.ndim):
                if d == axis:
                    window.append(slice(offset, offset + size[d]))
                else:
                    start = (self.output.shape[d] - size[d]) // 2
                    window.append(slice(start, start + size[d]))
            windows.append(tuple(window))
            offset += size[axis]
        return windows

    def _slices(self) -> list[tuple[slice, ...]]:
        return self._windows()


def _parameter_attributes(module: Module) -> list[str]:
    """The names of every parameter and gradient attribute in ``module``'s tree."""
    names: list[str] = []
    for m in module.listModules():
        for pair in m.declared_parameters().items():
            names.extend(n for n in pair if n not in names)
    return names


class MapTable(Container):
    """Applies one module to every entry of a table (Torch's ``nn.MapTable``): ``[x1, x2, …]`` →
    ``[f(x1), f(x2), …]``, through clones of the module that share its parameters and gradients (so the
    gradients of all entries add up in the module's).

    Backward: entry by entry, each through its clone.

    Args:
        module: the module to apply.

    """

    def __init__(self, module: Module | None = None) -> None:
        super().__init__()
        self._clones: list[Module] = []
        if module is not None:
            self.add(module)

    def config(self) -> dict[str, Any]:
        return {}  # its module is its child, saved as a container's are

    def add(self, module: Module) -> MapTable:
        if self.modules:
            self.fail("holds one module (use a container to apply several)")
        return super().add(module)

    def checkInput(self, input: Any) -> None:
        if not self.modules:
            self.fail("has no module to apply", IndexError)
        if not isinstance(input, list):
            self.fail(f"expected a list of inputs, got {type(input).__name__}", TypeError)

    def _clone(self, i: int) -> Module:
        """The i-th clone (the module itself for i = 0), sharing the module's current parameter arrays."""
        module = self.modules[0]
        if i == 0:
            return module
        names = _parameter_attributes(module)
        while len(self._clones) < i:
            self._clones.append(module.clone(*names))
        clone = self._clones[i - 1]
        clone.share(module, *names)
        clone.train = module.train
        return clone

    def updateOutput(self, input: list[Any]) -> list[Any]:
        self.output = [self._clone(i).forward(x) for i, x in enumerate(input)]
        return self.output

    def updateGradInput(self, input: list[Any], gradOutput: list[Any]) -> list[Any]:
        self.gradInput = [self._clone(i).updateGradInput(x, g) for i, (x, g) in enumerate(zip(input, gradOutput))]
        return self.gradInput

    def accGradParameters(self, input: list[Any], gradOutput: list[Any], scale: float = 1.0) -> None:
        for i, (x, g) in enumerate(zip(input, gradOutput)):
            self._clone(i).accGradParameters(x, g, scale)

    def type(self, dtype: Any) -> Module:
        self._clones = []
        return super().type(dtype)

    def clearState(self) -> Module:
        self._clones = []
        return super().clearState()


class Bottle(Container):
    """Applies a module to inputs with extra leading dimensions by folding them into one batch (Torch's
    ``nn.Bottle``): an input of more than ``n_input_dim`` dimensions is viewed as
    ``(prod(leading), *last n_input_dim − 1)``, passed through the module, and the output's leading
    dimension unfolded again (its last ``n_output_dim − 1`` dimensions kept).

    Backward: the same folding of ``gradOutput``, and the unfolding of the module's ``gradInput``.

    Args:
        module: the module (e.g. a ``Linear`` on ``(batch, features)``).
        n_input_dim: the dimensions the module takes, batch included (default 2).
        n_output_dim: the dimensions it returns (default ``n_input_dim``).

    """

    def __init__(self, module: Module | None = None, n_input_dim: int = 2, n_output_dim: int | None = None) -> None:
        super().__init__(*([] if module is None else [module]))
        self.n_input_dim = n_input_dim
        self.n_output_dim = n_input_dim if n_output_dim is None else n_output_dim

    def config(self) -> dict[str, Any]:
        return {"n_input_dim": self.n_input_dim, "n_output_dim": self.n_output_dim}

    def checkInput(self, input: Any) -> None:
        if not isinstance(input, np.ndarray) or input.ndim < self.n_input_dim:
            self.fail(f"expected an array of at least {self.n_input_dim} dimensions, "
                      f"got {getattr(input, 'shape', type(input).__name__)}")

    def _fold(self, array: np.ndarray, n: int) -> np.ndarray:
        return array.reshape((-1,) + array.shape[array.ndim - n + 1:])

    def updateOutput(self, input: np.ndarray) -> np.ndarray:
        lead = input.shape[: input.ndim - self.n_input_dim + 1]
        out = self.modules[0].forward(self._fold(input, self.n_input_dim))
        self.output = out.reshape(lead + out.shape[1:])
        return self.output

    def updateGradInput(self, input: np.ndarray, gradOutput: np.ndarray) -> np.ndarray:
        grad = self.modules[0].updateGradInput(self._fold(input, self.n_input_dim),
                                               self._fold(gradOutput, self.n_output_dim))
        self.gradInput = grad.reshape(input.shape)
        return self.gradInput

    def accGradParameters(self, input: np.ndarray, gradOutput: np.ndarray, scale: float = 1.0) -> None:
        self.modules[0].accGradParameters(self._fold(input, self.n_input_dim),
                                          self._fold(gradOutput, self.n_output_dim), scale)

    def extra_repr(self) -> str:
        return f"{self.n_input_dim} -> {self.n_output_dim}"
