"""Loopback stand-ins of remote services, so tests exercise real clients without the internet."""
