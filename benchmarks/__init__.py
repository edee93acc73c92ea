"""Benchmarks of inference, training and the mixture builder, run from the checkout as modules,
e.g. `python -m benchmarks.inference` or `python -m benchmarks.mixing` (not installed)."""
