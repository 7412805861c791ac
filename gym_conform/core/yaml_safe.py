"""The one YAML loader of the project: PyYAML's safe loader, backed by libyaml when it is installed."""

from __future__ import annotations

from typing import Any

import yaml

# libyaml's parser builds the same nodes (with marks) as PyYAML's pure-Python one, about ten times faster;
# both construct with SafeConstructor, so no tag can run code.
SAFE_LOADER: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def safe_load(text: str) -> Any:
    """Parse YAML text like `yaml.safe_load`, with libyaml when available."""
    return yaml.load(text, Loader=SAFE_LOADER)  # noqa: S506 - SAFE_LOADER is a safe loader
