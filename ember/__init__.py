"""ember: a small, fast, transparent neural-network library on NumPy, in the style of Torch ``nn``."""

from ember import check, data, nn, optim
from ember.errors import (
    CheckSetupError,
    DataFileError,
    EmberError,
    InputError,
    InputIndexError,
    InputTypeError,
    ModelFileError,
    NonFiniteError,
    NotFittedError,
    ProtocolError,
    UntrustedModuleError,
)
from ember.random import manual_seed

__version__ = "0.1.0"
__all__ = ["CheckSetupError", "DataFileError", "EmberError", "InputError", "InputIndexError", "InputTypeError",
           "ModelFileError", "NonFiniteError", "NotFittedError", "ProtocolError", "UntrustedModuleError", "check",
           "data", "manual_seed", "nn", "optim"]
