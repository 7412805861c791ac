"""example_multi_step: look up synonym values with a tool, then submit them in order."""
