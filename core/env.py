"""Typed reads of environment variables, used by config/settings.py only.

tests/unit/test_configuration_docs.py finds the variables the settings read through these
functions and checks that docs/configuration.md documents each.
"""

import json
import os
from typing import Any

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


def env_str(name: str, default: str = "") -> str:
    return os.environ.get(name, default)


def env_bool(name: str, default: bool) -> bool:
    raw = os.environ.get(name)
    if raw is None:
        return default
    value = raw.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ValueError(f"{name} must be a boolean (1/0, true/false), got {raw!r}")


def env_int(name: str, default: int) -> int:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        return int(raw)
    except ValueError:
        raise ValueError(f"{name} must be an integer, got {raw!r}") from None


def env_list(name: str, default: list[str]) -> list[str]:
    raw = os.environ.get(name)
    if raw is None:
        return default
    return [item.strip() for item in raw.split(",") if item.strip()]


def env_json(name: str, default: Any) -> Any:
    # JSON of any shape: the setting that reads it declares the shape it expects.
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        return json.loads(raw)
    except json.JSONDecodeError as exc:
        raise ValueError(f"{name} is not valid JSON: {exc}") from None


def env_header(name: str) -> tuple[str, str] | None:
    """An HTTP header and its value, "X-Forwarded-Proto: https", as Django's META key and value."""
    raw = os.environ.get(name, "").strip()
    if not raw:
        return None
    header, separator, value = raw.partition(":")
    if not separator or not header.strip() or not value.strip():
        raise ValueError(f"{name} must be a header and its value, as in 'X-Forwarded-Proto: https'; got {raw!r}")
    return "HTTP_" + header.strip().upper().replace("-", "_"), value.strip()
