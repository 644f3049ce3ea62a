"""Recurrent networks: RNN, LSTM and GRU layers, any step module made recurrent, and time-distributed helpers.

Sequences are ``(T, N, F)`` (time, batch, features) or ``(T, F)`` for one sequence,
as PyTorch's default and Torch rnn's ``SeqLSTM``. The built-in layers use PyTorch's
parameters, gate order and formulas, so weights exchange with ``torch.nn.LSTM`` (and
``GRU``, ``RNN``) as they are: ``weight_ih`` ``(G·H, F)``, ``weight_hh`` ``(G·H, H)``,
``bias_ih`` and ``bias_hh`` ``(G·H,)``, G = 1 (RNN), 3 (GRU) or 4 (LSTM).

State (Torch rnn's semantics): the initial state is zero, or ``module.h0`` (``c0``) when
set, or the states given with the input as a list ``[x, h0]`` (LSTM: ``[x, h0, c0]``;
then ``gradInput`` is ``[dx, dh0(, dc0)]``). After a forward, ``module.hidden`` (and
``module.cell``) hold the last state; ``remember()`` carries it into the next forward
(truncated backpropagation through time: no gradient flows into the earlier sequence)
until ``forget()``.

Masking: :class:`MaskZero` around a recurrent layer treats the steps whose input row is
all zeros as padding: there the output is zero and the state passes through unchanged,
so a right-padded sequence ends with the state of its last real step and a left-padded
one starts fresh, and padded steps receive and pass on no gradient.

Backward runs through time in reverse: per step, the gradient reaching the state is the
output's gradient plus what the next step sends back; parameter gradients are then
summed over all steps in one product each.

Compiled steps: where numba is installed (``pip install 'ember[fast]'``), LSTM forward and backward and
the tanh RNN's backward run the element-wise work of each step as one compiled loop
(``ember.nn.recurrent_kernels``, the same numbers as the NumPy path); a layer's ``compiled`` attribute
chooses (``None``: when numba is installed, ``False``: NumPy, ``True``: compiled or ``ImportError``).
"""

from __future__ import annotations

import copy
import math
from typing import Any

import numpy as np

from ember.blas import add_product, add_scaled
from ember.errors import InputError, InputTypeError
from ember.nn.criterion import Criterion
from ember.nn.module import Module, filled, resized
from ember.random import get_rng

_FLOATS = (np.dtype(np.float32), np.dtype(np.float64))
_kernels: Any = None  # ember.nn.recurrent_kernels once imported; False where numba is absent


def compiled_kernels() -> Any:
    """``ember.nn.recurrent_kernels`` (importing numba on the first call), or ``None`` where numba is absent."""
    global _kernels
    if _kernels is None:
        try:
            from ember.nn import recurrent_kernels
            _kernels = recurrent_kernels
        except ImportError:
            _kernels = False
    return _kernels or None


def _sigmoid(x: np.ndarray) -> None:
    """σ in place, as ``0.5 tanh(x / 2) + 0.5``: NumPy's vectorised tanh is ~15× faster than ``expit`` in float32."""
    x *= 0.5
    np.tanh(x, out=x)
    x *= 0.5
    x += 0.5


