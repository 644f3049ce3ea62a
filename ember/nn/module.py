"""Module: the base class of every layer and container (Torch's ``nn.Module``).

A module maps an input to an output and knows its own backward pass. Subclasses
implement three hooks and never override ``forward``/``backward``:

* ``updateOutput(input)`` computes ``self.output``;
* ``updateGradInput(input, gradOutput)`` computes ``self.gradInput`` = ∂L/∂input;
* ``accGradParameters(input, gradOutput, scale)`` *adds* ``scale`` · ∂L/∂θ to
  the gradient of each parameter θ (``gradWeight``, ``gradBias``).

A module declares its state, and everything else (``parameters()``, ``type()``,
``clone()``, ``ember.check``, ``ember.io``, the optimizers, ``fit``) reads only
the declarations:

* ``self.register_parameter("weight", array)`` sets ``self.weight`` and its gradient
  ``self.gradWeight`` (zeros): trained, checked, converted, saved;
* ``self.register_buffer("running_mean", array)``: saved and converted, not trained;
* ``config()`` returns the constructor's arguments by name, so that a saved module can be
  rebuilt (``type(m).from_config(m.config())``); setters such as ``ceil()`` change the
  attributes that ``config()`` reads.

Outputs and gradients are written into buffers that are reused while the shape
and dtype stay the same (Torch's ``resizeAs``): a caller that keeps an output
across calls must copy it.
"""

from __future__ import annotations

import copy
import inspect
import numbers
import operator
import sys
from collections.abc import Callable, Iterator
from types import MappingProxyType
from typing import Any, NoReturn

import numpy as np

from ember.blas import ScaledAdd, add_scaled
from ember.errors import INPUT_ERRORS, InputError, ProtocolError
from ember.nn.arguments import check_arguments


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


class _Probe:
    value: Any


def _calibrate_references() -> int:
    """What ``sys.getrefcount(getattr(m, name))`` counts beyond the module attribute itself."""
    probe = _Probe()
    probe.value = np.empty(1)
    return sys.getrefcount(probe.value) - 1


_OTHER_REFERENCES = _calibrate_references()


class _FlatStorage:
    """The flat parameters and gradients a tree's ``updateParameters``/``zeroGradParameters`` act on in
    one operation each, with what must still hold for them to be the tree's: the identity of every
    parameter and gradient array and of every container's children, and no parameter declared since.
    ``params is None`` records that the tree cannot be flattened without changing what others hold
    (then the two methods walk the tree), so that it is not tried again every step.
    """

    __slots__ = ("params", "grads", "step", "dicts", "names", "values", "families", "declarations")

    def __init__(self, root: Module, flat: tuple[np.ndarray, np.ndarray] | None) -> None:
        self.declarations = _DECLARATIONS[0]
        slots = list(root._parameter_slots())
        self.dicts, self.names, self.values = [], [], []  # the checks: dicts[i].get(names[i]) is values[i]
        for module, name, grad_name in slots:
            for attribute in (name, grad_name):
                if attribute not in module.__dict__:  # (a property, say: nothing to compare cheaply)
                    flat = None
                self.dicts.append(module.__dict__)
                self.names.append(attribute)
                self.values.append(module.__dict__.get(attribute))
        self.families = [(module, tuple(module.children())) for module in root.listModules()
                         if type(module).children is not Module.children]
        self.params, self.grads = flat if flat is not None else (None, None)
        self.step = None if flat is None else ScaledAdd(self.params, self.grads).call

    def valid(self) -> bool:
        if _DECLARATIONS[0] != self.declarations \
                or not all(map(operator.is_, map(dict.get, self.dicts, self.names), self.values)):  # (C loops)
            return False
        for module, children in self.families:
            if tuple(module.children()) != children:
                return False
        return True


