"""A local network on one machine, for development, tests and benchmarks."""
