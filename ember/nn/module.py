"""Module: the base class of every layer and container (Torch's ``nn.Module``).

A module maps an input to an output and knows its own backward pass. Subclasses
implement three hooks and never override ``forward``/``backward``:

* ``updateOutput(input)`` computes ``self.output``;
* ``updateGradInput(input, gradOutput)`` computes ``self.gradInput`` = ∂L/∂input;
* ``accGradParameters(input, gradOutput, scale)`` *adds* ``scale`` · ∂L/∂θ to
  the gradient of each parameter θ (``gradWeight``, ``gradBias``).

Outputs and gradients are written into buffers that are reused while the shape
and dtype stay the same (Torch's ``resizeAs``): a caller that keeps an output
across calls must copy it.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterator
from typing import Any, NoReturn

import numpy as np

from ember.blas import add_scaled


def resized(buffer: Any, like: np.ndarray, shape: tuple[int, ...] | None = None) -> np.ndarray:
    """Return ``buffer`` when it already has ``shape`` (default ``like.shape``) and
    ``like``'s dtype, else a new uninitialised array shaped so (Torch's ``resize``).

    New buffers are C-contiguous whatever ``like``'s layout, so that their reshapes are views
    and BLAS and ``np.dot`` can write into them.
    """
    if shape is None:
        shape = like.shape
    if type(buffer) is np.ndarray and buffer.shape == shape and buffer.dtype == like.dtype:
        return buffer
    return np.empty(shape, dtype=like.dtype)


def filled(buffer: Any, like: np.ndarray, value: float, shape: tuple[int, ...] | None = None) -> np.ndarray:
    """As :func:`resized`, but a new array is filled with ``value``: for the constant arrays a module
    keeps (zeros to compare with or to pad around, ones to sum with), set once, when they are made.
    """
    if shape is None:
        shape = like.shape
    if type(buffer) is np.ndarray and buffer.shape == shape and buffer.dtype == like.dtype:
        return buffer
    return np.full(shape, value, dtype=like.dtype)


def empty_like_state(state: Any) -> Any:
    """An empty buffer of the same kind as ``state``: ``[]`` for a table, ``None`` for ``None``
    (a ``gradInput`` switched off stays off), else a 0-size array.
    """
    if state is None:
        return None
    if isinstance(state, list):
        return []
    dtype = state.dtype if isinstance(state, np.ndarray) else np.float64
    return np.empty(0, dtype=dtype)


def _memory_key(array: np.ndarray) -> tuple:
    """Identify the memory an array covers: equal keys mean the same parameter."""
    return (array.__array_interface__["data"][0], array.shape, array.strides)


def _address(array: np.ndarray) -> int:
    return array.__array_interface__["data"][0]


def _existing_flat(unique: list[tuple[np.ndarray, np.ndarray]]) -> tuple[np.ndarray, np.ndarray] | None:
    """The flat arrays of an earlier ``getParameters()``, if every (parameter, gradient) pair still
    lies in them, in order and without gaps; else ``None``.
    """
    if not unique:
        return None
    flat_params, flat_grads = unique[0][0].base, unique[0][1].base
    if not (isinstance(flat_params, np.ndarray) and isinstance(flat_grads, np.ndarray)
            and flat_params.ndim == flat_grads.ndim == 1):
        return None
    offset = 0
    for param, grad in unique:
        for array, flat in ((param, flat_params), (grad, flat_grads)):
            if (array.base is not flat or not array.flags.c_contiguous
                    or _address(array) != _address(flat) + offset * flat.itemsize):
                return None
        offset += param.size
    return (flat_params, flat_grads) if offset == flat_params.size == flat_grads.size else None


class Module:
    """Base class of all modules; see the module docstring for the protocol.

    Attributes:
        output: the result of the last ``forward`` (a reused buffer).
        gradInput: the result of the last ``backward`` (a reused buffer).
        train: ``True`` in training mode, ``False`` after ``evaluate()``.

    """

    #: (parameter, gradient) attribute names that ``parameters()`` collects.
    _parameter_names: tuple[tuple[str, str], ...] = (("weight", "gradWeight"), ("bias", "gradBias"))
    #: names of scratch arrays that ``clearState()`` drops and ``type()`` re-creates.
    _buffers: tuple[str, ...] = ()
    #: the axis along which a batch input stacks its examples (1 for sequences ``(T, N, F)``).
    batch_dim: int = 0

    def __new__(cls, *args: Any, **kwargs: Any) -> Module:
        """Remember the constructor arguments, so that ``ember.io`` can describe the architecture."""
        self = super().__new__(cls)
        self._constructor_args = (args, kwargs)
        return self

    def __init__(self) -> None:
        self.output: Any = np.empty(0)
        self.gradInput: Any = np.empty(0)
        self.train = True
        self._checked_shape: tuple[int, ...] | None = None
        self._checked_dtype: np.dtype | None = None

    # -- the protocol -------------------------------------------------------------------------

    def forward(self, input: Any) -> Any:
        """Compute and return ``self.output``; the input is checked once per new shape and dtype."""
        if type(input) is np.ndarray:
            if input.shape != self._checked_shape or input.dtype != self._checked_dtype:
                self.checkInput(input)
                self._checked_shape, self._checked_dtype = input.shape, input.dtype
        else:
            self.checkInput(input)
        return self.updateOutput(input)

    def __call__(self, input: Any = None) -> Any:
        """``forward(input)``; but called on a graph node, a list of nodes or nothing, make a node
        of a graph instead (see :mod:`ember.nn.graph`).
        """
        if type(input) is np.ndarray:
            return self.forward(input)
        from ember.nn import graph

        if input is None or isinstance(input, graph.Node) or (
                type(input) is list and input and isinstance(input[0], graph.Node)):
            return graph.make_node(self, input)
        return self.forward(input)

    def backward(self, input: Any, gradOutput: Any, scale: float = 1.0) -> Any:
        """Compute ``self.gradInput`` and accumulate ``scale`` times the parameter gradients.

        Call ``forward(input)`` first, with the same input.
        """
        output = self.output
        if type(gradOutput) is np.ndarray and type(output) is np.ndarray and gradOutput.shape != output.shape:
            self.fail(f"expected gradOutput of shape {output.shape} (the output's), got {gradOutput.shape}")
        self.updateGradInput(input, gradOutput)
        self.accGradParameters(input, gradOutput, scale)
        return self.gradInput

    def updateOutput(self, input: Any) -> Any:
        raise NotImplementedError(f"{type(self).__name__} must implement updateOutput")

    def updateGradInput(self, input: Any, gradOutput: Any) -> Any:
        raise NotImplementedError(f"{type(self).__name__} must implement updateGradInput")

    def accGradParameters(self, input: Any, gradOutput: Any, scale: float = 1.0) -> None:
        """Accumulate parameter gradients; modules without parameters have nothing to do."""

    def checkInput(self, input: Any) -> None:
        """Raise a clear error unless ``input`` is what ``updateOutput`` accepts.

        The default accepts any floating-point array of the parameters' dtype.
        Subclasses extend it with shape checks (``self.fail(...)``).
        """
        if not isinstance(input, np.ndarray):
            self.fail(f"expected a NumPy array, got {type(input).__name__}", TypeError)
        if not np.issubdtype(input.dtype, np.floating):
            self.fail(f"expected a floating-point array, got dtype {input.dtype}", TypeError)
        params = self._own_parameters()
        if params and input.dtype != params[0].dtype:
            self.fail(f"expected input of dtype {params[0].dtype} (the parameters'), got {input.dtype}; "
                      f"convert the input or call .type({input.dtype.name!r})", TypeError)

    def fail(self, message: str, error: type[Exception] = ValueError) -> NoReturn:
        """Raise ``error`` with a message that starts with this module's description."""
        raise error(f"{self.describe()}: {message}")

    # -- structure ----------------------------------------------------------------------------

    def children(self) -> list[Module]:
        """The direct sub-modules (none for a leaf module; containers override)."""
        return []

    def listModules(self) -> list[Module]:
        """Return this module and all its descendants, depth first (Torch's ``listModules``)."""
        found = [self]
        for child in self.children():
            found.extend(child.listModules())
        return found

    def findModules(self, kind: type | str) -> list[Module]:
        """All modules in the tree that are instances of ``kind`` (a class, or a class name)."""
        if isinstance(kind, str):
            return [m for m in self.listModules() if type(m).__name__ == kind]
        return [m for m in self.listModules() if isinstance(m, kind)]

    def apply(self, fn: Callable[[Module], None]) -> Module:
        """Call ``fn`` on this module and every descendant; return ``self``."""
        for module in self.listModules():
            fn(module)
        return self

    # -- parameters ---------------------------------------------------------------------------

    def _own_parameters(self) -> list[np.ndarray]:
        return [p for name, _ in self._parameter_names if (p := getattr(self, name, None)) is not None]

    def _parameter_slots(self) -> Iterator[tuple[Module, str, str]]:
        """(module, parameter name, gradient name) for every parameter in the tree."""
        for module in self.listModules():
            for name, grad_name in module._parameter_names:
                if getattr(module, name, None) is not None:
                    yield module, name, grad_name

    def parameters(self) -> tuple[list[np.ndarray], list[np.ndarray]]:
        """Two lists, the parameter arrays and their gradients; a shared parameter (the same array
        object, as ``share``/``clone`` and ``getParameters`` make it) appears once.
        """
        params, grads, seen = [], [], set()
        for module, name, grad_name in self._parameter_slots():
            param = getattr(module, name)
            if id(param) not in seen:
                seen.add(id(param))
                params.append(param)
                grads.append(getattr(module, grad_name))
        return params, grads

    def getParameters(self) -> tuple[np.ndarray, np.ndarray]:
        """Flatten all parameters into one 1-D array and all gradients into another.

        Every module's parameters and gradients become views of these two arrays,
        so updating the flat parameters updates the model. Parameters shared
        between modules take one slot, and their modules accumulate into the same
        gradient slot. Calling it again returns the same two arrays (as Torch does)
        while the parameters still lie in them; after ``type()``, or after adding
        modules or replacing a parameter, it re-flattens into new arrays, and
        flat vectors obtained earlier no longer drive the model.
        """
        slots = list(self._parameter_slots())
        index_of: dict[tuple, int] = {}
        unique: list[tuple[np.ndarray, np.ndarray]] = []
        slot_index = []
        grads_shared_alike = True
        for module, name, grad_name in slots:
            param, grad = getattr(module, name), getattr(module, grad_name)
            key = _memory_key(param)
            if key not in index_of:
                index_of[key] = len(unique)
                unique.append((param, grad))
            elif _memory_key(grad) != _memory_key(unique[index_of[key]][1]):
                grads_shared_alike = False
            slot_index.append(index_of[key])
        existing = _existing_flat(unique) if grads_shared_alike else None
        if existing is not None:
            return existing
        dtypes = {param.dtype for param, _ in unique}
        if len(dtypes) > 1:
            self.fail(f"parameters have mixed dtypes {sorted(map(str, dtypes))}; call .type() first", TypeError)
        dtype = dtypes.pop() if dtypes else np.float64
        total = sum(param.size for param, _ in unique)
        flat_params = np.empty(total, dtype=dtype)
        flat_grads = np.empty(total, dtype=dtype)
        views = []
        offset = 0
        for param, grad in unique:
            end = offset + param.size
            param_view = flat_params[offset:end].reshape(param.shape)
            grad_view = flat_grads[offset:end].reshape(param.shape)
            param_view[...] = param
            grad_view[...] = grad
            views.append((param_view, grad_view))
            offset = end
        for (module, name, grad_name), index in zip(slots, slot_index):
            setattr(module, name, views[index][0])
            setattr(module, grad_name, views[index][1])
        return flat_params, flat_grads

    def zeroGradParameters(self) -> None:
        """Set every parameter gradient to zero (``backward`` only ever adds to them)."""
        for _, grad_name in self._parameter_names:
            grad = getattr(self, grad_name, None)
            if grad is not None:
                grad.fill(0)
        for child in self.children():
            child.zeroGradParameters()

    def updateParameters(self, learningRate: float) -> None:
        """Plain gradient step: θ ← θ − learningRate · ∂L/∂θ for every parameter."""
        for param, grad in zip(*self.parameters()):
            add_scaled(param, grad, -learningRate)

    def reset(self, rng: np.random.Generator | None = None) -> Module:
        """Re-initialise the parameters as Torch does (nothing to do without parameters)."""
        return self

    def share(self, other: Module, *names: str) -> Module:
        """Make this module use ``other``'s arrays for the attributes ``names`` (e.g.
        ``'weight', 'bias', 'gradWeight', 'gradBias'``), through the whole tree.
        """
        mine, theirs = self.listModules(), other.listModules()
        if [type(m) for m in mine] != [type(m) for m in theirs]:
            self.fail(f"cannot share with {other.describe()}: the module trees differ")
        for target, source in zip(mine, theirs):
            for name in names:
                value = getattr(source, name, None)
                if value is not None:
                    setattr(target, name, value)
        return self

    def clone(self, *names: str) -> Module:
        """A deep copy; with ``names``, the copy shares those attributes with this module."""
        twin = copy.deepcopy(self)
        if names:
            twin.share(self, *names)
        return twin

    def sharedClone(self, shareParams: bool = True, shareGradParams: bool = True) -> Module:
        """A deep copy that shares the parameters and/or their gradients with this module, through the whole
        tree (Torch's ``sharedClone``): training either trains both.
        """
        names: list[str] = []
        for module in self.listModules():
            for name, grad_name in module._parameter_names:
                for attribute, wanted in ((name, shareParams), (grad_name, shareGradParams)):
                    if wanted and attribute not in names:
                        names.append(attribute)
        return self.clone(*names)

    def replace(self, fn: Callable[[Module], Module]) -> Module:
        """Return ``fn(self)``, after replacing every child ``c`` in ``modules`` by ``c.replace(fn)``, depth
        first (Torch's ``replace``): e.g. ``net.replace(lambda m: nn.Identity() if isinstance(m, nn.Dropout)
        else m)`` removes the dropout layers' effect.
        """
        out = fn(self)
        children = getattr(self, "modules", None)
        if isinstance(children, list):
            for i, child in enumerate(children):
                children[i] = child.replace(fn)
        return out

    def accUpdateGradParameters(self, input: Any, gradOutput: Any, learningRate: float) -> None:
        """Update the parameters in place by ``θ ← θ − learningRate · ∂L/∂θ`` without touching the gradients
        (Torch's ``accUpdateGradParameters``): the gradients are pointed at the parameters while
        ``accGradParameters`` runs with ``scale = −learningRate``. Call ``forward`` and ``backward`` (or
        ``updateGradInput``) first, as for ``accGradParameters``.
        """
        slots = list(self._parameter_slots())
        saved = [getattr(module, grad_name) for module, _, grad_name in slots]
        try:
            for module, name, grad_name in slots:
                setattr(module, grad_name, getattr(module, name))
            self.accGradParameters(input, gradOutput, -learningRate)
        finally:
            for (module, _, grad_name), grad in zip(slots, saved):
                setattr(module, grad_name, grad)

    # -- modes, types, state ------------------------------------------------------------------

    def training(self) -> Module:
        """Switch this module and its descendants to training mode."""
        for module in self.listModules():
            module.train = True
        return self

    def evaluate(self) -> Module:
        """Switch this module and its descendants to evaluation mode (e.g. dropout off)."""
        for module in self.listModules():
            module.train = False
        return self

    def type(self, dtype: Any) -> Module:
        """Convert parameters and gradients to ``dtype`` (new arrays) and drop buffers."""
        dtype = np.dtype(dtype)
        self.clearState()
        for module in self.listModules():
            for name, grad_name in module._parameter_names:
                for attribute in (name, grad_name):
                    value = getattr(module, attribute, None)
                    if value is not None:
                        setattr(module, attribute, value.astype(dtype))
            module._convert_state(dtype)
            if isinstance(module.output, np.ndarray):
                module.output = np.empty(0, dtype=dtype)
            if isinstance(module.gradInput, np.ndarray):
                module.gradInput = np.empty(0, dtype=dtype)
        return self

    def _convert_state(self, dtype: np.dtype) -> None:
        """Convert floating-point state other than parameters (hook for e.g. running statistics)."""

    def float(self) -> Module:
        """Convert to float32 (Torch's ``:float()``)."""
        return self.type(np.float32)

    def double(self) -> Module:
        """Convert to float64 (Torch's ``:double()``)."""
        return self.type(np.float64)

    def clearState(self) -> Module:
        """Drop outputs, gradInputs and scratch buffers (e.g. before saving)."""
        for module in self.listModules():
            module.output = empty_like_state(module.output)
            module.gradInput = empty_like_state(module.gradInput)
            module._checked_shape = module._checked_dtype = None
            for name in module._buffers:
                setattr(module, name, None)
        return self

    # -- printing -----------------------------------------------------------------------------

    def extra_repr(self) -> str:
        """The text inside the parentheses when printed, e.g. ``'4 -> 2'`` for a Linear."""
        return ""

    def describe(self) -> str:
        """One line naming the module, as used in error messages: ``Linear(4 -> 2)``."""
        extra = self.extra_repr()
        return f"{type(self).__name__}({extra})" if extra else type(self).__name__

    def __repr__(self) -> str:
        return "nn." + self.describe()
