"""Thin command-line front ends."""
