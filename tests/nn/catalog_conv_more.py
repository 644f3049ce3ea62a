"""Catalog cases for the convolution variants: dilated, transposed (full), depth-wise, sub-sampling, locally
connected, and through a connection table (dilatedconv.py, transposed.py, depthwise.py, local.py,
convmap.py).

PyTorch references: ``conv2d`` with ``dilation``; ``conv_transpose2d`` with ``output_padding``; ``conv2d`` with
``groups`` (depth-wise, weight relaid; sub-sampling as a kernel constant over each window). The locally
connected layer and the table convolutions have no PyTorch module: they are compared with torch built from
equivalent operations (``F.unfold`` and a per-position product; a dense kernel scattered from the table).
"""

import numpy as np

from ember import nn
from tests.nn.catalog import Case, normal


def F(torch):
    return torch.nn.functional


def batched(x, fn):
    """Apply ``fn`` to ``x`` with a batch of one added when ``x`` is a single example."""
    return fn(x) if x.dim() == 4 else fn(x.unsqueeze(0)).squeeze(0)


def torch_dilated(torch, m, x, p):
    return F(torch).conv2d(x, p[0], p[1] if len(p) > 1 else None, stride=(m.dH, m.dW), padding=(m.padH, m.padW),
                           dilation=(m.dilationH, m.dilationW))


def torch_full(torch, m, x, p):
    """ConvTranspose2d; a table input [x, like] gives the output like's size (output_padding from it)."""
    adj_h, adj_w = m.adjH, m.adjW
    if isinstance(x, list):
        x, like = x
        adj_h = (like.shape[-2] + 2 * m.padH - m.kH) % m.dH
        adj_w = (like.shape[-1] + 2 * m.padW - m.kW) % m.dW
    return F(torch).conv_transpose2d(x, p[0], p[1] if len(p) > 1 else None, stride=(m.dH, m.dW),
                                     padding=(m.padH, m.padW), output_padding=(adj_h, adj_w))


def torch_depthwise(torch, m, x, p):
    """groups = C: PyTorch's output plane c·m + k is input plane c through kernel k, as Torch's."""
    planes, multiplier = m.n_input_plane, m.n_output_plane
    weight = p[0].transpose(0, 1).reshape(planes * multiplier, 1, m.kH, m.kW)
    bias = p[1].transpose(0, 1).reshape(-1) if len(p) > 1 else None
    return F(torch).conv2d(x, weight, bias, stride=(m.dH, m.dW), padding=(m.padH, m.padW), groups=planes)


def torch_subsampling(torch, m, x, p):
    kernel = p[0].reshape(-1, 1, 1, 1).expand(-1, 1, m.kH, m.kW)
    return F(torch).conv2d(x, kernel, p[1], stride=(m.dH, m.dW), groups=m.n_input_plane)


def torch_local(torch, m, x, p):
    """Each output position's own (O, C·kH·kW) kernel times its window (F.unfold), plus the bias (O, oH, oW)."""
    def local(x4):
        cols = F(torch).unfold(x4, (m.kH, m.kW), padding=(m.padH, m.padW), stride=(m.dH, m.dW))  # (N, C·k, L)
        kernels = p[0].reshape(m.oH * m.oW, m.n_output_plane, -1)
        out = torch.einsum("lok,nkl->nol", kernels, cols)
        return out.reshape(len(x4), m.n_output_plane, m.oH, m.oW) + p[1]
    return batched(x, local)


def dense_kernel(torch, m, weight, transposed):
    """The table's kernels scattered into a dense (O, C, kH, kW) kernel ((C, O, …) when transposed)."""
    table = torch.from_numpy(m.conn_table)
    rows, columns = (table[:, 0], table[:, 1]) if transposed else (table[:, 1], table[:, 0])
    shape = (m.n_input_plane, m.n_output_plane) if transposed else (m.n_output_plane, m.n_input_plane)
    return torch.zeros(shape + (m.kH, m.kW), dtype=weight.dtype).index_put((rows, columns), weight, accumulate=True)


def torch_map(torch, m, x, p):
    x = x[..., :m.n_input_plane, :, :]
    return F(torch).conv2d(x, dense_kernel(torch, m, p[0], False), p[1], stride=(m.dH, m.dW))


def torch_full_map(torch, m, x, p):
    x = x[..., :m.n_input_plane, :, :]
    return batched(x, lambda x4: F(torch).conv_transpose2d(x4, dense_kernel(torch, m, p[0], True), p[1],
                                                           stride=(m.dH, m.dW)))


TABLE = np.array([[0, 0], [1, 0], [1, 2], [2, 1], [0, 2]])  # 3 planes to 3, output 1 fed by plane 2 only
TWICE = np.array([[0, 1], [1, 0], [0, 1]])  # the pair (0, 1) linked by two kernels: they add up