class _Recurrent(Module):
    """Shared machinery: input forms, initial and remembered state, masking and the loop through time.

    A subclass sets ``_n_states`` and ``_gate_names`` and implements ``_prepare(x)`` (work
    done for all steps at once), ``_step(t, states)`` (write the new states into
    ``states[k][t + 1]``), ``_step_back(t, d_states)`` (the gradients with respect to the
    states at ``t`` from those at ``t + 1``) and ``_finish_back(x)`` / ``_accumulate(x, scale)``.
    """

    batch_dim = 1
    _n_states = 1
    _gate_names: tuple[str, ...] = ()
    _state_names_given = ("h0",)
    _scratch: tuple[str, ...] = ("hidden", "_carry", "_keep", "_masked_output")

    def __init__(self) -> None:
        super().__init__()
        self.register_buffer("h0", None)  # an initial state set by the user: saved and converted
        self.hidden: np.ndarray | None = None
        self._remember = False
        self._carry: list[np.ndarray] | None = None
        self._mask: np.ndarray | None = None
        self._keep: np.ndarray | None = None
        self._masked_output: np.ndarray | None = None
        self._states: list[Any] = [None] * self._n_states
        self._d_states: list[Any] = [None] * self._n_states
        self._single = False
        self._given = False

    # -- state ------------------------------------------------------------------------------------

    def remember(self, on: bool = True) -> _Recurrent:
        """Carry the last state into the next ``forward`` (truncated BPTT), until ``forget()``."""
        self._remember = bool(on)
        if not on:
            self._carry = None
        return self

    def forget(self) -> _Recurrent:
        """Drop the remembered state: the next ``forward`` starts from ``h0`` (or zeros) again."""
        self._carry = None
        return self

    def _initial_given(self) -> list[np.ndarray | None]:
        return [self.h0]

    def _set_last(self, states: list[np.ndarray]) -> None:
        self.hidden = states[0]

    # -- input ------------------------------------------------------------------------------------

    @property
    def _width(self) -> int:
        return self.input_size

    def checkInput(self, input: Any) -> None:
        names = self._state_names_given
        if isinstance(input, list) and len(input) != 1 + self._n_states:
            self.fail(f"expected the input as [x, {', '.join(names)}], got a list of {len(input)}")
        x, given = (input[0], input[1:]) if isinstance(input, list) else (input, [])
        super().checkInput(x)
        if x.ndim not in (2, 3) or x.shape[-1] != self._width or x.shape[0] == 0:
            self.fail(f"expected a sequence of shape (T, {self._width}) or (T, batch, {self._width}), got {x.shape}")
        if isinstance(input, list):
            want = (self.hidden_size,) if x.ndim == 2 else (x.shape[1], self.hidden_size)
            for name, state in zip(names, given):
                if not isinstance(state, np.ndarray) or state.shape != want or state.dtype != x.dtype:
                    got = f"{state.shape} {state.dtype}" if isinstance(state, np.ndarray) else type(state).__name__
                    self.fail(f"expected {name} of shape {want} and dtype {x.dtype}, got {got}")

    def _start(self, input: Any) -> tuple[np.ndarray, list[np.ndarray]]:
        """The input as ``(T, N, F)`` and the initial states as ``(N, H)`` arrays."""
        self._given = isinstance(input, list)
        x = input[0] if self._given else input
        self._single = x.ndim == 2
        self._x_shape = x.shape
        x3 = x[:, None, :] if self._single else x
        n = x3.shape[1]
        if self._given:
            initial = [s[None, :] if self._single else s for s in input[1:]]
        elif self._remember and self._carry is not None:
            initial = self._carry
            if initial[0].shape[0] != n:
                self.fail(f"the remembered state is for a batch of {initial[0].shape[0]}, got a batch of {n}; "
                          f"call forget() before changing the batch size")
        else:
            initial = []
            for name, state in zip(self._state_names_given, self._initial_given()):
                if state is None:
                    initial.append(None)
                    continue
                state = np.asarray(state, dtype=x.dtype)
                if state.shape not in ((self.hidden_size,), (n, self.hidden_size)):
                    self.fail(f"{name} has shape {state.shape}; expected ({self.hidden_size},) or "
                              f"({n}, {self.hidden_size})")
                initial.append(state)
        return x3, initial

    # -- forward ----------------------------------------------------------------------------------

    def updateOutput(self, input: Any) -> np.ndarray:
        x, initial = self._start(input)
        t_len, n = x.shape[:2]
        h = self.hidden_size
        states = self._states
        for k in range(self._n_states):
            old = states[k]
            states[k] = resized(old, x, (t_len + 1, n, h))
            if initial[k] is None:
                states[k][0] = 0
            else:
                states[k][0] = initial[k]  # (may be a remembered view of the old buffer: copied first)
        mask = self._mask
        if mask is not None:
            if mask.shape != (t_len, n):
                self.fail(f"mask of shape {mask.shape} for a sequence of shape {x.shape}")
            keep = mask[:, :, None].astype(x.dtype)
        self._prepare(x)
        for t in range(0 if mask is None and self._forward_compiled(states) else t_len):
            self._step(t, states)
            if mask is not None:
                for k in range(self._n_states):
                    new, old = states[k][t + 1], states[k][t]
                    new -= old
                    new *= keep[t]
                    new += old
        out = states[0][1:]
        if mask is not None:
            self._keep = keep
            self._masked_output = resized(self._masked_output, out)
            out = np.multiply(out, keep, out=self._masked_output)  # zero at padded steps
        last = [s[t_len] for s in states]
        self._set_last([s[0] for s in last] if self._single else last)
        if self._remember:
            self._carry = last
        self.output = out[:, 0] if self._single else out
        return self.output

    # -- backward ---------------------------------------------------------------------------------

    def _forward_compiled(self, states: list[np.ndarray]) -> bool:
        """Run forward through time with compiled steps (no mask), writing ``states[k][1:]``; ``False`` where this
        layer has none (or they are off): then :meth:`_step` runs for each step.
        """
        return False

    def _prepare_back(self, x: np.ndarray) -> None:
        """Work for all steps at once before backward through time (nothing by default)."""

    def _back_compiled(self, g: np.ndarray, d: list[np.ndarray]) -> bool:
        """Run backward through time with compiled steps, leaving ∂L/∂(initial states) in ``d``; ``False`` where
        this layer has none (or they are off): then the NumPy steps run.
        """
        return False

    def updateGradInput(self, input: Any, gradOutput: np.ndarray) -> Any:
        x = (input[0] if self._given else input)
        x = x[:, None, :] if self._single else x
        g = gradOutput[:, None, :] if self._single else gradOutput
        t_len, n = x.shape[:2]
        d = self._d_states
        for k in range(self._n_states):
            d[k] = resized(d[k], x, (n, self.hidden_size))
            d[k].fill(0)
        mask = self._mask
        if mask is None and self._back_compiled(g, d):
            t_len = 0  # the compiled steps ran through time
        else:
            self._prepare_back(x)
        for t in range(t_len - 1, -1, -1):
            np.add(d[0], g[t], out=d[0]) if mask is None else np.add(d[0], g[t] * self._keep[t], out=d[0])
            if mask is None:
                previous = self._step_back(t, d)
            else:
                keep = self._keep[t]
                previous = self._step_back(t, [dk * keep for dk in d])
                for k in range(self._n_states):
                    d[k] -= d[k] * keep
            if mask is None:
                if previous is not d:  # (a step may write the earlier state's gradients into d itself)
                    for k in range(self._n_states):
                        np.copyto(d[k], previous[k])
            else:
                for k in range(self._n_states):
                    d[k] += previous[k]
        if self.gradInput is None:  # switched off: the input needs no gradient (Torch's idiom, as Linear)
            return None
        grad_x = self._finish_back(x)
        grad_x = grad_x[:, 0] if self._single else grad_x
        if self._given:
            self.gradInput = [grad_x] + [dk[0].copy() if self._single else dk.copy() for dk in d]
        else:
            self.gradInput = grad_x
        return self.gradInput

    def accGradParameters(self, input: Any, gradOutput: np.ndarray, scale: float = 1.0) -> None:
        x = (input[0] if self._given else input)
        self._accumulate(x[:, None, :] if self._single else x, scale)

    # -- reports ----------------------------------------------------------------------------------

    def explain_jacobian(self, argument: str, row: int, column: int) -> str:
        """Where a Jacobian element sits: the output's time step, and the input's time step or a parameter's gate."""
        t_len = self.output.shape[0]
        parts = [f"output time step {row // (self.output.size // t_len)}"]
        name = argument.rsplit(".", 1)[-1]
        param = getattr(self, name, None)
        if name == "input":
            x_size = math.prod(self._x_shape)
            parts.append(f"input time step {column // (x_size // t_len)}" if column < x_size else "initial state")
        elif isinstance(param, np.ndarray) and self._gate_names:
            param_row = column // (param.shape[1] if param.ndim == 2 else 1)
            parts.append(f"gate {self._gate_names[param_row // self.hidden_size]}")
        return "; ".join(parts)

    def clearState(self) -> _Recurrent:
        super().clearState()
        self._states = [None] * self._n_states
        self._d_states = [None] * self._n_states
        return self

    def extra_repr(self) -> str:
        return f"{self.input_size} -> {self.hidden_size}"


