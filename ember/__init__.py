"""ember: a small, fast, transparent neural-network library on NumPy, in the style of Torch ``nn``."""

from ember import check, nn
from ember.random import manual_seed

__version__ = "0.1.0"
__all__ = ["check", "manual_seed", "nn"]