CASES = [
    Case("SpatialDilatedConvolution(2->3, 3x2, 1,2, 2,1, 2,2)",
         lambda rng: nn.SpatialDilatedConvolution(2, 3, 3, 2, 1, 2, 2, 1, 2, 2, rng=rng), normal(2, 6, 5),
         normal(2, 2, 6, 5), torch=torch_dilated),
    Case("SpatialDilatedConvolution(3x3, dilation 1,3, no bias)",
         lambda rng: nn.SpatialDilatedConvolution(2, 2, 3, 3, dilationW=1, dilationH=3, bias=False, rng=rng),
         normal(2, 7, 4), normal(2, 2, 7, 4), torch=torch_dilated),
    Case("SpatialFullConvolution(2->3, 3x3, 2,2, 1,1, adj 1,1)",
         lambda rng: nn.SpatialFullConvolution(2, 3, 3, 3, 2, 2, 1, 1, 1, 1, rng=rng), normal(2, 3, 2),
         normal(2, 2, 3, 2), torch=torch_full),
    Case("SpatialFullConvolution(2x3, 3,1, adj 0,2, no bias)",
         lambda rng: nn.SpatialFullConvolution(2, 2, 2, 3, 3, 3, 0, 1, 0, 2, bias=False, rng=rng), normal(2, 2, 3),
         normal(2, 2, 2, 3), torch=torch_full),
    Case("SpatialFullConvolution([input, like])",
         lambda rng: nn.SpatialFullConvolution(2, 2, 3, 3, 2, 2, 1, 1, rng=rng),
         lambda rng: [rng.standard_normal((2, 2, 3)), rng.standard_normal((1, 4, 6))],
         lambda rng: [rng.standard_normal((2, 2, 2, 3)), rng.standard_normal((2, 1, 4, 6))], torch=torch_full),
    Case("SpatialDepthWiseConvolution(2 x 3, 3x2, 1,2, 1,0)",
         lambda rng: nn.SpatialDepthWiseConvolution(2, 3, 3, 2, 1, 2, 1, 0, rng=rng), normal(2, 5, 4),
         normal(2, 2, 5, 4), torch=torch_depthwise),
    Case("SpatialDepthWiseConvolution(3 x 1, 2x2, pad 1, no bias)",
         lambda rng: nn.SpatialDepthWiseConvolution(3, 1, 2, 2, padW=1, bias=False, rng=rng), normal(3, 3, 3),
         normal(2, 3, 3, 3), torch=torch_depthwise),
    Case("SpatialSubSampling(2, 2x2, 2,2)", lambda rng: nn.SpatialSubSampling(2, 2, 2, 2, 2, rng=rng),
         normal(2, 4, 5), normal(2, 2, 4, 5), torch=torch_subsampling),
    Case("SpatialSubSampling(3, 3x2, 1,1)", lambda rng: nn.SpatialSubSampling(3, 3, 2, rng=rng), normal(3, 3, 4),
         normal(2, 3, 3, 4), torch=torch_subsampling),
    Case("SpatialConvolutionLocal(2->2, 4x4, 2x2)",
         lambda rng: nn.SpatialConvolutionLocal(2, 2, 4, 4, 2, 2, rng=rng), normal(2, 4, 4), normal(2, 2, 4, 4),
         torch=torch_local),
    Case("SpatialConvolutionLocal(1->2, 5x4, 3x2, 2,1, 1,0)",
         lambda rng: nn.SpatialConvolutionLocal(1, 2, 5, 4, 3, 2, 2, 1, 1, 0, rng=rng), normal(1, 4, 5),
         normal(2, 1, 4, 5), torch=torch_local),
    Case("SpatialConvolutionMap(5 kernels 3->3, 2x2, 1,2)",
         lambda rng: nn.SpatialConvolutionMap(TABLE, 2, 2, 1, 2, rng=rng), normal(3, 5, 4), normal(2, 3, 5, 4),
         torch=torch_map),
    Case("SpatialConvolutionMap(pair linked twice, 4 planes given)",
         lambda rng: nn.SpatialConvolutionMap(TWICE, 2, 3, rng=rng), normal(4, 4, 3), normal(2, 4, 4, 3),
         torch=torch_map),
    Case("SpatialFullConvolutionMap(5 kernels 3->3, 2x2, 2,1)",
         lambda rng: nn.SpatialFullConvolutionMap(TABLE, 2, 2, 2, 1, rng=rng), normal(3, 2, 3),
         normal(2, 3, 2, 3), torch=torch_full_map),
    Case("SpatialFullConvolutionMap(oneToOne(2), 3x2, 3,2)",
         lambda rng: nn.SpatialFullConvolutionMap(nn.tables.oneToOne(2), 3, 2, 3, 2, rng=rng), normal(2, 2, 2),
         normal(2, 2, 2, 2), torch=torch_full_map),
]
