"""Config files in YAML read into pydantic models, with errors naming the file, entry and field."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from newsmon.errors import ConfigError

M = TypeVar("M", bound=BaseModel)


class ConfigFileError(ConfigError):
    """A config file cannot be used; the message names the file, the entry and the reason."""


def _describe(path: Path, data: Any, key: str, noun: str, exc: ValidationError) -> str:
    lines = []
    for error in exc.errors():
        loc = list(error["loc"])
        where = ""
        if len(loc) >= 2 and loc[0] == key and isinstance(loc[1], int):
            index = loc[1]
            items = data.get(key) if isinstance(data, dict) else None
            item = items[index] if isinstance(items, list) and index < len(items) else None
            name = item.get("name") if isinstance(item, dict) else None
            where = f"{noun} {name!r}" if name else f"{noun} #{index + 1}"
            loc = loc[2:]
        field = ".".join(str(part) for part in loc if not isinstance(part, int))
        message = error["msg"].removeprefix("Value error, ")
        lines.append(f"{path}: {' '.join(p for p in (where, field) if p)}: {message}")
    return "\n".join(lines)


def load_yaml_model(path: Path, model: type[M], key: str, noun: str) -> M:
    """Read path as YAML into model, whose `key` is a list of named `noun`s."""
    return parse_yaml_model(path, read_config(path, noun), model, key, noun)


def read_config(path: Path, noun: str) -> str:
    """The text of a config file of `noun`s; a clear error naming it if it cannot be read."""
    try:
        return path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigFileError(f"{path}: cannot read {noun}s: {exc.strerror or exc}") from exc


def parse_yaml_model(path: Path, text: str, model: type[M], key: str, noun: str) -> M:
    """Parse the YAML text of the file at path into model, whose `key` is a list of `noun`s."""
    try:
        data = yaml.safe_load(text) or {}
    except yaml.YAMLError as exc:
        raise ConfigFileError(f"{path}: not valid YAML: {exc}") from exc
    if not isinstance(data, dict):
        raise ConfigFileError(f"{path}: expected a mapping with a `{key}:` list")
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise ConfigFileError(_describe(path, data, key, noun, exc)) from exc


def parse_duration(value: Any) -> Any:
    """Seconds, or a number with a unit: 90s, 30m, 2h, 1d (other values pass through)."""
    if isinstance(value, str):
        found = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([smhd]?)\s*", value)
        if not found:
            raise ValueError(f"{value!r} is not a duration such as 90s, 30m, 2h or 1d")
        return float(found[1]) * {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}[found[2]]
    return value
