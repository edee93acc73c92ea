"""Benchmarks of the data pipeline (run as modules, e.g. `python -m training.benchmarks.mixing_speed`)."""