#: how many parameters have been declared so far (by ``register_parameter``): flat storage built before
#: a declaration is checked again.
_DECLARATIONS = [0]
def leaf_count(value: Any) -> int:
    """The number of elements in an array or a (nested) table of arrays."""
    if isinstance(value, list):
        return sum(leaf_count(item) for item in value)
    return value.size if isinstance(value, np.ndarray) else 1


def _table_mismatch(output: list, gradOutput: Any, where: str = "") -> str | None:
    """How ``gradOutput`` differs from the table ``output`` (length, nesting, an entry's shape), or ``None``."""
    at = f" at {where}" if where else ""
    if not isinstance(gradOutput, list):
        return f"a list of {len(output)} entries{at}, got {type(gradOutput).__name__}"
    if len(gradOutput) != len(output):
        return f"a list of {len(output)} entries{at}, got {len(gradOutput)}"
    for i, (out, grad) in enumerate(zip(output, gradOutput)):
        here = f"{where}[{i}]"
        if isinstance(out, list):
            found = _table_mismatch(out, grad, here)
            if found is not None:
                return found
        elif isinstance(out, np.ndarray) and not (isinstance(grad, np.ndarray) and grad.shape == out.shape):
            got = grad.shape if isinstance(grad, np.ndarray) else type(grad).__name__
            return f"an array of shape {out.shape} at {here}, got {got}"
        elif isinstance(out, np.ndarray) and grad.dtype.kind != "f":
            return f"a floating-point array at {here}, got dtype {grad.dtype}"
    return None


def _describe_input(value: Any) -> str:
    if isinstance(value, np.ndarray):
        return f"an array of shape {value.shape}"
    if value is None:
        return "None"
    return f"a list of {len(value)}" if isinstance(value, list) else f"a {type(value).__name__}"


def _input_mismatch(before: Any, now: Any, where: str = "") -> str | None:
    """How the input ``now`` differs from ``before`` (a length, an entry's type, shape or dtype), or ``None``."""
    at = f" at {where}" if where else ""
    if isinstance(before, list):
        if not isinstance(now, list) or len(now) != len(before):
            return f"expected a list of {len(before)}{at}, got {_describe_input(now)}"
        for i, (old, new) in enumerate(zip(before, now)):
            found = _input_mismatch(old, new, f"{where}[{i}]")
            if found is not None:
                return found
        return None
    if isinstance(before, np.ndarray):
        if not isinstance(now, np.ndarray) or now.shape != before.shape or now.dtype != before.dtype:
            got = f"{now.shape} {now.dtype}" if isinstance(now, np.ndarray) else type(now).__name__
            return f"expected an array of shape {before.shape} and dtype {before.dtype}{at}, got {got}"
        return None
    if type(now) is not type(before):
        return f"expected a {type(before).__name__}{at}, got a {type(now).__name__}"
    return None


def gradient_name(name: str) -> str:
    """The gradient attribute of parameter ``name``, as Torch names them: ``weight`` → ``gradWeight``."""
    return "grad" + name[:1].upper() + name[1:]


_NOTHING: MappingProxyType = MappingProxyType({})
_UNSEEN = object()  # no input checked yet (never an input: ``None`` must be checked, and rejected)