class _Cell(_Recurrent):
    """The built-in layers: PyTorch's parameters, initialised uniform(−1/√H, 1/√H) as PyTorch does."""

    _n_gates = 1
    _scratch = _Recurrent._scratch + ("_gates", "_d_gates", "_grad_x")
    #: the compiled steps (see the module docstring): ``None`` when numba is installed, ``False`` NumPy's, ``True``
    #: compiled or ``ImportError``. Set on a layer (``lstm.compiled = False``) or on the class.
    compiled: bool | None = None

    def __init__(self, input_size: int, hidden_size: int, rng: np.random.Generator | None = None) -> None:
        super().__init__()
        if input_size < 1 or hidden_size < 1:
            raise InputError(f"{type(self).__name__}: expected positive sizes, got {input_size} and {hidden_size}")
        self.input_size, self.hidden_size = int(input_size), int(hidden_size)
        rows = self._n_gates * self.hidden_size
        self.register_parameter("weight_ih", np.empty((rows, self.input_size)))
        self.register_parameter("weight_hh", np.empty((rows, self.hidden_size)))
        self.register_parameter("bias_ih", np.empty(rows))
        self.register_parameter("bias_hh", np.empty(rows))
        self._gates: Any = None
        self._d_gates: Any = None
        self._grad_x: Any = None
        self.reset(rng)

    def config(self) -> dict[str, Any]:
        return {"input_size": self.input_size, "hidden_size": self.hidden_size}

    def reset(self, rng: int | np.random.Generator | None = None, *, stdv: float | None = None) -> _Cell:
        """Draw every parameter from uniform(−stdv, stdv), stdv = 1/√hidden_size unless given (PyTorch's)."""
        stdv = 1.0 / math.sqrt(self.hidden_size) if stdv is None else stdv
        generator = get_rng(rng)
        for name in ("weight_ih", "weight_hh", "bias_ih", "bias_hh"):
            array = getattr(self, name)
            array[...] = generator.uniform(-stdv, stdv, array.shape)
        return self

    def _kernels_for(self, x: np.ndarray, *replaced: Any) -> Any:
        """The compiled kernels to use for ``x`` (float32/float64), or ``None``: NumPy's steps, also where a
        subclass overrides one of the ``replaced`` methods (a student's ``_step_back``, say), whose work the
        compiled loop does instead.
        """
        if self.compiled is False or x.dtype not in _FLOATS \
                or any(getattr(type(self), method.__name__) is not method for method in replaced):
            return None
        kernels = compiled_kernels()
        if kernels is None and self.compiled:
            raise ImportError(f"{type(self).__name__}.compiled = True needs numba: pip install 'ember[fast]'")
        return kernels

    def _project(self, x: np.ndarray, bias: np.ndarray | None, weight_t: np.ndarray | None = None) -> np.ndarray:
        """``x W_ihᵀ + bias`` for all steps at once, as ``(T, N, G·H)``: one GEMM (``weight_t``: W_ihᵀ given;
        ``bias`` ``None``: added later).
        """
        t_len, n, f = x.shape
        self._gates = resized(self._gates, x, (t_len, n, self._n_gates * self.hidden_size))
        flat = self._gates.reshape(t_len * n, -1)
        np.matmul(x.reshape(t_len * n, f), self.weight_ih.T if weight_t is None else weight_t, out=flat)
        if bias is not None:
            flat += bias
        return self._gates

    def _d_gates_buffer(self, x: np.ndarray) -> np.ndarray:
        self._d_gates = resized(self._d_gates, self._gates)
        return self._d_gates

    def _finish_back(self, x: np.ndarray) -> np.ndarray:
        t_len, n, f = x.shape
        self._grad_x = resized(self._grad_x, x)
        np.matmul(self._d_gates.reshape(t_len * n, -1), self.weight_ih, out=self._grad_x.reshape(t_len * n, f))
        return self._grad_x

    def _accumulate(self, x: np.ndarray, scale: float, d_hidden: np.ndarray | None = None) -> None:
        t_len, n, f = x.shape
        d_in = self._d_gates.reshape(t_len * n, -1)
        d_hh = d_in if d_hidden is None else d_hidden.reshape(t_len * n, -1)
        add_product(self.gradWeight_ih, d_in.T, x.reshape(t_len * n, f), scale)
        previous = self._states[0][:-1].reshape(t_len * n, self.hidden_size)
        add_product(self.gradWeight_hh, d_hh.T, previous, scale)
        summed = d_in.sum(axis=0)
        add_scaled(self.gradBias_ih, summed, scale)
        add_scaled(self.gradBias_hh, summed if d_hh is d_in else d_hh.sum(axis=0), scale)


class RNN(_Cell):
    """Elman recurrent layer (PyTorch's ``nn.RNN``, one layer): ``h_t = φ(W_ih x_t + b_ih + W_hh h_{t−1} + b_hh)``.

    Backward: ``a_t = ∂L/∂h_t ⊙ φ'``; ``∂L/∂x_t = a_t W_ih``, ``∂L/∂h_{t−1} += a_t W_hh``;
    ``∂L/∂W_ih += Σ_t a_tᵀ x_t``, ``∂L/∂W_hh += Σ_t a_tᵀ h_{t−1}``, both biases ``+= Σ_t a_t``.

    Args:
        input_size: F, the features of each step.
        hidden_size: H.
        nonlinearity: ``'tanh'`` (default) or ``'relu'``.
        rng: generator for the initialisation (default: the library-wide one).

    Shape: input ``(T, N, F)`` or ``(T, F)``; output ``(T, N, H)`` or ``(T, H)``.

    Example:
        >>> import numpy as np
        >>> RNN(3, 5).forward(np.zeros((7, 2, 3))).shape
        (7, 2, 5)

    """

    def __init__(self, input_size: int, hidden_size: int, nonlinearity: str = "tanh",
                 rng: np.random.Generator | None = None) -> None:
        if nonlinearity not in ("tanh", "relu"):
            raise InputError(f"RNN: nonlinearity must be 'tanh' or 'relu', got {nonlinearity!r}")
        self.nonlinearity = nonlinearity
        super().__init__(input_size, hidden_size, rng=rng)

    def config(self) -> dict[str, Any]:
        return {**super().config(), "nonlinearity": self.nonlinearity}

    def _prepare(self, x: np.ndarray) -> None:
        self._project(x, self.bias_ih + self.bias_hh)
        self._d_gates_buffer(x)

    def _back_compiled(self, g: np.ndarray, d: list[np.ndarray]) -> bool:
        usable = self.nonlinearity == "tanh" and g.dtype == d[0].dtype
        kernels = self._kernels_for(g, RNN._step_back, RNN._prepare_back) if usable else None
        if kernels is None:
            return False
        g, states, delta, weight = np.ascontiguousarray(g), self._states[0], self._d_gates, self.weight_hh
        for t in range(g.shape[0] - 1, -1, -1):
            kernels.rnn_tanh_backward(d[0], g[t], states[t + 1], delta[t])
            np.matmul(delta[t], weight, out=d[0])
        return True

    def _step(self, t: int, states: list[np.ndarray]) -> None:
        a = self._gates[t]
        a += states[0][t] @ self.weight_hh.T
        if self.nonlinearity == "tanh":
            np.tanh(a, out=states[0][t + 1])
        else:
            np.maximum(a, 0, out=states[0][t + 1])

    def _step_back(self, t: int, d: list[np.ndarray]) -> list[np.ndarray]:
        h = self._states[0][t + 1]
        da = self._d_gates[t]
        if self.nonlinearity == "tanh":
            np.multiply(h, h, out=da)
            np.subtract(1, da, out=da)
            da *= d[0]
        else:
            np.multiply(d[0], h > 0, out=da)
        return [da @ self.weight_hh]

    def extra_repr(self) -> str:
        return super().extra_repr() + (", relu" if self.nonlinearity == "relu" else "")


