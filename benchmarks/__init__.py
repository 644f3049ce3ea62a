"""ember's benchmark suite: ember side by side with PyTorch and hand-written NumPy (``python -m benchmarks``)."""
