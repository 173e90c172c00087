"""Integration tests: real clients against moto through the STS proxy."""