class LSTM(_Cell):
    """Long short-term memory layer (PyTorch's ``nn.LSTM``, one layer), gates in PyTorch's order i, f, g, o.

    ``[i, f, g, o] = W_ih x_t + b_ih + W_hh h_{t−1} + b_hh`` then σ, σ, tanh, σ;
    ``c_t = f ⊙ c_{t−1} + i ⊙ g``, ``h_t = o ⊙ tanh(c_t)``.

    Backward: with ``δc = ∂L/∂h_t ⊙ o ⊙ (1 − tanh² c_t) + ∂L/∂c_t``: ``δo = ∂L/∂h_t ⊙ tanh c_t``,
    ``δi = δc ⊙ g``, ``δf = δc ⊙ c_{t−1}``, ``δg = δc ⊙ i``, each times its activation's
    derivative; ``∂L/∂c_{t−1} = δc ⊙ f``, ``∂L/∂h_{t−1} = δ W_hh``, ``∂L/∂x_t = δ W_ih``.

    Args:
        input_size: F.
        hidden_size: H.
        rng: generator for the initialisation (default: the library-wide one).

    Shape: input ``(T, N, F)`` or ``(T, F)`` (or ``[x, h0, c0]``); output ``(T, N, H)`` or ``(T, H)``.

    Attributes:
        hidden, cell: the last ``h`` and ``c`` after a forward.
        h0, c0: initial states used when none are given (``None``: zeros).

    """

    _n_states = 2
    _n_gates = 4
    _gate_names = ("i (input)", "f (forget)", "g (cell)", "o (output)")
    _state_names_given = ("h0", "c0")
    _scratch = _Cell._scratch + ("cell", "_tanh_c", "_half", "_shift", "_w_ih_t", "_w_hh_t", "_hh", "_ig", "_d_act",
                                 "_d_tanh_c", "_dc", "_bias")

    def __init__(self, input_size: int, hidden_size: int, rng: np.random.Generator | None = None) -> None:
        super().__init__(input_size, hidden_size, rng=rng)
        self.register_buffer("c0", None)
        self.cell: np.ndarray | None = None
        self._tanh_c = self._half = self._shift = self._w_ih_t = self._w_hh_t = self._hh = self._ig = None
        self._d_act = self._d_tanh_c = self._dc = None
        self._compiled_steps = False
        self._bias: Any = None

    def _initial_given(self) -> list[np.ndarray | None]:
        return [self.h0, self.c0]

    def _set_last(self, states: list[np.ndarray]) -> None:
        self.hidden, self.cell = states

    def _prepare(self, x: np.ndarray) -> None:
        # σ(z) = 0.5 tanh(z / 2) + 0.5: the i, f, o pre-activations are halved (`_half`, in W_ihᵀ, W_hhᵀ and the
        # bias: copies made once per sequence, contiguous for the faster GEMM), so
        # that each step is one tanh over all four gates, then `· _half + _shift` (identity on g).
        h, rows = self.hidden_size, 4 * self.hidden_size
        self._half = filled(self._half, x, 0.5, (rows,))
        self._half[2 * h:3 * h] = 1.0
        self._shift = filled(self._shift, x, 0.5, (rows,))
        self._shift[2 * h:3 * h] = 0.0
        bias = self.bias_ih + self.bias_hh
        bias *= self._half
        self._w_ih_t = resized(self._w_ih_t, x, (self.input_size, rows))
        np.multiply(self.weight_ih.T, self._half, out=self._w_ih_t)
        self._compiled_steps = self._kernels_for(x, LSTM._step) is not None
        self._bias = bias if self._compiled_steps and self._mask is None else None  # (added step by step)
        self._project(x, None if self._bias is not None else bias, self._w_ih_t)
        self._w_hh_t = resized(self._w_hh_t, x, (h, rows))
        np.multiply(self.weight_hh.T, self._half, out=self._w_hh_t)
        self._hh = resized(self._hh, x, (x.shape[1], rows))
        self._ig = resized(self._ig, x, (x.shape[1], h))
        self._tanh_c = resized(self._tanh_c, x, x.shape[:2] + (h,))

    def _forward_compiled(self, states: list[np.ndarray]) -> bool:
        if self._bias is None:
            return False
        kernels, h, gates, hh, w_hh_t = _kernels, self.hidden_size, self._gates, self._hh, self._w_hh_t
        bias, half, shift, tanh_c = self._bias, self._half, self._shift, self._tanh_c
        hidden, cells, outputs = states[0], states[1], gates[:, :, 3 * h:]
        matmul, tanh, multiply = np.matmul, np.tanh, np.multiply
        for t in range(gates.shape[0]):
            a, tc = gates[t], tanh_c[t]
            matmul(hidden[t], w_hh_t, out=hh)
            kernels.add_bias_hidden(a, bias, hh)  # (x W_ihᵀ + b) + h W_hhᵀ, as the NumPy path sums
            tanh(a, out=a)
            kernels.lstm_forward(a, half, shift, cells[t], cells[t + 1])
            tanh(cells[t + 1], out=tc)
            multiply(outputs[t], tc, out=hidden[t + 1])
        return True

    def _step(self, t: int, states: list[np.ndarray]) -> None:
        h = self.hidden_size
        gates, ig, tanh_c = self._gates[t], self._ig, self._tanh_c[t]
        np.matmul(states[0][t], self._w_hh_t, out=self._hh)
        gates += self._hh
        np.tanh(gates, out=gates)
        if self._compiled_steps:  # the affine part of σ and the cell update in one compiled loop
            _kernels.lstm_forward(gates, self._half, self._shift, states[1][t], states[1][t + 1])
            np.tanh(states[1][t + 1], out=tanh_c)
            np.multiply(gates[:, 3 * h:], tanh_c, out=states[0][t + 1])
            return
        gates *= self._half
        gates += self._shift
        i, f, g, o = gates[:, :h], gates[:, h:2 * h], gates[:, 2 * h:3 * h], gates[:, 3 * h:]
        c = states[1][t + 1]
        np.multiply(f, states[1][t], out=c)
        np.multiply(i, g, out=ig)
        c += ig
        np.tanh(c, out=tanh_c)
        np.multiply(o, tanh_c, out=states[0][t + 1])

    def _prepare_back(self, x: np.ndarray) -> None:
        """The activations' derivatives for all steps at once: ``_d_act`` = s(1 − s) for i, f, o and 1 − g² for
        g; ``_d_tanh_c`` = o ⊙ (1 − tanh² c_t).
        """
        h = self.hidden_size
        gates = self._gates
        self._d_act = d_act = resized(self._d_act, gates)
        square = self._d_gates_buffer(x)  # (its scratch use ends here: the steps overwrite it)
        np.multiply(gates, gates, out=square)
        np.multiply(gates, self._shift * 2, out=d_act)  # s for i, f, o; 0 for g
        d_act[..., 2 * h:3 * h] = 1.0
        d_act -= square
        self._d_tanh_c = d_tanh_c = resized(self._d_tanh_c, self._tanh_c)
        np.multiply(self._tanh_c, self._tanh_c, out=d_tanh_c)
        np.subtract(1.0, d_tanh_c, out=d_tanh_c)
        d_tanh_c *= gates[..., 3 * h:]
        self._dc = resized(self._dc, x, (x.shape[1], h))

    def _back_compiled(self, g: np.ndarray, d: list[np.ndarray]) -> bool:
        kernels = self._kernels_for(g, LSTM._step_back, LSTM._prepare_back) if g.dtype == d[0].dtype else None
        if kernels is None:
            return False
        g, gates, cells, tanh_c = np.ascontiguousarray(g), self._gates, self._states[1], self._tanh_c
        delta, weight = self._d_gates_buffer(g), self.weight_hh
        for t in range(g.shape[0] - 1, -1, -1):
            kernels.lstm_backward(d[0], d[1], g[t], gates[t], cells[t], tanh_c[t], delta[t])
            np.matmul(delta[t], weight, out=d[0])
        return True

    def _step_back(self, t: int, d: list[np.ndarray]) -> list[np.ndarray]:
        """Write ∂L/∂h_{t−1} and ∂L/∂c_{t−1} into ``d`` (which holds ∂L/∂h_t and ∂L/∂c_t) and return it."""
        h = self.hidden_size
        gates, delta, dc = self._gates[t], self._d_gates[t], self._dc
        d_h, d_c = d
        np.multiply(d_h, self._tanh_c[t], out=delta[:, 3 * h:])  # ∂L/∂o
        np.multiply(d_h, self._d_tanh_c[t], out=dc)
        dc += d_c  # ∂L/∂c_t
        np.multiply(dc, gates[:, 2 * h:3 * h], out=delta[:, :h])  # ∂L/∂i = δc ⊙ g
        np.multiply(dc, self._states[1][t], out=delta[:, h:2 * h])  # ∂L/∂f = δc ⊙ c_{t−1}
        np.multiply(dc, gates[:, :h], out=delta[:, 2 * h:3 * h])  # ∂L/∂g = δc ⊙ i
        delta *= self._d_act[t]  # through the activations
        np.matmul(delta, self.weight_hh, out=d_h)
        np.multiply(dc, gates[:, h:2 * h], out=d_c)
        return d


