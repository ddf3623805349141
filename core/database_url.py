"""DATABASE_URL to Django's DATABASES entry, PostgreSQL's several hosts included (config/settings.py)."""

from typing import Any

import dj_database_url


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
