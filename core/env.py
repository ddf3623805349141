"""Typed reads of environment variables, used by config/settings.py only.

tests/unit/test_configuration_docs.py finds the variables the settings read through these
functions and checks that docs/configuration.md documents each.
"""

import json
import os
from typing import Any

import dj_database_url

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


def database_from_url(url: str, **options: Any) -> dj_database_url.DBConfig:
    """dj-database-url's settings for a database URL, and libpq's several hosts too.

    A PostgreSQL URL may list several servers, `postgresql://u@h1:5432,h2:5433/db?target_session_attrs=read-write`
    (libpq's multi-host form: it tries them in order and keeps the first that is a primary).
    dj-database-url refuses such a URL, so the list is taken out, the rest parsed as one host, and
    HOST and PORT given back as libpq's comma-separated lists, which Django passes on unchanged.
    """
    scheme, separator, rest = url.partition("://")
    netloc = rest.split("/", 1)[0].split("?", 1)[0]
    userinfo, at, hosts = netloc.rpartition("@")
    if not separator or "," not in hosts:
        return dj_database_url.parse(url, **options)
    names, ports = [], []
    for entry in hosts.split(","):
        # "[::1]:5432", "host:5432", "host": an IPv6 address keeps its colons inside the brackets.
        name, _, port = entry.rpartition(":") if entry.rfind(":") > entry.rfind("]") else (entry, "", "")
        if not name:
            raise ValueError(f"DATABASE_URL lists an empty host in {hosts!r}")
        names.append(name.strip("[]"))
        ports.append(port or "5432")
    config = dj_database_url.parse(f"{scheme}://{userinfo}{at}multi-host{rest[len(netloc) :]}", **options)
    config["HOST"], config["PORT"] = ",".join(names), ",".join(ports)
    return config