class GRU(_Cell):
    """Gated recurrent unit layer (PyTorch's ``nn.GRU``, one layer), gates in PyTorch's order r, z, n.

    ``r = σ(W_ir x + b_ir + W_hr h + b_hr)``, ``z = σ(W_iz x + b_iz + W_hz h + b_hz)``,
    ``n = tanh(W_in x + b_in + r ⊙ (W_hn h + b_hn))``, ``h_t = (1 − z) ⊙ n + z ⊙ h_{t−1}``.

    Backward: ``δn = ∂L/∂h_t ⊙ (1 − z) ⊙ (1 − n²)``, ``δz = ∂L/∂h_t ⊙ (h_{t−1} − n) ⊙ z(1 − z)``,
    ``δr = δn ⊙ (W_hn h + b_hn) ⊙ r(1 − r)``; the input side gets ``[δr, δz, δn]``, the hidden
    side ``[δr, δz, r ⊙ δn]``; ``∂L/∂h_{t−1} = ∂L/∂h_t ⊙ z + δ_hidden W_hh``.

    Args:
        input_size: F.
        hidden_size: H.
        rng: generator for the initialisation (default: the library-wide one).

    Shape: input ``(T, N, F)`` or ``(T, F)`` (or ``[x, h0]``); output ``(T, N, H)`` or ``(T, H)``.

    """

    _n_gates = 3
    _gate_names = ("r (reset)", "z (update)", "n (new)")
    _scratch = _Cell._scratch + ("_hidden_part", "_d_hidden")

    def __init__(self, input_size: int, hidden_size: int, rng: np.random.Generator | None = None) -> None:
        super().__init__(input_size, hidden_size, rng=rng)
        self._hidden_part: Any = None
        self._d_hidden: Any = None

    def _prepare(self, x: np.ndarray) -> None:
        self._project(x, self.bias_ih)
        self._d_gates_buffer(x)
        self._hidden_part = resized(self._hidden_part, self._gates)
        self._d_hidden = resized(self._d_hidden, self._gates)

    def _step(self, t: int, states: list[np.ndarray]) -> None:
        h = self.hidden_size
        gates, hidden = self._gates[t], self._hidden_part[t]
        previous = states[0][t]
        np.matmul(previous, self.weight_hh.T, out=hidden)
        hidden += self.bias_hh
        gates[:, :2 * h] += hidden[:, :2 * h]
        _sigmoid(gates[:, :2 * h])
        r, z, n = gates[:, :h], gates[:, h:2 * h], gates[:, 2 * h:]
        n += r * hidden[:, 2 * h:]
        np.tanh(n, out=n)
        new = states[0][t + 1]
        np.subtract(previous, n, out=new)
        new *= z
        new += n

    def _step_back(self, t: int, d: list[np.ndarray]) -> list[np.ndarray]:
        h = self.hidden_size
        gates, hidden = self._gates[t], self._hidden_part[t]
        r, z, n = gates[:, :h], gates[:, h:2 * h], gates[:, 2 * h:]
        d_in, d_hid = self._d_gates[t], self._d_hidden[t]
        d_h = d[0]
        previous = self._states[0][t]
        dn = d_in[:, 2 * h:]
        np.multiply(d_h, 1 - z, out=dn)
        dn *= 1 - n * n
        dz = d_in[:, h:2 * h]
        np.subtract(previous, n, out=dz)
        dz *= d_h
        dz *= z * (1 - z)
        dr = d_in[:, :h]
        np.multiply(dn, hidden[:, 2 * h:], out=dr)
        dr *= r * (1 - r)
        d_hid[:, :2 * h] = d_in[:, :2 * h]
        np.multiply(dn, r, out=d_hid[:, 2 * h:])
        return [d_h * z + d_hid @ self.weight_hh]

    def accGradParameters(self, input: Any, gradOutput: np.ndarray, scale: float = 1.0) -> None:
        x = (input[0] if self._given else input)
        self._accumulate(x[:, None, :] if self._single else x, scale, self._d_hidden)


