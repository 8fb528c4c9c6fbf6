"""Benchmarks and measurements (`make bench`); not collected by pytest."""
