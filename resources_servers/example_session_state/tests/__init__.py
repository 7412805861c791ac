"""Tests of the example_session_state resources server."""
