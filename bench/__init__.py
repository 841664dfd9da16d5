"""Benchmarks of Export Job Desk: `make bench` runs bench/run.py (not part of `make test`)."""
