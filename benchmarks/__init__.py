"""Benchmarks of the inference path; run as modules, e.g. `python -m benchmarks.inference`."""
