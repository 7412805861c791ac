"""A stand-in for the shape of NeMo Gym's server classes (this project's own code, not NeMo Gym's): tests only."""
