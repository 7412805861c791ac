"""gym-conform's pytest plugin: a conformance suite for every resources-server folder (entry point: `.plugin`)."""
