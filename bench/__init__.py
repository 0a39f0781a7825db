"""Benchmarks: programs that print figures beside anchors measured in the same run."""
