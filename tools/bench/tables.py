"""The tokens tables at size, on PostgreSQL (docs/benchmarks.md#the-tables-at-size).

`make bench` runs the flush part: 1,000,000 expired refresh tokens (chained by `rotated_from`, 10 to a
session) seeded with generate_series, then `manage.py flush_expired_tokens` with the default settings
(server-side binding, 5 s statement timeout) while 4 clients refresh through gunicorn. Prints the flush's
time and a refresh's p99 before and during it: the goal is within 2x.

`make bench-scale` (`--scale`) seeds 10,000 and then 10,000,000 refresh tokens (a tenth of the sessions
ended, half of them expired, 10 sessions a user) and times, in process through Django's test client,
refresh, whoami, logout-all, the session list and one flush batch at each size: the goal is each within
1.2x of its cost at 10,000 rows. It writes the EXPLAIN of every statement they run to
bench/results/scale_explain.txt.

DATABASE_URL (default the local `bench` database, created if missing) is emptied of sessions first.
"""

import argparse
import contextlib
import itertools
import json
import logging
import os
import re
import secrets
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import psycopg

sys.path.insert(0, str(Path(__file__).resolve().parent))
from run import (
    DEFAULT_REDIS_URL,
    PRODUCTION_LINK_PAGES,
    PYTHON,
    RESULTS,
    ROOT,
    Server,
    ensure_postgres_database,
    issue_pair,
    request,
)

DEFAULT_DATABASE_URL = "postgresql://postgres@127.0.0.1:5432/bench"
CHAIN = 10  # refresh tokens per session, each rotated from the one before
SESSIONS_PER_USER = 10
SEED_USER_IDS = 1_000_000_000  # seeded users' ids start here, apart from the ones the project creates
FLUSH_P99_TARGET = 2.0
SCALE_TARGET = 1.2
TABLES = ("tokens_session", "tokens_refreshtoken")


def bench_env(database_url: str) -> dict[str, str]:
    return {
        **os.environ,
        "DJANGO_DEBUG": "0",
        "DJANGO_SECURE_SSL_REDIRECT": "0",
        "DJANGO_ALLOWED_HOSTS": "127.0.0.1,localhost,testserver",
        "DJANGO_SECRET_KEY": secrets.token_urlsafe(50),
        "JWT_SIGNING_KEY": secrets.token_urlsafe(48),
        "DATABASE_URL": database_url,
        "REDIS_URL": os.environ.get("REDIS_URL", DEFAULT_REDIS_URL),
        "JWT_ACCESS_TTL": "3600",
        "LOG_LEVEL": "ERROR",
        **PRODUCTION_LINK_PAGES,
        # The tables are measured, not the per-client limits: every request here is one client.
        "API_THROTTLE_TOKENS": "",
        "API_THROTTLE_SESSION": "",
    }


# --- seeding ------------------------------------------------------------------------------------


@contextlib.contextmanager
def without_indexes(conn: psycopg.Connection) -> Iterator[None]:
    """Drops the tokens tables' keys, constraints and indexes, and builds them again after the load:
    a sorted build is many times faster than 10 M random inserts into five B-trees."""
    constraints, indexes = [], []
    for table in TABLES:
        constraints += conn.execute(
            "SELECT %s, conname, contype, pg_get_constraintdef(oid) FROM pg_constraint"
            " WHERE conrelid = %s::regclass AND contype IN ('p', 'u', 'f')",
            (table, table),
        ).fetchall()
        indexes += conn.execute(
            "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = %s"
            " AND indexname NOT IN (SELECT conname FROM pg_constraint WHERE conrelid = %s::regclass)",
            (table, table),
        ).fetchall()
    order = {"f": 0, "u": 1, "p": 2}  # what references a key goes first
    for table, name, _kind, _ in sorted(constraints, key=lambda c: order[c[2]]):
        conn.execute(f'ALTER TABLE {table} DROP CONSTRAINT "{name}"')
    for name, _ in indexes:
        conn.execute(f'DROP INDEX "{name}"')
    yield
    conn.execute("SET maintenance_work_mem = '256MB'")
    for table, name, _kind, definition in sorted(constraints, key=lambda c: -order[c[2]]):
        conn.execute(f'ALTER TABLE {table} ADD CONSTRAINT "{name}" {definition}')
    for _, definition in indexes:
        conn.execute(definition)