class Module:
    """Base class of all modules; see the module docstring for the protocol.

    Attributes:
        output: the result of the last ``forward`` (a reused buffer).
        gradInput: the result of the last ``backward`` (a reused buffer).
        train: ``True`` in training mode, ``False`` after ``evaluate()``.

    """

    #: ``(Node, make_node)``, installed by :mod:`ember.nn.graph` when it is imported: calling a module on
    #: graph nodes makes a node without this file importing the graph (which imports it: no circle).
    _graph_nodes: tuple[type, Callable[..., Any]] | None = None
    #: names of scratch arrays that ``clearState()`` drops (re-created by the next call).
    _scratch: tuple[str, ...] = ()
    #: declared parameters (name → gradient name) and buffers (name → None), per instance;
    #: these read-only empty defaults are replaced on the first ``register_*`` call.
    _parameters: MappingProxyType | dict[str, str] = _NOTHING
    _buffers: MappingProxyType | dict[str, None] = _NOTHING
    _grad_names: tuple[str, ...] = ()  # the gradients' names, for zeroGradParameters
    # What forward and backward last checked: the input array (the identity of a reused buffer
    # makes the checks one comparison), its shape and dtype, gradOutput, and whether
    # updateGradInput's result was checked since the input's shape last changed.
    _input: Any = _UNSEEN
    _table_input: Any = _UNSEEN  # the last input that is not an array (a table), checked by every forward
    _checked_shape: tuple[int, ...] | None = None
    _checked_dtype: np.dtype | None = None
    _grad_output: Any = _UNSEEN
    _grad_checked = False
    #: the axis along which a batch input stacks its examples (1 for sequences ``(T, N, F)``).
    batch_dim: int = 0
    #: whether ``accGradParameters`` works without ``updateGradInput`` having run, so that a first child fed
    #: with data may skip its input gradient (see ``Sequential.backward``): the modules whose parameter
    #: gradients read only the input and ``gradOutput`` (Linear, the convolutions) say so.
    skips_gradInput: bool = False

    def __init_subclass__(cls, **kwargs: Any) -> None:
        """Check the annotated constructor arguments of every subclass (see :mod:`ember.nn.arguments`)."""
        super().__init_subclass__(**kwargs)
        check_arguments(cls)

    def __init__(self) -> None:
        self.output: Any = np.empty(0)
        self.gradInput: Any = np.empty(0)
        self.train = True
        self.recheck()

    def __getstate__(self) -> dict[str, Any]:
        """The state to copy or pickle: all but the cached flat storage (a copy flattens its own)."""
        state = self.__dict__.copy()
        state.pop("_flat_storage_cache", None)
        return state

    def recheck(self) -> None:
        """Forget which input was checked, so that the next ``forward`` checks it again (call it
        after changing a setting that ``checkInput`` depends on).
        """
        self._input = self._grad_output = self._table_input = _UNSEEN
        self._checked_shape = self._checked_dtype = None
        self._grad_checked = False

    # -- declarations -------------------------------------------------------------------------

    def register_parameter(self, name: str, value: np.ndarray | None) -> None:
        """Declare a trained parameter: set ``self.<name> = value`` and its gradient
        ``self.grad<Name>`` to zeros of the same shape and dtype (``"scale"`` → ``gradScale``).

        ``value`` may be ``None`` (an absent parameter, e.g. a Linear without bias): both
        attributes are then ``None``. Declared parameters are what ``parameters()``,
        ``type()``, ``clone()``, ``ember.check``, ``ember.io`` and the optimizers see.
        """
        self._declare(name, value, "register_parameter")
        if self._parameters is _NOTHING:  # (not `self.__dict__`: reading it slows every attribute access)
            self._parameters = {}
        grad_name = gradient_name(name)
        _DECLARATIONS[0] += 1
        self._parameters[name] = grad_name
        self._grad_names = tuple(self._parameters.values())
        setattr(self, name, value)
        setattr(self, grad_name, None if value is None else np.zeros_like(value))

    def register_buffer(self, name: str, value: np.ndarray | None) -> None:
        """Declare persistent state that is not trained (e.g. running statistics): set
        ``self.<name> = value``; ``type()`` converts it, ``ember.io`` saves it, ``clearState``
        keeps it.
        """
        self._declare(name, value, "register_buffer")
        if self._buffers is _NOTHING:
            self._buffers = {}
        self._buffers[name] = None
        setattr(self, name, value)

    def _declare(self, name: str, value: Any, how: str) -> None:
        if not isinstance(name, str) or not name.isidentifier():
            raise ProtocolError(f"{type(self).__name__}.{how}: the name must be an identifier, got {name!r}")
        if value is not None and not (isinstance(value, np.ndarray) and np.issubdtype(value.dtype, np.floating)):
            what = f"dtype {value.dtype}" if isinstance(value, np.ndarray) else type(value).__name__
            raise ProtocolError(f"{type(self).__name__}.{how}({name!r}, ...): expected a floating-point NumPy "
                                f"array (or None), got {what}; e.g. np.zeros(3)")

    def config(self) -> dict[str, Any]:
        """The constructor's arguments, by parameter name, that rebuild this module without its
        parameters' values (``ember.io`` saves it; :meth:`from_config` rebuilds). A ``*args``
        parameter's entry is a list. Every module whose constructor takes arguments defines it.
        """
        taken = [p.name for p in inspect.signature(type(self).__init__).parameters.values()
                 if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY) and p.name != "rng"][1:]
        if taken:
            example = ", ".join(f"{name!r}: self.{name}" for name in taken)
            raise ProtocolError(f"{type(self).__name__} defines no config(): its constructor takes "
                                f"{', '.join(taken)}, so define config() returning them, e.g. "
                                f"def config(self): return {{{example}}}")
        return {}

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> Module:
        """A new module built from :meth:`config`'s dictionary (a ``*args`` entry is spread)."""
        kwargs = dict(config)
        args: list[Any] = []
        parameters = list(inspect.signature(cls.__init__).parameters.values())[1:]
        star = next((p for p in parameters if p.kind is p.VAR_POSITIONAL), None)
        if star is not None and star.name in kwargs:
            spread = list(kwargs.pop(star.name))
            before = [p.name for p in parameters[:parameters.index(star)]]
            args = [kwargs.pop(name) for name in before if name in kwargs] + spread
        return cls(*args, **kwargs)

    # -- the protocol -------------------------------------------------------------------------

    def forward(self, input: Any) -> Any:
        """Compute and return ``self.output``; the input is checked once per new shape and dtype."""
        if input is not self._input:
            if type(input) is np.ndarray:
                if input.shape != self._checked_shape or input.dtype != self._checked_dtype:
                    self.checkInput(input)
                    self._checked_shape, self._checked_dtype = input.shape, input.dtype
                    self._grad_output, self._grad_checked = _UNSEEN, False
                self._input, self._table_input = input, _UNSEEN
            else:
                self.checkInput(input)  # (a table: checked every time, its entries may change in place)
                self._table_input, self._input, self._grad_output = input, _UNSEEN, _UNSEEN
                self._checked_shape = self._checked_dtype = None
        output = self.updateOutput(input)
        if output is not self.output:
            self._bad_output(output)
        return output

    def __call__(self, input: Any = None) -> Any:
        """``forward(input)``; but called on a graph node, a list of nodes or nothing, make a node
        of a graph instead (see :mod:`ember.nn.graph`).
        """
        if type(input) is np.ndarray:
            return self.forward(input)
        if Module._graph_nodes is not None:
            node, make_node = Module._graph_nodes
            if input is None or isinstance(input, node) or (
                    type(input) is list and input and isinstance(input[0], node)):
                return make_node(self, input)
        return self.forward(input)

    def backward(self, input: Any, gradOutput: Any, scale: float = 1.0) -> Any:
        """Compute ``self.gradInput`` and accumulate ``scale`` times the parameter gradients.

        Call ``forward(input)`` first, with the same input.
        """
        if input is not self._input:
            self.check_backward_input(input)
        if gradOutput is not self._grad_output:
            gradOutput = self.check_grad_output(gradOutput)
        gradInput = self.updateGradInput(input, gradOutput)
        if gradInput is not self.gradInput or not self._grad_checked:
            self._check_grad_input(input, gradInput)
        self.accGradParameters(input, gradOutput, scale)
        return gradInput

    def check_backward_input(self, input: Any) -> None:
        """Raise a ``ProtocolError`` unless ``input`` is like the last forward's: an array of its shape and dtype,
        or a table of the same length, shapes and dtypes. ``backward`` calls it when ``input`` is another object
        than forward's; containers that override ``backward`` call it too.
        """
        if type(input) is np.ndarray:
            if input.shape != self._checked_shape or input.dtype != self._checked_dtype:
                self._bad_backward_input(input)
        elif input is not self._table_input:
            if self._table_input is _UNSEEN:
                if self._checked_shape is None:
                    self._bad_backward_input(input)
                raise ProtocolError(f"{self.describe()}: backward got {_describe_input(input)}, but the last forward "
                                    f"was given an array of shape {self._checked_shape}: call backward with the input "
                                    f"forward was given")
            different = _input_mismatch(self._table_input, input)
            if different is not None:
                raise ProtocolError(f"{self.describe()}: backward got an input unlike the last forward's "
                                    f"({different}): call backward with the input forward was given")

    def check_grad_output(self, gradOutput: Any) -> Any:
        """Return ``gradOutput`` after checking that it matches ``self.output``: an array of the output's shape
        (an ndarray subclass is viewed as a plain array), or a table of the same length and shapes; else raise.
        Containers that override ``backward`` call it first.
        """
        output = self.output
        if type(gradOutput) is np.ndarray:
            if type(output) is np.ndarray and (gradOutput.shape != output.shape or gradOutput.dtype.kind != "f"):
                self._bad_grad_output(output, gradOutput)
            self._grad_output = gradOutput
            return gradOutput
        if isinstance(output, np.ndarray):
            if output.size == 1 and isinstance(gradOutput, numbers.Real) and not isinstance(gradOutput, bool):
                return np.full(output.shape, gradOutput, dtype=output.dtype)  # a one-element output's gradient
            if (not isinstance(gradOutput, np.ndarray) or gradOutput.shape != output.shape
                    or gradOutput.dtype.kind != "f"):
                self._bad_grad_output(output, gradOutput)
            return gradOutput.view(np.ndarray)  # e.g. np.matrix: its * and ** are not element-wise
        if isinstance(output, list) and _table_mismatch(output, gradOutput) is not None:
            self._bad_grad_output(output, gradOutput)
        return gradOutput

    def _bad_grad_output(self, output: Any, gradOutput: Any) -> NoReturn:
        if self._checked_shape is None and not leaf_count(output):
            raise ProtocolError(f"{self.describe()}: backward called before forward: call forward(input) first, "
                                f"then backward with the same input")
        if isinstance(output, list):
            self.fail(f"expected gradOutput shaped like the output table: {_table_mismatch(output, gradOutput)}",
                      TypeError if not isinstance(gradOutput, list) else ValueError)
        if not isinstance(gradOutput, np.ndarray):
            self.fail(f"expected gradOutput as a NumPy array of shape {output.shape} (the output's), "
                      f"got {type(gradOutput).__name__}", TypeError)
        if gradOutput.shape != output.shape:
            self.fail(f"expected gradOutput of shape {output.shape} (the output's), got {gradOutput.shape}")
        self.fail(f"expected a floating-point gradOutput (the output is {output.dtype}), got dtype {gradOutput.dtype}",
                  TypeError)

    def _check_grad_input(self, input: Any, gradInput: Any) -> None:
        """Raise unless ``updateGradInput`` set and returned ``self.gradInput``, shaped like the input."""
        if gradInput is not self.gradInput:
            self._bad_grad_input(input, gradInput)
        if type(gradInput) is np.ndarray and type(input) is np.ndarray:
            if gradInput.shape != input.shape:
                self._bad_grad_input(input, gradInput)
            self._grad_checked = True

    def _bad_output(self, output: Any) -> NoReturn:
        name = type(self).__name__
        if output is None:
            raise ProtocolError(f"{name}.updateOutput returned None: it must set and return self.output")
        raise ProtocolError(f"{name}.updateOutput returned a {type(output).__name__} that is not self.output: "
                            f"it must set self.output and return it")

    def _bad_grad_input(self, input: Any, gradInput: Any) -> NoReturn:
        name = type(self).__name__
        if gradInput is None:
            raise ProtocolError(f"{name}.updateGradInput returned None: it must set and return self.gradInput")
        if gradInput is not self.gradInput:
            raise ProtocolError(f"{name}.updateGradInput returned a {type(gradInput).__name__} that is not "
                                f"self.gradInput: it must set self.gradInput and return it")
        raise ProtocolError(f"{name}.updateGradInput returned an array of shape {gradInput.shape}: gradInput "
                            f"must have the input's shape {input.shape}")

    def _bad_backward_input(self, input: Any) -> NoReturn:
        if self._checked_shape is None and self._table_input is _UNSEEN:
            raise ProtocolError(f"{self.describe()}: backward called before forward: call forward(input) first, "
                                f"then backward with the same input")
        if self._checked_shape is None:  # the last forward was given a table
            raise ProtocolError(f"{self.describe()}: backward got {_describe_input(input)}, but the last forward was "
                                f"given {_describe_input(self._table_input)}: call backward with the input forward "
                                f"was given")
        given, expected = ((f"shape {input.shape}", self._checked_shape) if input.shape != self._checked_shape
                           else (f"dtype {input.dtype}", self._checked_dtype))
        raise ProtocolError(f"{self.describe()}: backward got an input of {given}, but the last forward was given "
                            f"{expected}: call backward with the input forward was given")

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

    def fail(self, message: str, error: type[Exception] = InputError) -> NoReturn:
        """Raise ``error`` (an :mod:`ember.errors` type; ``ValueError``, ``TypeError`` and
        ``IndexError`` mean ``InputError``, ``InputTypeError`` and ``InputIndexError``) with a
        message that starts with this module's description.
        """
        raise INPUT_ERRORS.get(error, error)(f"{self.describe()}: {message}")

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

    def declared_parameters(self) -> dict[str, str]:
        """The declared parameters of this module itself: name → gradient name (absent ones included).

        A module that registers nothing follows Torch's convention (``nn.Module:parameters()``):
        its ``weight``/``gradWeight`` and ``bias``/``gradBias`` arrays, where it has them.
        """
        return dict(self._declared())

    def _declared(self) -> dict[str, str] | MappingProxyType:
        declared = self._parameters
        if declared is _NOTHING:  # nothing registered (yet): Torch's weight/bias convention, looked up once
            found = {name: grad for name, grad in (("weight", "gradWeight"), ("bias", "gradBias"))
                     if isinstance(getattr(self, name, None), np.ndarray)
                     and isinstance(getattr(self, grad, None), np.ndarray)}
            self._parameters, self._grad_names = found, tuple(found.values())
            declared = found
        return declared

    def declared_buffers(self) -> tuple[str, ...]:
        """The names of this module's own declared buffers."""
        return tuple(self._buffers)

    def _own_parameters(self) -> list[np.ndarray]:
        return [p for name in self._declared() if (p := getattr(self, name)) is not None]

    def _parameter_slots(self) -> Iterator[tuple[Module, str, str]]:
        """(module, parameter name, gradient name) for every parameter in the tree."""
        for module in self.listModules():
            for name, grad_name in module._declared().items():
                if getattr(module, name) is not None:
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

    def _flat_storage(self) -> _FlatStorage:
        """The flat storage of this tree's parameters, checked still to be theirs (else rebuilt).

        Parameters that already lie in one flat pair (``getParameters()``) are used as they are. Otherwise
        the tree is flattened (as ``getParameters()`` does) only where nobody else can notice: every
        parameter and gradient an array of its own (not a view), held by nothing but the tree's modules
        (a caller's reference, a ``sharedClone`` outside the tree, an optimizer's state keep the arrays
        where they are, and the two methods then walk the tree as Torch does).
        """
        storage = self.__dict__.get("_flat_storage_cache")
        if storage is not None and storage.valid():
            return storage
        slots = list(self._parameter_slots())
        flat = None
        if slots:
            unique = {}
            for module, name, grad_name in slots:
                unique.setdefault(id(getattr(module, name)), (module, name, grad_name))
            flat = _existing_flat([(getattr(m, n), getattr(m, g)) for m, n, g in unique.values()])
            if flat is None and self._movable(slots):
                flat = self.getParameters()
        storage = _FlatStorage(self, flat)
        self._flat_storage_cache = storage
        return storage

    @staticmethod
    def _movable(slots: list[tuple[Module, str, str]]) -> bool:
        """Whether the parameters and gradients of ``slots`` can move into flat storage unnoticed: each its own
        float array of one dtype, referenced by these module attributes alone, its gradient by its own slots'.
        """
        holders: dict[int, int] = {}
        for module, name, grad_name in slots:
            for attribute in (name, grad_name):
                key = id(getattr(module, attribute))
                holders[key] = holders.get(key, 0) + 1
        dtypes = set()
        for module, name, grad_name in slots:
            for attribute in (name, grad_name):
                value = getattr(module, attribute)
                if type(value) is not np.ndarray or value.base is not None:
                    return False
                dtypes.add(value.dtype)
                if sys.getrefcount(getattr(module, attribute)) - _OTHER_REFERENCES > holders[id(value)] + 1:
                    return False  # (+ 1: `value` here)
        return len(dtypes) == 1

    def zeroGradParameters(self) -> None:
        """Set every parameter gradient to zero (``backward`` only ever adds to them): one ``fill`` over the
        flat gradients (see ``updateParameters``), else gradient by gradient.
        """
        storage = self._flat_storage()
        if storage.grads is not None:
            storage.grads.fill(0)
            return
        for module in self.listModules():
            for grad_name in module._declared().values():
                grad = getattr(module, grad_name)
                if grad is not None:
                    grad.fill(0)

    def updateParameters(self, learningRate: float) -> None:
        """Plain gradient step: θ ← θ − learningRate · ∂L/∂θ for every parameter.

        One BLAS ``axpy`` over flat storage: the first call (or ``zeroGradParameters``) moves the tree's
        parameters and gradients into two flat arrays, as ``getParameters()`` does, when nobody else holds
        them (arrays you took from the modules before stay the model's: then the tree is walked parameter by
        parameter instead). Later calls check in a few identity comparisons that the flat arrays are still
        the model's (after ``type()``, ``share()``, adding modules or assigning a parameter, they are rebuilt).
        """
        storage = self._flat_storage()
        if storage.step is not None:
            storage.step(-learningRate)
            return
        for param, grad in zip(*self.parameters()):
            add_scaled(param, grad, -learningRate)

    def reset(self, rng: int | np.random.Generator | None = None, *, stdv: float | None = None) -> Module:
        """Re-initialise the parameters as Torch does, drawing from ``rng`` (a seed, a Generator,
        or ``None`` for the library-wide generator); ``stdv`` overrides the module's default
        scale where it has one. Nothing to do without parameters.
        """
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
            for name, grad_name in module._declared().items():
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
        """Convert declared parameters, their gradients and declared buffers to ``dtype`` (new
        arrays) and drop scratch buffers. ``dtype`` must be a floating type (float16/32/64).
        """
        try:
            dtype = np.dtype(dtype)
        except TypeError:
            self.fail(f"type: expected a floating dtype such as np.float32, got {dtype!r}", TypeError)
        if dtype.kind != "f":
            self.fail(f"type: expected a floating dtype such as np.float32, got {dtype}", TypeError)
        self.clearState()
        for module in self.listModules():
            declared = module._declared()
            names = [*declared, *declared.values(), *module._buffers]
            for attribute in names:
                value = getattr(module, attribute)
                if value is not None:
                    setattr(module, attribute, value.astype(dtype))
            if isinstance(module.output, np.ndarray):
                module.output = np.empty(0, dtype=dtype)
            if isinstance(module.gradInput, np.ndarray):
                module.gradInput = np.empty(0, dtype=dtype)
        return self

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
            module.recheck()
            for name in module._scratch:
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