# -- any step module, recurrent ---------------------------------------------------------------------


def _share_parameters(target: Module, source: Module) -> None:
    """Point every parameter and gradient of ``target``'s tree at ``source``'s arrays (same structure)."""
    for mine, theirs in zip(target.listModules(), source.listModules()):
        for name, grad_name in theirs.declared_parameters().items():
            for attribute in (name, grad_name):
                value = getattr(theirs, attribute, None)
                if value is not None:
                    setattr(mine, attribute, value)


class _InitialStates:
    """``Recurrence.initial``: a list-like view of the buffers ``h0``, ``s1_0``, … (reads and writes go to them)."""

    def __init__(self, module: Recurrence) -> None:
        self._module = module

    def _name(self, k: int) -> str:
        k = range(self._module._n_states)[k]  # (negative indices; IndexError past the end)
        return "h0" if k == 0 else f"s{k}_0"

    def __len__(self) -> int:
        return self._module._n_states

    def __getitem__(self, k: int) -> np.ndarray | None:
        return getattr(self._module, self._name(k))

    def __setitem__(self, k: int, value: np.ndarray | None) -> None:
        setattr(self._module, self._name(k), value)

    def __iter__(self) -> Any:
        return (self[k] for k in range(len(self)))

    def __repr__(self) -> str:
        return repr(list(self))


class Recurrence(_Recurrent):
    """Any step module made recurrent (Torch rnn's ``Recurrence``): ``s_t = step([x_t, s_{t−1}])``.

    The step module takes ``[x_t, state]`` and returns the new state: one array ``(N, H)``
    (an RNN cell), or a list of them (``[h, c]`` for an LSTM cell), whose first entry is
    the output at step ``t``. It may be any module, a :class:`~ember.nn.gModule` built by
    a student included. Each time step runs its own clone of the step module sharing the
    parameters and their gradients, so backward through time sums every step's
    contribution into the one set of gradients.

    Args:
        step: the step module.
        input_size: F, the features of ``x_t``.
        hidden_size: H, the size of each state array.
        n_states: how many state arrays the step module takes and returns (1, or 2 for ``[h, c]``).

    Shape: input ``(T, N, F)`` or ``(T, F)`` (or ``[x, s0, …]``); output ``(T, N, H)`` or ``(T, H)``.

    """

    _scratch = _Recurrent._scratch + ("states", "_x", "_grad_x", "_grad_x_steps")

    def __init__(self, step: Module, input_size: int, hidden_size: int, n_states: int = 1) -> None:
        if not isinstance(step, Module):
            raise InputTypeError(f"Recurrence: expected a step Module, got {type(step).__name__}")
        if n_states < 1:
            raise InputError(f"Recurrence: n_states must be at least 1, got {n_states}")
        self._n_states = int(n_states)
        self._state_names_given = tuple(f"s{k}_0" for k in range(self._n_states))
        super().__init__()
        self.step, self.input_size, self.hidden_size = step, int(input_size), int(hidden_size)
        self._clones: list[Module] = []
        self._step_inputs: list[Any] = []
        self._step_grads: list[Any] = []
        for k in range(1, self._n_states):
            self.register_buffer(f"s{k}_0", None)  # the initial states after the first (h0): saved and converted
        self.states: list[np.ndarray] | None = None
        self._x: np.ndarray | None = None
        self._grad_x: np.ndarray | None = None
        self._grad_x_steps: list[Any] | None = None

    def config(self) -> dict[str, Any]:
        return {"step": self.step, "input_size": self.input_size, "hidden_size": self.hidden_size,
                "n_states": self._n_states}

    def children(self) -> list[Module]:
        return [self.step]

    def reset(self, rng: int | np.random.Generator | None = None, *, stdv: float | None = None) -> Recurrence:
        self.step.reset(rng) if stdv is None else self.step.reset(rng, stdv=stdv)
        return self

    @property
    def initial(self) -> _InitialStates:
        """The initial states used when none are given, ``[h0, s1_0, …]`` (``None``: zeros); ``initial[k] = a``
        sets one (the buffers ``h0``, ``s1_0``, …, which ``ember.io`` saves).
        """
        return _InitialStates(self)

    @initial.setter
    def initial(self, states: list[np.ndarray | None]) -> None:
        if len(states) != self._n_states:
            self.fail(f"expected {self._n_states} initial states, got {len(states)}")
        for k, state in enumerate(states):
            self.initial[k] = state

    def _initial_given(self) -> list[np.ndarray | None]:
        return list(self.initial)

    def _set_last(self, states: list[np.ndarray]) -> None:
        self.hidden = states[0]
        self.states = states

    def _clone(self, t: int) -> Module:
        while len(self._clones) <= t:
            twin = copy.deepcopy(self.step) if self._clones or t > 0 else self.step
            self._clones.append(twin)
        clone = self._clones[t]
        if clone is not self.step:
            _share_parameters(clone, self.step)  # every time: getParameters() may have moved them
            clone.train = self.step.train
        return clone

    def _prepare(self, x: np.ndarray) -> None:
        self._x = x
        t_len = x.shape[0]
        self._step_inputs = [None] * t_len
        self._step_grads = [None] * t_len
        for t in range(t_len):
            clone = self._clone(t)
            for module, original in zip(clone.listModules(), self.step.listModules()):
                module.train = original.train

    def _state(self, states: list[np.ndarray], t: int) -> Any:
        return states[0][t] if self._n_states == 1 else [s[t] for s in states]

    def _step(self, t: int, states: list[np.ndarray]) -> None:
        step_input = [self._x[t], self._state(states, t)]
        self._step_inputs[t] = step_input
        new = self._clones[t].forward(step_input)
        new = [new] if self._n_states == 1 else new
        if not isinstance(new, list) or len(new) != self._n_states:
            self.fail(f"the step module returned {type(new).__name__}; expected {self._n_states} state array(s)")
        for k in range(self._n_states):
            if new[k].shape != states[k][t + 1].shape:
                self.fail(f"the step module returned a state of shape {new[k].shape}; expected "
                          f"{states[k][t + 1].shape}")
            states[k][t + 1] = new[k]

    def _step_back(self, t: int, d: list[np.ndarray]) -> list[np.ndarray]:
        grad = d[0].copy() if self._n_states == 1 else [dk.copy() for dk in d]
        self._step_grads[t] = grad
        grad_input = self._clones[t].updateGradInput(self._step_inputs[t], grad)
        self._grad_x_steps[t] = grad_input[0]
        previous = grad_input[1]
        return [previous] if self._n_states == 1 else list(previous)

    def updateGradInput(self, input: Any, gradOutput: np.ndarray) -> Any:
        self._grad_x_steps = [None] * self._x.shape[0]
        return super().updateGradInput(input, gradOutput)

    def _finish_back(self, x: np.ndarray) -> np.ndarray:
        self._grad_x = resized(self._grad_x, x)
        for t, grad in enumerate(self._grad_x_steps):
            self._grad_x[t] = grad
        return self._grad_x

    def _accumulate(self, x: np.ndarray, scale: float) -> None:
        for t in range(x.shape[0]):
            self._clones[t].accGradParameters(self._step_inputs[t], self._step_grads[t], scale)

    def clearState(self) -> Recurrence:
        super().clearState()
        self._clones, self._step_inputs, self._step_grads = [], [], []
        return self

    def __repr__(self) -> str:
        inner = repr(self.step).replace("\n", "\n  ")
        return f"nn.Recurrence({self.input_size} -> {self.hidden_size}) {{\n  {inner}\n}}"


