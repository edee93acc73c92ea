"""Benchmarks of the data pipeline (run as modules, e.g. `python -m qrtse.training.benchmarks.mixing_speed`)."""
