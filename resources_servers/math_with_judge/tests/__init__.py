"""Tests of the math_with_judge resources server."""
