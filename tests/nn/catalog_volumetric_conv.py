"""Catalog cases for the volumetric convolutions (volumetric_conv.py on convnd.py), compared with PyTorch's
conv3d and conv_transpose3d. Shapes are tiny: a 3-D convolution's finite-difference Jacobian costs two
forwards per input and weight element."""

from ember import nn
from tests.nn.catalog import Case, normal


def conv3d(torch, m, x, p):
    bias = p[1] if len(p) > 1 else None
    return torch.nn.functional.conv3d(x, p[0], bias, stride=m.d, padding=m.pad, dilation=m.dil)


def conv_transpose3d(torch, m, x, p):
    """ConvTranspose3d; a table [x, like] takes output_padding (like + 2·pad − k) mod stride, as Torch's."""
    bias, adj = p[1] if len(p) > 1 else None, m.adj
    if isinstance(x, list):
        x, like = x
        adj = tuple((t + 2 * pad - k) % d for t, pad, k, d in zip(like.shape[-3:], m.pad, m.k, m.d))
    return torch.nn.functional.conv_transpose3d(x, p[0], bias, stride=m.d, padding=m.pad, output_padding=adj,
                                                dilation=m.dil)


CASES = [
    Case("VolumetricConvolution", lambda rng: nn.VolumetricConvolution(2, 2, 2, 2, 2, rng=rng), normal(2, 3, 3, 3),
         normal(2, 2, 3, 3, 3), torch=conv3d),
    Case("VolumetricConvolution(stride, pad, no bias)",
         lambda rng: nn.VolumetricConvolution(1, 2, 2, 3, 2, dT=2, dW=1, dH=2, padT=1, padW=1, padH=0, bias=False,
                                              rng=rng),
         normal(1, 3, 4, 3), normal(2, 1, 3, 4, 3), torch=conv3d),
    Case("VolumetricDilatedConvolution(dilation 2,1,2, pad)",
         lambda rng: nn.VolumetricDilatedConvolution(2, 2, 2, 2, 2, padT=1, padW=0, padH=1, dilationT=2,
                                                     dilationW=1, dilationH=2, rng=rng),
         normal(2, 3, 3, 3), normal(2, 2, 3, 3, 3), torch=conv3d),
    Case("VolumetricFullConvolution", lambda rng: nn.VolumetricFullConvolution(2, 2, 2, 2, 2, rng=rng),
         normal(2, 2, 2, 2), normal(2, 2, 2, 2, 2), torch=conv_transpose3d),
    Case("VolumetricFullConvolution(stride, pad, adj)",
         lambda rng: nn.VolumetricFullConvolution(2, 1, 3, 2, 2, dT=2, dW=2, dH=3, padT=1, padW=0, padH=1, adjT=1,
                                                  adjW=0, adjH=2, rng=rng),
         normal(2, 2, 2, 2), normal(2, 2, 2, 2, 2), torch=conv_transpose3d),
    Case("VolumetricFullConvolution([input, like])",
         lambda rng: nn.VolumetricFullConvolution(2, 1, 2, 2, 2, 2, 2, 2, rng=rng),
         lambda rng: [rng.standard_normal((2, 2, 2, 2)), rng.standard_normal((1, 5, 4, 5))],
         lambda rng: [rng.standard_normal((2, 2, 2, 2, 2)), rng.standard_normal((2, 1, 5, 4, 5))],
         torch=conv_transpose3d),
    Case("VolumetricFullConvolution(no bias)",
         lambda rng: nn.VolumetricFullConvolution(1, 2, 2, 1, 2, dT=2, bias=False, rng=rng),
         normal(1, 2, 2, 3), normal(2, 1, 2, 2, 3), torch=conv_transpose3d),
]
