"""Indexing and rearranging modules: ``Index`` and ``MaskedSelect`` (tables of values and indices),
``PixelShuffle`` (channels to space), ``OneHot`` (labels to vectors) and ``Constant``. Indices are 0-based.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ember.nn.module import Module, resized


def _check_pair(module: Module, input: Any, second: str) -> None:
    if not isinstance(input, list) or len(input) != 2 or not all(isinstance(a, np.ndarray) for a in input):
        module.fail(f"expected a list [array, {second}] as input, got {type(input).__name__}", TypeError)
    if not np.issubdtype(input[0].dtype, np.floating):
        module.fail(f"expected a floating-point array first, got dtype {input[0].dtype}", TypeError)


class Index(Module):
    """Selects entries along a dimension by an index array (Torch's ``nn.Index``, NumPy's ``take``): input
    ``[t, indices]``, output ``t`` indexed by ``indices`` (0-based) along ``dim``.

    Backward: ``∂L/∂t`` adds each output slice back at its index (repeated indices sum); the indices get
    a zero gradient.

    Args:
        dim: the dimension of ``t`` to index (0-based).

    """

    def __init__(self, dim: int) -> None:
        super().__init__()
        self.dim = dim
        self.gradInput: Any = []

    def config(self) -> dict[str, Any]:
        return {"dim": self.dim}

    def checkInput(self, input: Any) -> None:
        _check_pair(self, input, "integer indices")
        t, index = input
        if not np.issubdtype(index.dtype, np.integer) or index.ndim != 1:
            self.fail(f"expected a 1-D integer index array, got dtype {index.dtype} and shape {index.shape}",
                      TypeError)
        if not -t.ndim <= self.dim < t.ndim:
            self.fail(f"dim {self.dim} is out of range for a {t.ndim}-D input (dims are 0-based)")
        size = t.shape[self.dim]
        if index.size and (index.min() < 0 or index.max() >= size):
            self.fail(f"index out of range for size {size} along dim {self.dim} (indices are 0-based)", IndexError)

    def updateOutput(self, input: list[np.ndarray]) -> np.ndarray:
        t, index = input
        result = np.take(t, index, axis=self.dim)
        self.output = resized(self.output, t, result.shape)
        np.copyto(self.output, result)
        return self.output

    def updateGradInput(self, input: list[np.ndarray], gradOutput: np.ndarray) -> list[np.ndarray]:
        t, index = input
        grad = np.zeros_like(t)
        moved = np.moveaxis(grad, self.dim, 0)
        np.add.at(moved, index, np.moveaxis(gradOutput, self.dim, 0))
        self.gradInput = [grad, np.zeros(index.shape, dtype=t.dtype)]
        return self.gradInput

    def extra_repr(self) -> str:
        return str(self.dim)


class MaskedSelect(Module):
    """The entries of ``t`` where ``mask`` is true, as a 1-D array in row-major order (Torch's
    ``nn.MaskedSelect``): input ``[t, mask]``.

    Backward: ``∂L/∂t`` is ``gradOutput`` scattered back to the masked positions, 0 elsewhere; the mask
    gets a zero gradient.
    """

    def __init__(self) -> None:
        super().__init__()
        self.gradInput: Any = []

    def checkInput(self, input: Any) -> None:
        _check_pair(self, input, "boolean mask")
        if input[1].shape != input[0].shape:
            self.fail(f"expected a mask of the input's shape {input[0].shape}, got {input[1].shape}")

    def updateOutput(self, input: list[np.ndarray]) -> np.ndarray:
        t, mask = input
        result = t[mask.astype(bool)]
        self.output = resized(self.output, t, result.shape)
        np.copyto(self.output, result)
        return self.output

    def updateGradInput(self, input: list[np.ndarray], gradOutput: np.ndarray) -> list[np.ndarray]:
        t, mask = input
        grad = np.zeros_like(t)
        grad[mask.astype(bool)] = gradOutput
        self.gradInput = [grad, np.zeros(mask.shape, dtype=t.dtype)]
        return self.gradInput


class PixelShuffle(Module):
    """Rearranges ``(C·r², H, W)`` into ``(C, rH, rW)`` (Torch's ``nn.PixelShuffle``, PyTorch's
    ``pixel_shuffle``; Shi et al.'s sub-pixel convolution): ``y[c, h·r + i, w·r + j] = x[c·r² + i·r + j, h, w]``.

    Backward: the inverse rearrangement of ``gradOutput``.

    Args:
        upscale_factor: ``r``.

    Shape: ``(C·r², H, W)`` or ``(batch, C·r², H, W)``.

    """

    def __init__(self, upscale_factor: int) -> None:
        super().__init__()
        self.upscale_factor = upscale_factor
        if upscale_factor < 1:
            self.fail(f"upscale_factor must be at least 1, got {upscale_factor}")

    def config(self) -> dict[str, Any]:
        return {"upscale_factor": self.upscale_factor}

    def checkInput(self, input: np.ndarray) -> None:
        super().checkInput(input)
        r2 = self.upscale_factor ** 2
        if input.ndim not in (3, 4) or input.shape[-3] % r2:
            self.fail(f"expected input (C·{r2}, H, W) or (batch, C·{r2}, H, W), got {input.shape}")

    def updateOutput(self, input: np.ndarray) -> np.ndarray:
        r = self.upscale_factor
        *lead, channels, h, w = input.shape
        c = channels // (r * r)
        result = input.reshape(*lead, c, r, r, h, w)
        result = np.moveaxis(result, (-4, -3), (-3, -1)).reshape(*lead, c, h * r, w * r)
        self.output = resized(self.output, input, result.shape)
        np.copyto(self.output, result)
        return self.output

    def updateGradInput(self, input: np.ndarray, gradOutput: np.ndarray) -> np.ndarray:
        r = self.upscale_factor
        *lead, channels, h, w = input.shape
        c = channels // (r * r)
        grad = gradOutput.reshape(*lead, c, h, r, w, r)
        grad = np.moveaxis(grad, (-3, -1), (-4, -3)).reshape(input.shape)
        self.gradInput = resized(self.gradInput, input)
        np.copyto(self.gradInput, grad)
        return self.gradInput

    def extra_repr(self) -> str:
        return str(self.upscale_factor)


class OneHot(Module):
    """Integer labels to one-hot rows (Torch's ``nn.OneHot``, 0-based here): ``(n,)`` labels →
    ``(n, output_size)``, 1 at each label. Labels are not differentiable: ``gradInput`` is zeros.

    Args:
        output_size: the number of classes.

    """

    def __init__(self, output_size: int) -> None:
        super().__init__()
        self.output_size = output_size

    def config(self) -> dict[str, Any]:
        return {"output_size": self.output_size}

    def checkInput(self, input: Any) -> None:
        if not isinstance(input, np.ndarray) or not np.issubdtype(input.dtype, np.integer):
            self.fail("expected an integer array of labels (0-based)", TypeError)
        if input.size and (input.min() < 0 or input.max() >= self.output_size):
            self.fail(f"label out of range for {self.output_size} classes (labels are 0-based)", IndexError)

    def updateOutput(self, input: np.ndarray) -> np.ndarray:
        dtype = self.output.dtype if np.issubdtype(self.output.dtype, np.floating) else np.float64
        self.output = resized(self.output, np.empty(0, dtype), input.shape + (self.output_size,))
        self.output.fill(0.0)
        np.put_along_axis(self.output, input[..., None], 1.0, axis=-1)
        return self.output

    def updateGradInput(self, input: np.ndarray, gradOutput: np.ndarray) -> np.ndarray:
        self.gradInput = np.zeros(input.shape, dtype=gradOutput.dtype)
        return self.gradInput

    def extra_repr(self) -> str:
        return str(self.output_size)


class Constant(Module):
    """Outputs a constant array whatever the input (Torch's ``nn.Constant``), repeated along a batch
    dimension when the input has one more than ``n_input_dim``. ``gradInput`` is zeros.

    Args:
        value: the constant (an array or a number).
        n_input_dim: the dimensions of one example of the input (default: no batch handling).

    """

    def __init__(self, value: Any, n_input_dim: int | None = None) -> None:
        super().__init__()
        self.register_buffer("value", np.array(value, dtype=np.float64))
        self.n_input_dim = n_input_dim

    def config(self) -> dict[str, Any]:
        return {"value": self.value.tolist(), "n_input_dim": self.n_input_dim}

    def checkInput(self, input: Any) -> None:
        """Any array passes (its values are ignored; the output has its dtype if it is floating, else float64)."""
        if not isinstance(input, np.ndarray):
            self.fail(f"expected a NumPy array, got {type(input).__name__}", TypeError)

    def updateOutput(self, input: np.ndarray) -> np.ndarray:
        value = self.value.astype(input.dtype) if input.dtype.kind == "f" else self.value
        if self.n_input_dim is not None and input.ndim == self.n_input_dim + 1:
            value = np.broadcast_to(value, (input.shape[0],) + value.shape)
        self.output = resized(self.output, value)
        np.copyto(self.output, value)
        return self.output

    def updateGradInput(self, input: np.ndarray, gradOutput: np.ndarray) -> np.ndarray:
        self.gradInput = resized(self.gradInput, input)
        self.gradInput.fill(0.0)
        return self.gradInput

    def extra_repr(self) -> str:
        return f"shape {self.value.shape}" if self.value.ndim else f"{float(self.value):g}"
