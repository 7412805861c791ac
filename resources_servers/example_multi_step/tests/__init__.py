"""Tests of the example_multi_step resources server."""
