"""ember: a small, fast, transparent neural-network library on NumPy, in the style of Torch ``nn``."""

from ember import check, data, nn, optim
from ember.errors import (
    CheckSetupError,
    DataFileError,
    EmberError,
    FileAccessError,
    InputError,
    InputIndexError,
    InputTypeError,
    MissingFileError,
    ModelFileError,
    NonFiniteError,
    NotAFileError,
    NotFittedError,
    ProtocolError,
    SaveError,
    SizeError,
    UnreadableFileError,
    UntrustedModuleError,
)
from ember.random import manual_seed

__version__ = "0.1.0"
__all__ = ["CheckSetupError", "DataFileError", "EmberError", "FileAccessError", "InputError", "InputIndexError",
           "InputTypeError", "MissingFileError", "ModelFileError", "NonFiniteError", "NotAFileError", "NotFittedError",
           "ProtocolError", "SaveError", "SizeError", "UnreadableFileError", "UntrustedModuleError", "check", "data",
           "manual_seed", "nn", "optim"]