# -- over time --------------------------------------------------------------------------------------


class Sequencer(Module):
    """Apply a module at every time step (Torch rnn's ``Sequencer``): ``y_t = m(x_t)``.

    The module must treat the rows of a batch independently (``Linear``, ``LogSoftMax``,
    activations, ``LookupTable``…): the ``(T, N, …)`` input is given to it as one batch of
    ``T·N`` rows and the output shaped back, so a ``Linear`` is one GEMM for the whole sequence.

    Args:
        module: the module to apply.

    Shape: input ``(T, N, …)`` (or ``(T, F)``: the T steps are the batch); output ``(T, N, …)``.

    """

    batch_dim = 1

    def __init__(self, module: Module) -> None:
        super().__init__()
        if not isinstance(module, Module):
            raise InputTypeError(f"Sequencer: expected a Module, got {type(module).__name__}")
        self.module = module
        self._lead: tuple[int, ...] = ()

    def children(self) -> list[Module]:
        return [self.module]

    def config(self) -> dict[str, Any]:
        return {"module": self.module}

    def reset(self, rng: int | np.random.Generator | None = None, *, stdv: float | None = None) -> Sequencer:
        self.module.reset(rng) if stdv is None else self.module.reset(rng, stdv=stdv)
        return self

    def checkInput(self, input: Any) -> None:
        if not isinstance(input, np.ndarray) or input.ndim < 2:
            got = f"shape {input.shape}" if isinstance(input, np.ndarray) else type(input).__name__
            self.fail(f"expected a sequence array (T, N, ...) or (T, F), got {got}")

    def updateOutput(self, input: np.ndarray) -> np.ndarray:
        # (T, N, ...) floats, or (T, N) indices, are T·N rows; (T, F) floats or (T,) indices are T rows
        integer = input.dtype.kind in "iu"
        self._lead = input.shape[:2] if input.ndim >= (2 if integer else 3) else input.shape[:1]
        out = self.module.forward(input.reshape((-1,) + input.shape[len(self._lead):]))
        self.output = out.reshape(self._lead + out.shape[1:])
        return self.output

    def updateGradInput(self, input: np.ndarray, gradOutput: np.ndarray) -> Any:
        flat = input.reshape((-1,) + input.shape[len(self._lead):])
        grad = self.module.updateGradInput(flat, gradOutput.reshape((-1,) + gradOutput.shape[len(self._lead):]))
        self.gradInput = None if grad is None else grad.reshape(input.shape)
        return self.gradInput

    def accGradParameters(self, input: np.ndarray, gradOutput: np.ndarray, scale: float = 1.0) -> None:
        flat = input.reshape((-1,) + input.shape[len(self._lead):])
        self.module.accGradParameters(flat, gradOutput.reshape((-1,) + gradOutput.shape[len(self._lead):]), scale)

    def __repr__(self) -> str:
        return f"nn.Sequencer @ {repr(self.module)}".replace("\n", "\n  ")


