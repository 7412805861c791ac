"""Config loading as NeMo Gym does it: overrides, includes, env.yaml, interpolation, schemas."""
