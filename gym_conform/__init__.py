"""gym-conform: conformance harness and data preparation for NeMo Gym resources servers."""

from gym_conform.errors import (
    ConfigError,
    DataError,
    DownloadError,
    GymConformError,
    Location,
    MetricsConflictError,
    Problem,
    ProblemsFound,
    ServerError,
)

__version__ = "0.1.0"

__all__ = [
    "ConfigError",
    "DataError",
    "DownloadError",
    "GymConformError",
    "Location",
    "MetricsConflictError",
    "Problem",
    "ProblemsFound",
    "ServerError",
    "__version__",
]