class MaskZero(Module):
    """Treat the steps whose input row is all zeros as padding (Torch rnn's ``MaskZero``).

    Around a recurrent layer (``RNN``, ``LSTM``, ``GRU``, ``Recurrence``): at padded steps
    the output is zero and the state passes through unchanged. Around any other module:
    the output rows of padded steps are zeroed. Either way padded steps get no gradient.
    A row is padding when every feature of the input at ``(t, n)`` is zero.

    Args:
        module: the module to wrap.

    Shape: as the wrapped module's; input ``(T, N, F)`` or ``(T, F)``.

    """

    batch_dim = 1

    def __init__(self, module: Module) -> None:
        super().__init__()
        if not isinstance(module, Module):
            raise InputTypeError(f"MaskZero: expected a Module, got {type(module).__name__}")
        self.module = module

    def children(self) -> list[Module]:
        return [self.module]

    def config(self) -> dict[str, Any]:
        return {"module": self.module}

    def reset(self, rng: int | np.random.Generator | None = None, *, stdv: float | None = None) -> MaskZero:
        self.module.reset(rng) if stdv is None else self.module.reset(rng, stdv=stdv)
        return self

    def checkInput(self, input: Any) -> None:
        if not isinstance(input, np.ndarray) or input.ndim < 2:
            self.fail("expected a sequence array (T, N, F) or (T, F)")

    def _keep(self, input: np.ndarray) -> np.ndarray:
        return np.any(input != 0, axis=-1)

    def updateOutput(self, input: np.ndarray) -> np.ndarray:
        keep = self._keep(input)
        if isinstance(self.module, _Recurrent):
            self.module._mask = keep if input.ndim == 3 else keep[:, None]
            try:
                self.output = self.module.forward(input)
            finally:
                self.module._mask = None
            return self.output
        out = self.module.forward(input)
        self.output = resized(self.output, out)
        np.multiply(out, keep.reshape(keep.shape + (1,) * (out.ndim - keep.ndim)), out=self.output)
        return self.output

    def updateGradInput(self, input: np.ndarray, gradOutput: np.ndarray) -> np.ndarray:
        keep = self._keep(input)
        if isinstance(self.module, _Recurrent):
            self.module._mask = keep if input.ndim == 3 else keep[:, None]
            try:
                self.gradInput = self.module.updateGradInput(input, gradOutput)
            finally:
                self.module._mask = None
            return self.gradInput
        shaped = keep.reshape(keep.shape + (1,) * (gradOutput.ndim - keep.ndim))
        grad = self.module.updateGradInput(input, gradOutput * shaped)
        self.gradInput = resized(self.gradInput, grad)
        np.multiply(grad, keep.reshape(keep.shape + (1,) * (grad.ndim - keep.ndim)), out=self.gradInput)
        return self.gradInput

    def accGradParameters(self, input: np.ndarray, gradOutput: np.ndarray, scale: float = 1.0) -> None:
        keep = self._keep(input)
        if isinstance(self.module, _Recurrent):
            self.module.accGradParameters(input, gradOutput, scale)
            return
        shaped = keep.reshape(keep.shape + (1,) * (gradOutput.ndim - keep.ndim))
        self.module.accGradParameters(input, gradOutput * shaped, scale)

    def __repr__(self) -> str:
        return f"nn.MaskZero @ {repr(self.module)}".replace("\n", "\n  ")


class SequencerCriterion(Criterion):
    """A criterion summed over time (Torch rnn's ``SequencerCriterion``): ``ℓ = Σ_t c(x_t, y_t)`` (÷ T with
    ``size_average``).

    Backward: ``∂ℓ/∂x_t = ∂c(x_t, y_t)/∂x_t`` (÷ T). With ``mask_zero``, the rows whose input is
    all zeros (the padded steps :class:`MaskZero` produces) are left out of each step's criterion
    (Torch rnn's ``MaskZeroCriterion``): they add nothing to the loss, get zero gradient, and do
    not count in the criterion's own averaging over the batch.

    Args:
        criterion: the per-step criterion (e.g. ``CrossEntropyCriterion``).
        size_average: divide the sum by the number of steps T (sets ``sizeAverage``; default: sum, as Torch rnn).
        mask_zero: leave out all-zero input rows.

    Shape: input ``(T, N, C)`` or ``(T, C)``; target ``(T, N, …)`` or ``(T, …)`` (e.g. labels ``(T, N)``).

    """

    def __init__(self, criterion: Criterion, size_average: bool = False, mask_zero: bool = False) -> None:
        super().__init__()
        if not isinstance(criterion, Criterion):
            raise InputTypeError(f"SequencerCriterion: expected a Criterion, got {type(criterion).__name__}")
        self.criterion, self.sizeAverage, self.mask_zero = criterion, size_average, mask_zero

    def children(self) -> list[Criterion]:
        return [self.criterion]

    def checkInput(self, input: Any, target: Any) -> None:
        super().checkInput(input, target)
        if input.ndim < 2:
            self.fail(f"expected a sequence input (T, N, C) or (T, C), got shape {input.shape}")
        if not isinstance(target, np.ndarray) or target.shape[:1] != input.shape[:1]:
            got = f"shape {target.shape}" if isinstance(target, np.ndarray) else type(target).__name__
            self.fail(f"expected a target array with the input's {input.shape[0]} time steps first, got {got}")

    def _rows(self, input: np.ndarray, t: int) -> np.ndarray | None:
        """The rows of step ``t`` to keep (``None``: all of them)."""
        if not self.mask_zero or input.ndim < 3:
            return None
        return np.flatnonzero(np.any(input[t] != 0, axis=-1))

    def updateOutput(self, input: np.ndarray, target: np.ndarray) -> float:
        total = 0.0
        for t in range(input.shape[0]):
            rows = self._rows(input, t)
            if rows is None:
                total += float(self.criterion.forward(input[t], target[t]))
            elif rows.size:
                total += float(self.criterion.forward(input[t][rows], target[t][rows]))
        self.output = total / input.shape[0] if self.sizeAverage else total
        return self.output

    def updateGradInput(self, input: np.ndarray, target: np.ndarray) -> np.ndarray:
        self.gradInput = resized(self.gradInput, input)
        norm = 1.0 / input.shape[0] if self.sizeAverage else 1.0
        for t in range(input.shape[0]):
            rows = self._rows(input, t)
            if rows is None:
                self.criterion.forward(input[t], target[t])
                grad = self.criterion.backward(input[t], target[t])
                np.multiply(grad, norm, out=self.gradInput[t])
                continue
            self.gradInput[t] = 0
            if rows.size:
                self.criterion.forward(input[t][rows], target[t][rows])
                self.gradInput[t][rows] = norm * self.criterion.backward(input[t][rows], target[t][rows])
        return self.gradInput

    def extra_repr(self) -> str:
        flags = ", size_average" if self.sizeAverage else ""
        return f"{self.criterion.describe()}{flags}{', mask_zero' if self.mask_zero else ''}"
