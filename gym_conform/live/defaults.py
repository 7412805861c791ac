"""Default figures of the live checks, in a module of their own so the plugin's option help imports nothing else."""

DEFAULT_CONCURRENCY = 32
DEFAULT_STARTUP_TIMEOUT = 900.0
