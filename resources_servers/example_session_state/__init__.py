"""example_session_state: a per-session counter seeded from the row and driven by tools."""
