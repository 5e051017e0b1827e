"""The stories' lifecycle policy: when the write index rolls over, and when old indices go.

One file (`deploy/elasticsearch/stories-lifecycle.json`, an ILM policy body) serves two
kinds of cluster: one with index lifecycle management gets it installed as an ILM policy;
one without (serverless, the test emulator) gets the same rules applied by newsmon itself
(`newsmon es rollover`, and after every sync).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

from newsmon.packaged import packaged

DEFAULT_LIFECYCLE = packaged("stories-lifecycle.json")

_UNITS = {
    "d": timedelta(days=1),
    "h": timedelta(hours=1),
    "m": timedelta(minutes=1),
    "s": timedelta(seconds=1),
    "ms": timedelta(milliseconds=1),
}
_DURATION = re.compile(r"^([0-9]+)(d|h|ms|m|s)$")


def parse_duration(text: str) -> timedelta:
    """An Elasticsearch time value (30d, 12h, 0ms) as a timedelta; ValueError names the text."""
    found = _DURATION.match(text.strip())
    if not found:
        raise ValueError(f"{text!r} is not a duration like 30d, 12h, 15m, 30s or 0ms")
    return int(found.group(1)) * _UNITS[found.group(2)]


@dataclass(frozen=True, slots=True)
class LifecyclePolicy:
    """The ILM policy body, with the retention setting applied as its delete phase."""

    body: dict[str, Any]
    source: Path

    @classmethod
    def load(cls, path: Path | None, retention: str | None) -> LifecyclePolicy:
        """Read the policy file; a retention (30d) replaces its delete phase."""
        source = path or DEFAULT_LIFECYCLE
        try:
            body: dict[str, Any] = json.loads(source.read_text(encoding="utf-8"))
            phases = body["phases"]
            if not isinstance(phases, dict):
                raise ValueError("'phases' is not an object")
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise ValueError(f"{source}: cannot read lifecycle policy: {exc}") from exc
        if retention:
            parse_duration(retention)
            phases["delete"] = {"min_age": retention, "actions": {"delete": {}}}
        policy = cls(body, source)
        policy.delete_after()  # a bad min_age fails here, naming the file, not mid-run
        return policy

    def rollover_conditions(self) -> dict[str, Any]:
        """The hot phase's rollover conditions (max_age, max_primary_shard_size, ...)."""
        hot = self.body["phases"].get("hot", {})
        return dict(hot.get("actions", {}).get("rollover", {}))

    def delete_after(self) -> timedelta | None:
        """How long after its rollover an index is deleted; None: kept for ever."""
        delete = self.body["phases"].get("delete")
        if not delete:
            return None
        try:
            return parse_duration(str(delete.get("min_age", "0ms")))
        except ValueError as exc:
            raise ValueError(f"{self.source}: delete phase: {exc}") from exc
