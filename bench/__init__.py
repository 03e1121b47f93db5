"""Benchmarks of the platform (not tests): each prints ratios against a baseline measured in the
same run and writes its results, with the machine and date, to ``docs/benchmarks.md``."""
