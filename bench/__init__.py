"""Benchmarks of the SIPAS bot: `python -m bench.run` prints a table and writes results.json."""
