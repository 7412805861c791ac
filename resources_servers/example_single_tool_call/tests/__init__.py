"""Tests of the example_single_tool_call resources server."""
