"""Benchmarks for nwbscope; `python3 bench/run_all.py` runs them all (docs/performance.md)."""
