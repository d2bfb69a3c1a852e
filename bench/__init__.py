"""Benchmark harness for report generation (not part of the test suite).

Run ``.venv/bin/python -m bench.run --help``; see bench/README.md."""
