"""ember.nn: modules, containers and criteria with Torch's ``nn`` protocol, on NumPy."""

from ember.nn import tables
from ember.nn.activation import (
    ELU,
    HardTanh,
    LeakyReLU,
    LogSigmoid,
    LogSoftMax,
    PReLU,
    ReLU,
    ReQU,
    Sigmoid,
    SoftMax,
    SoftMin,
    SoftPlus,
    SoftSign,
    Tanh,
    Threshold,
)
from ember.nn.adaptive import (
    FeatureLPPooling,
    SpatialAdaptiveAveragePooling,
    SpatialAdaptiveMaxPooling,
    SpatialLPPooling,
)
from ember.nn.bilinear import Bilinear
from ember.nn.classification import (
    BCEWithLogitsCriterion,
    ClassSimplexCriterion,
    MultiLabelMarginCriterion,
    MultiLabelSoftMarginCriterion,
    SpatialClassNLLCriterion,
)
from ember.nn.containers import (
    Bottle,
    Concat,
    ConcatTable,
    Container,
    DepthConcat,
    MapTable,
    Parallel,
    ParallelTable,
    Sequential,
)
from ember.nn.conv import SpatialConvolution, TemporalConvolution
from ember.nn.convmap import SpatialConvolutionMap, SpatialFullConvolutionMap
from ember.nn.criterion import Criterion
from ember.nn.decorators import Collapse, Decorator, GradientReversal, NaN, PrintSize, Profile, ZeroGrad
from ember.nn.depthwise import SpatialDepthWiseConvolution, SpatialSubSampling
from ember.nn.dilated import SpatialDilatedMaxPooling, TemporalDynamicKMaxPooling, TemporalMaxPooling
from ember.nn.dilatedconv import SpatialDilatedConvolution
from ember.nn.distance import Cosine, Euclidean, WeightedEuclidean
from ember.nn.dropout import Dropout, SpatialDropout
from ember.nn.elementwise import Abs, AddConstant, Clamp, Exp, Log, MulConstant, Power, Sqrt, Square
from ember.nn.feature import GatedLinearUnit, SpatialLogSoftMax, SpatialSoftMax
from ember.nn.fractional import SpatialFractionalMaxPooling, VolumetricFractionalMaxPooling
from ember.nn.graph import Node, gModule
from ember.nn.indexing import Constant, Index, MaskedSelect, OneHot, PixelShuffle
from ember.nn.layernorm import LayerNormalization
from ember.nn.linear import Add, CAdd, CMul, Identity, Linear, LookupTable, Mul
from ember.nn.linear_parts import Maxout, PartialLinear
from ember.nn.local import SpatialConvolutionLocal
from ember.nn.local_normalization import (
    SpatialContrastiveNormalization,
    SpatialDivisiveNormalization,
    SpatialSubtractiveNormalization,
)
from ember.nn.loss import (
    AbsCriterion,
    BCECriterion,
    ClassNLLCriterion,
    CrossEntropyCriterion,
    DistKLDivCriterion,
    HingeEmbeddingCriterion,
    L1Cost,
    MarginCriterion,
    ModuleCriterion,
    MSECriterion,
    MultiClassHingeCriterion,
    MultiCriterion,
    MultiMarginCriterion,
    ParallelCriterion,
    SmoothL1Criterion,
    SoftMarginCriterion,
    WeightedMSECriterion,
)
from ember.nn.module import Module
from ember.nn.noise import L1Penalty, WhiteNoise
from ember.nn.normalization import BatchNormalization, SpatialBatchNormalization
from ember.nn.normalize import Normalize, SpatialCrossMapLRN
from ember.nn.padding import Padding, SpatialReflectionPadding, SpatialReplicationPadding, VolumetricReplicationPadding
from ember.nn.pooling import SpatialAveragePooling, SpatialMaxPooling, SpatialZeroPadding
from ember.nn.products import MM, MV
from ember.nn.ranking import (
    CosineEmbeddingCriterion,
    DistanceRatioCriterion,
    L1HingeEmbeddingCriterion,
    MarginRankingCriterion,
)
from ember.nn.rectifiers import CReLU, HardShrink, ReLU6, RReLU, SoftShrink, TanhShrink
from ember.nn.recurrent import GRU, LSTM, RNN, MaskZero, Recurrence, Sequencer, SequencerCriterion
from ember.nn.reduction import Max, Mean, Min, Sum
from ember.nn.shape import Narrow, Replicate, Reshape, Select, Squeeze, Transpose, Unsqueeze, View
from ember.nn.smooth import CELU, GELU, SELU, Mish, SiLU
from ember.nn.sparse import IndexLinear, SparseLinear
from ember.nn.table import (
    CAddTable,
    CDivTable,
    CMaxTable,
    CMinTable,
    CMulTable,
    CosineDistance,
    CSubTable,
    DotProduct,
    FlattenTable,
    JoinTable,
    NarrowTable,
    PairwiseDistance,
    SelectTable,
    SplitTable,
)
from ember.nn.temporal import TemporalRowConvolution, TemporalSubSampling
from ember.nn.transposed import SpatialFullConvolution
from ember.nn.unpooling import SpatialMaxUnpooling, VolumetricMaxUnpooling
from ember.nn.upsampling import SpatialUpSamplingBilinear, SpatialUpSamplingNearest, UpSampling
from ember.nn.volumetric import (
    VolumetricAveragePooling,
    VolumetricBatchNormalization,
    VolumetricDilatedMaxPooling,
    VolumetricDropout,
    VolumetricMaxPooling,
)
from ember.nn.volumetric_conv import (
    VolumetricConvolution,
    VolumetricDilatedConvolution,
    VolumetricFullConvolution,
)
from ember.nn.weightnorm import LinearWeightNorm, WeightNorm
from ember.nn.zip import CAddTensorTable, CriterionTable, MixtureTable, ZipTable, ZipTableOneToMany
