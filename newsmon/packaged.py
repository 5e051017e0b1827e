"""Default configuration files shipped inside the package: alert rules, feed list, index template.

The files live in the repository's deploy/ folder, where operators edit them; the package's
default_config/ folder links to them, and a built wheel carries copies, so an installed newsmon
finds its defaults wherever it runs.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path


def packaged(name: str) -> Path:
    """Path of a default config file shipped with newsmon (default_config/NAME)."""
    return Path(str(resources.files("newsmon") / "default_config" / name))