def seed(database_url: str, *, tokens: int, expired_share: float, ended_share: float) -> float:
    """Empties the tokens tables and seeds `tokens` refresh tokens; returns the seconds it took.

    Sessions of CHAIN tokens, SESSIONS_PER_USER to a user. The first `expired_share` of the sessions
    are long over (every token expired); the others were refreshed hourly and live on, and
    `ended_share` of those were logged out. UUIDs are md5 hashes: spread over the key space as
    uuid4s are.
    """
    sessions = tokens // CHAIN
    users = max(1, sessions // SESSIONS_PER_USER)
    expired = int(sessions * expired_share)
    ended_every = round(1 / ended_share) if ended_share else 0
    started = time.monotonic()
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute("SET statement_timeout = 0")
        conn.execute("TRUNCATE tokens_refreshtoken, tokens_session")
        conn.execute("DELETE FROM core_user WHERE id >= %s", (SEED_USER_IDS,))
        conn.execute(
            "INSERT INTO core_user (id, password, email, display_name, avatar_url, date_joined, is_superuser,"
            " is_active, is_staff, email_verified) SELECT %s + i, '!', 'seed' || i || '@bench.invalid', '', '',"
            " now(), false, true, false, true FROM generate_series(0, %s) AS i",
            (SEED_USER_IDS, users - 1),
        )
        with conn.transaction(), without_indexes(conn):
            conn.execute(
                "INSERT INTO tokens_session (id, user_id, created_at, expires_at, ended_at, end_reason, user_agent,"
                "  auth_time, amr, acr)"
                " SELECT md5('s' || i)::uuid, %(users_from)s + i %% %(users)s, created, created + interval '30 days',"
                "  CASE WHEN %(ended_every)s > 0 AND i %% %(ended_every)s = 1 THEN now() END,"
                "  CASE WHEN %(ended_every)s > 0 AND i %% %(ended_every)s = 1 THEN 'logout' ELSE '' END, 'seeded',"
                "  created, '[]'::jsonb, 'aal1'"
                " FROM (SELECT i, CASE WHEN i < %(expired)s THEN now() - interval '40 days'"
                "  ELSE now() - interval '10 hours' END AS created FROM generate_series(0, %(last)s) AS i) AS s",
                {
                    "users_from": SEED_USER_IDS,
                    "users": users,
                    "ended_every": ended_every,
                    "expired": expired,
                    "last": sessions - 1,
                },
            )
            conn.execute(
                "INSERT INTO tokens_refreshtoken (jti, session_id, issued_at, expires_at, rotated_from_id)"
                " SELECT md5('t' || i)::uuid, md5('s' || (i / %(chain)s))::uuid, issued, issued + interval '14 days',"
                "  CASE WHEN i %% %(chain)s = 0 THEN NULL ELSE md5('t' || (i - 1))::uuid END"
                " FROM (SELECT i, CASE WHEN i / %(chain)s < %(expired)s THEN now() - interval '40 days'"
                "  ELSE now() - interval '10 hours' END + (i %% %(chain)s) * interval '1 hour' AS issued"
                "  FROM generate_series(0, %(last)s) AS i) AS t",
                {"chain": CHAIN, "expired": expired, "last": sessions * CHAIN - 1},
            )
        conn.execute("ANALYZE core_user, tokens_session, tokens_refreshtoken")
    return time.monotonic() - started


# --- make bench: the flush of 1,000,000 -------------------------------------------------------


def p99(latencies: list[float]) -> float:
    return statistics.quantiles(latencies, n=100)[98]


class Refreshers:
    """`clients` threads, each refreshing its own session's chain one request after another."""

    def __init__(self, port: int, refresh_tokens: list[str]) -> None:
        self.port, self.tokens = port, refresh_tokens
        self.latencies: list[float] = []
        self.failures: list[str] = []
        self.stop = threading.Event()

    def run_until(self, done: threading.Event | None = None, *, seconds: float | None = None) -> list[float]:
        self.latencies, self.stop = [], threading.Event()
        threads = [threading.Thread(target=self._loop, args=(index,)) for index in range(len(self.tokens))]
        for thread in threads:
            thread.start()
        if done is not None:
            done.wait()
        else:
            time.sleep(seconds or 0)
        self.stop.set()
        for thread in threads:
            thread.join()
        return self.latencies

    def _loop(self, index: int) -> None:
        while not self.stop.is_set():
            began = time.perf_counter()
            status, body = request("POST", self.port, "/api/auth/token/refresh", body={"refresh": self.tokens[index]})
            if status != 200:
                self.failures.append(f"{status}: {body[:200]!r}")
                return
            self.latencies.append(time.perf_counter() - began)
            self.tokens[index] = json.loads(body)["refresh"]


def flush_bench(database_url: str, *, tokens: int, before_seconds: float, clients: int) -> bool:
    env = bench_env(database_url)
    subprocess.run([PYTHON, "manage.py", "migrate", "--noinput", "-v0"], cwd=ROOT, env=env, check=True)
    seconds = seed(database_url, tokens=tokens, expired_share=1.0, ended_share=0.0)
    print(f"seeded {tokens:,} expired refresh tokens in {seconds:.0f} s")
    with Server(env) as server:
        refreshers = Refreshers(server.port, [issue_pair(env)["refresh"] for _ in range(clients)])
        refreshers.run_until(seconds=2)  # warm-up: every worker thread connected, the statements prepared
        before = refreshers.run_until(seconds=before_seconds)
        done, result = threading.Event(), {}

        def flush() -> None:
            began = time.monotonic()
            out = subprocess.run(
                [PYTHON, "manage.py", "flush_expired_tokens"], cwd=ROOT, env=env, capture_output=True, text=True
            )
            result.update(seconds=time.monotonic() - began, returncode=out.returncode, output=out.stdout + out.stderr)
            done.set()

        threading.Thread(target=flush).start()
        during = refreshers.run_until(done)
    with psycopg.connect(database_url) as conn:
        left = conn.execute("SELECT count(*) FROM tokens_refreshtoken WHERE expires_at < now()").fetchone()[0]
    deleted = re.search(r"Deleted (\d+) expired session\(s\), (\d+) expired refresh token", result["output"])
    ratio = p99(during) / p99(before)
    rows = [
        (
            "flush_expired_tokens, default settings",
            f"{result['seconds']:.1f} s",
            "",
            f"exit {result['returncode']}",
            result["returncode"] == 0,
        ),
        (
            "  deleted: sessions, refresh tokens",
            f"{deleted[1]}, {deleted[2]}" if deleted else result["output"][-200:],
            "",
            f"{tokens // CHAIN}, {tokens}",
            bool(deleted) and int(deleted[2]) == tokens,
        ),
        ("  expired tokens left", str(left), "", "0", left == 0),
        (
            f"refresh p99, {clients} clients, before",
            f"{p99(before) * 1000:.1f} ms ({len(before)} refreshes)",
            "",
            "",
            True,
        ),
        (
            "refresh p99 during the flush",
            f"{p99(during) * 1000:.1f} ms ({len(during)} refreshes)",
            f"{ratio:.2f}",
            f"<= {FLUSH_P99_TARGET}",
            ratio <= FLUSH_P99_TARGET,
        ),
        ("  refreshes refused", str(len(refreshers.failures)), "", "0", not refreshers.failures),
    ]
    print_rows(rows)
    return all(row[-1] for row in rows)


def print_rows(rows: list[tuple[str, str, str, str, bool]]) -> None:
    print(f"\n{'measure':42} {'measured':34} {'ratio':>6}  {'target':12} ok")
    for name, measured, ratio, target, ok in rows:
        print(f"{name:42} {measured:34} {ratio:>6}  {target:12} {'yes' if ok else 'NO'}")


# --- make bench-scale: the same operations at 10 k and 10 M rows -------------------------------


def scale_costs(*, repeats: int) -> tuple[dict[str, float], dict[str, list[str]]]:
    """Median milliseconds of each operation, in this process, and the SQL each ran."""
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from core.models import User
    from tokens import services

    client = Client()
    tag = secrets.token_hex(4)
    probe = User.objects.create_user(email=f"probe-{tag}@bench.invalid")
    pairs = [services.session_start(user=probe, user_agent="probe") for _ in range(50)]
    bearer = {"HTTP_AUTHORIZATION": f"Bearer {pairs[0].access}"}
    refresh = pairs[1].refresh

    def do_refresh() -> None:
        nonlocal refresh
        response = client.post("/api/auth/token/refresh", {"refresh": refresh}, content_type="application/json")
        assert response.status_code == 200, response.content
        refresh = response.json()["refresh"]

    def do_whoami() -> None:
        assert client.get("/api/auth/whoami", **bearer).status_code == 200

    def do_sessions() -> None:
        response = client.get("/api/auth/sessions", **bearer)
        assert response.status_code == 200, response.content
        assert len(response.json()["items"]) == 50

    logout_users, leavers = [], itertools.count()

    def prepare_logout_all() -> None:
        user = User.objects.create_user(email=f"leaver-{tag}-{next(leavers)}@bench.invalid")
        pairs = [services.session_start(user=user) for _ in range(5)]
        logout_users.append(pairs[0].access)

    def do_logout_all() -> None:
        response = client.post("/api/auth/logout-all", HTTP_AUTHORIZATION=f"Bearer {logout_users.pop()}")
        assert response.json() == {"sessions_ended": 5}, response.content

    flush = services.refresh_tokens_flush_batches()

    def do_flush_batch() -> None:
        assert next(flush).tokens == services.FLUSH_BATCH_SIZE

    operations = {
        "refresh": (do_refresh, None, repeats),
        "whoami": (do_whoami, None, repeats * 3),
        "logout-all (5 sessions)": (do_logout_all, prepare_logout_all, max(10, repeats // 5)),
        "sessions list (50 items)": (do_sessions, None, repeats),
        "flush, one batch of 1,000": (do_flush_batch, None, 3),
    }
    costs, statements = {}, {}
    for name, (operation, prepare, count) in operations.items():
        timings = []
        for index in range(count + 1):
            if prepare:
                prepare()
            with CaptureQueriesContext(connection) as queries:
                began = time.perf_counter()
                operation()
                elapsed = time.perf_counter() - began
            if index:  # the first one warms the caches and prepares the statements
                timings.append(elapsed * 1000)
            else:
                statements[name] = [query["sql"] for query in queries.captured_queries]
        costs[name] = statistics.median(timings)
    return costs, statements


def explain(database_url: str, statements: dict[str, list[str]]) -> str:
    lines = []
    with psycopg.connect(database_url) as conn:
        for name, sqls in statements.items():
            lines.append(f"== {name}")
            for sql in sqls:
                if not re.match(r"\s*(SELECT|UPDATE|DELETE|INSERT)", sql):
                    continue  # BEGIN, COMMIT, SAVEPOINT
                lines.append(f"-- {sql[:300]}{'...' if len(sql) > 300 else ''}")
                plan = conn.execute(f"EXPLAIN (COSTS OFF) {sql}").fetchall()
                lines += ["   " + row[0] for row in plan]
            conn.rollback()
    return "\n".join(lines) + "\n"


def scale_bench(database_url: str, *, sizes: list[int], repeats: int) -> bool:
    env = bench_env(database_url)
    subprocess.run([PYTHON, "manage.py", "migrate", "--noinput", "-v0"], cwd=ROOT, env=env, check=True)
    os.environ.update(env)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    sys.path.insert(0, str(ROOT))
    import django
    from django.db import connections

    django.setup()
    # The event log has its own handler, whatever LOG_LEVEL says: a line per refresh would bury the table.
    logging.getLogger("auth.events").disabled = True
    results, seed_seconds, statements = {}, {}, {}
    for size in sizes:
        connections.close_all()
        seed_seconds[size] = seed(database_url, tokens=size, expired_share=0.5, ended_share=0.1)
        print(f"seeded {size:,} refresh tokens in {seed_seconds[size]:.0f} s", flush=True)
        results[size], statements = scale_costs(repeats=repeats)
    small, large = sizes[0], sizes[-1]
    rows = [(f"seed {size:,} refresh tokens", f"{seed_seconds[size]:.0f} s", "", "", True) for size in sizes]
    for name in results[small]:
        ratio = results[large][name] / results[small][name]
        measured = f"{results[small][name]:.2f} / {results[large][name]:.2f} ms"
        rows.append(
            (f"{name}, {small:,} / {large:,}", measured, f"{ratio:.2f}", f"<= {SCALE_TARGET}", ratio <= SCALE_TARGET)
        )
    print_rows(rows)
    out_dir = RESULTS
    out_dir.mkdir(exist_ok=True)
    (out_dir / "scale_explain.txt").write_text(explain(database_url, statements))
    print(f"\nEXPLAIN of every statement at {large:,}: {out_dir / 'scale_explain.txt'}")
    return all(row[-1] for row in rows)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scale", action="store_true", help="the 10 k / 10 M comparison instead of the flush")
    parser.add_argument("--tokens", type=int, help="expired tokens to flush (1,000,000), or the large size (10 M)")
    parser.add_argument("--seconds", type=float, default=20.0, help="refreshes measured before the flush")
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--repeats", type=int, default=200, help="--scale: timed calls per operation")
    parser.add_argument("--quick", action="store_true", help="a small run of everything (CI)")
    parser.add_argument("--database", help="ignored here: bench/side_by_side.py's (make bench passes BENCH_ARGS)")
    args = parser.parse_args()
    database_url = os.environ.get("DATABASE_URL", DEFAULT_DATABASE_URL)
    if not database_url.startswith("postgres"):
        print("tools/bench/tables.py measures PostgreSQL: set DATABASE_URL=postgresql://...", file=sys.stderr)
        return 1
    ensure_postgres_database(database_url)
    if args.scale:
        large = args.tokens or (100_000 if args.quick else 10_000_000)
        ok = scale_bench(database_url, sizes=[10_000, large], repeats=20 if args.quick else args.repeats)
    else:
        tokens = args.tokens or (100_000 if args.quick else 1_000_000)
        ok = flush_bench(
            database_url, tokens=tokens, before_seconds=3 if args.quick else args.seconds, clients=args.clients
        )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
