"""`make bench`: measures the token hot paths against a real server, side by side in one run.

- requests/s of an unauthenticated endpoint (GET /api/health/live) against GET /api/auth/whoami,
  in alternating rounds, once with the session denylist off and once on with Redis;
- refreshes per second, sequentially along one session's chain;
- winners when 8 threads present the same refresh token at once, over 20 trials;
- whoami against liveness with the defaults: the denylist's mirror and the session throttle on
  (counted per process), its rate raised so that one client making every request is not refused;
- revocation across processes (tools/bench/revocation.py): whoami answers 200 after a logout's 204
  over --pairs sessions (goal 0), and what waiting for every mirror adds to the logout;
- per signing algorithm (HS256, RS256, ES256, EdDSA): the CPU cost of verifying one access token
  through the project's code next to a bare `jwt.decode` with the same key (tools/bench/verify_cost.py,
  in process), and whoami against liveness on a server signing with that algorithm.

The server is gunicorn with 2 workers on PostgreSQL (DATABASE_URL, default the local
`bench` database, created if missing) and Redis (REDIS_URL, default database 1). Prints a
table and writes tools/bench/results/latest.json. Ratios, not absolute numbers, are the result:
both sides of each ratio run on the same machine in the same minute.
"""

import argparse
import http.client
import json
import os
import secrets
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import revocation  # tools/bench/revocation.py (this script's folder is on sys.path)

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parents[1]
# What each run writes (git ignores it).
RESULTS = BENCH / "results"
PYTHON = sys.executable
DEFAULT_DATABASE_URL = "postgresql://postgres@127.0.0.1:5432/bench"
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/1"
TARGETS = {"whoami/live": (0.9, 0.95)}  # (denylist off, denylist on with Redis: each worker's mirror answers)
# The project's first verification of an access token may cost this much a bare jwt.decode.
VERIFY_COST_TARGET = 1.2
# Only how long to poll for a server to come up (a loaded machine takes tens of seconds).
START_WAIT_SECONDS = 90
ALGORITHMS = ("HS256", "RS256", "ES256", "EdDSA")
# Debug off wants https pages for the emailed links (accounts.E004, E008), as production sets them.
PRODUCTION_LINK_PAGES = {
    "ACCOUNTS_VERIFY_EMAIL_URL": "https://app.example.com/auth/verify-email#uid={uid}&token={token}",
    "ACCOUNTS_RESET_PASSWORD_URL": "https://app.example.com/auth/reset-password#uid={uid}&token={token}",
    "ACCOUNTS_EMAIL_CODE_URL": "https://app.example.com/sign-in#email={email}&code={code}",
    "ACCOUNTS_EMAIL_CHANGE_URL": "https://app.example.com/auth/email-change#uid={uid}&token={token}",
    "ACCOUNTS_EMAIL_CHANGE_CANCEL_URL": "https://app.example.com/auth/email-change-cancel#uid={uid}&token={token}",
}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def ensure_postgres_database(url: str) -> None:
    import psycopg

    name = url.rsplit("/", 1)[1]
    admin_url = url.rsplit("/", 1)[0] + "/postgres"
    with psycopg.connect(admin_url, autocommit=True, connect_timeout=3) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone():
            conn.execute(f'CREATE DATABASE "{name}"')


class Server:
    """gunicorn with 2 workers (gunicorn.conf.py: gthread, 8 threads), started with `env` and stopped on exit."""

    def __init__(self, env: dict[str, str]):
        self.port = free_port()
        # gunicorn's own messages and the auth event log (a line per refresh) would bury the table.
        self.log = tempfile.TemporaryFile("w+")  # noqa: SIM115 (closed by stop())
        self.process = subprocess.Popen(
            [
                str(Path(PYTHON).parent / "gunicorn"),
                "config.wsgi:application",
                "--workers",
                "2",
                "--bind",
                f"127.0.0.1:{self.port}",
                "--log-level",
                "warning",
            ],
            cwd=ROOT,
            env=env,
            stdout=self.log,
            stderr=self.log,
        )
        deadline = time.monotonic() + START_WAIT_SECONDS
        while time.monotonic() < deadline:
            try:
                if request("GET", self.port, "/api/health")[0] == 200:
                    return
            except OSError:
                time.sleep(0.2)
        self.log.seek(0)
        output = self.log.read()[-3000:]
        self.stop()
        raise RuntimeError(f"gunicorn did not become healthy in {START_WAIT_SECONDS} s:\n{output}")

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=START_WAIT_SECONDS)  # a loaded machine stops slowly too
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.log.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()


def request(method: str, port: int, path: str, *, token: str | None = None, body: dict | None = None):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    try:
        conn.request(method, path, body=json.dumps(body) if body is not None else None, headers=headers)
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        conn.close()


def throughput(port: int, path: str, *, token: str | None, seconds: float, clients: int) -> float:
    """Requests/s that `clients` threads get from `path` in `seconds`; every answer must be 200."""
    deadline = time.monotonic() + seconds
    counts = [0] * clients

    def loop(index: int) -> None:
        while time.monotonic() < deadline:
            status, body = request("GET", port, path, token=token)
            if status != 200:
                raise RuntimeError(f"{path} answered {status}: {body[:200]!r}")
            counts[index] += 1

    started = time.monotonic()
    with ThreadPoolExecutor(clients) as pool:
        list(pool.map(loop, range(clients)))
    return sum(counts) / (time.monotonic() - started)


def compare_whoami_to_live(port: int, token: str, *, rounds: int, seconds: float, clients: int) -> dict:
    """Alternating rounds; each round's ratio compares two measurements seconds apart.

    The median of the per-round ratios is the result: one round disturbed by the machine
    moves it less than it would move a ratio of averages. min and max show the spread.
    """
    # Warm-up of both paths: each worker imports and builds what a path needs on first use.
    throughput(port, "/api/health/live", token=None, seconds=1, clients=clients)
    throughput(port, "/api/auth/whoami", token=token, seconds=1, clients=clients)
    live, whoami = [], []
    for _ in range(rounds):
        live.append(throughput(port, "/api/health/live", token=None, seconds=seconds, clients=clients))
        whoami.append(throughput(port, "/api/auth/whoami", token=token, seconds=seconds, clients=clients))
    ratios = [w / lv for w, lv in zip(whoami, live, strict=True)]
    return {
        "live_rps": round(statistics.median(live), 1),
        "whoami_rps": round(statistics.median(whoami), 1),
        "ratio": round(statistics.median(ratios), 3),
        "ratio_min": round(min(ratios), 3),
        "ratio_max": round(max(ratios), 3),
    }


def worker_cpu_seconds(server: "Server") -> float:
    """CPU time (user + system) used so far by the server's worker processes, from /proc."""
    children = Path(f"/proc/{server.process.pid}/task/{server.process.pid}/children").read_text().split()
    total = 0
    for pid in children:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        total += int(fields[11]) + int(fields[12])  # utime, stime in clock ticks
    return total / os.sysconf("SC_CLK_TCK")


def server_cpu_per_request(server: "Server", path: str, *, token: str | None, requests: int) -> float:
    """Microseconds of worker CPU per request, one request at a time: the server's cost alone."""
    before = worker_cpu_seconds(server)
    for _ in range(requests):
        request("GET", server.port, path, token=token)
    return (worker_cpu_seconds(server) - before) / requests * 1e6


def redis_commands_per_request(redis_url: str, port: int, path: str, *, token: str, requests: int) -> float:
    """Commands Redis served per request (INFO commandstats), sequential requests; includes the mirrors' pings."""
    import redis

    client = redis.Redis.from_url(redis_url)

    def served() -> int:
        return sum(stat["calls"] for stat in client.info("commandstats").values())

    before = served()
    for _ in range(requests):
        request("GET", port, path, token=token)
    return (served() - before - 1) / requests  # less the INFO that read `before`


def refreshes_per_second(port: int, refresh: str, *, seconds: float) -> float:
    deadline, count, started = time.monotonic() + seconds, 0, time.monotonic()
    while time.monotonic() < deadline:
        status, body = request("POST", port, "/api/auth/token/refresh", body={"refresh": refresh})
        if status != 200:
            raise RuntimeError(f"refresh answered {status}: {body[:200]!r}")
        refresh = json.loads(body)["refresh"]
        count += 1
    return count / (time.monotonic() - started)


def race_winners(port: int, refresh: str, *, threads: int) -> int:
    barrier = threading.Barrier(threads)

    def attempt(_) -> int:
        barrier.wait()
        return request("POST", port, "/api/auth/token/refresh", body={"refresh": refresh})[0]

    with ThreadPoolExecutor(threads) as pool:
        statuses = list(pool.map(attempt, range(threads)))
    if set(statuses) - {200, 401}:
        raise RuntimeError(f"unexpected statuses in a race: {statuses}")
    return statuses.count(200)


def json_from(env: dict[str, str], *args: str) -> dict:
    """What a Python script of the project (run in ROOT with `env`) prints as JSON."""
    out = subprocess.run([PYTHON, *args], cwd=ROOT, env=env, check=True, capture_output=True, text=True).stdout
    return json.loads(out)


def issue_pair(env: dict[str, str]) -> dict:
    return json_from(env, "manage.py", "issue_tokens", "--email", "bench@example.com", "--create")


def signing_key(algorithm: str) -> str:
    """A new key for JWT_SIGNING_KEY: an HMAC secret, or a PEM private key of the algorithm's kind."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

    if algorithm.startswith("HS"):
        return secrets.token_urlsafe(48)
    private = {
        "RS256": lambda: rsa.generate_private_key(public_exponent=65537, key_size=3072),
        "ES256": lambda: ec.generate_private_key(ec.SECP256R1()),
        "EdDSA": ed25519.Ed25519PrivateKey.generate,
    }[algorithm]()
    return private.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()


def verify_cost(env: dict[str, str], *, rounds: int, calls: int) -> dict:
    return json_from(env, str(BENCH / "verify_cost.py"), str(rounds), str(calls))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--seconds", type=float, default=2.0, help="length of one measuring round")
    parser.add_argument("--clients", type=int, default=4, help="concurrent client threads")
    parser.add_argument("--trials", type=int, default=20, help="race trials")
    parser.add_argument("--race-threads", type=int, default=8)
    parser.add_argument("--pairs", type=int, default=2000, help="logout->whoami pairs across processes")
    parser.add_argument("--quick", action="store_true", help="one short round of everything (CI)")
    parser.add_argument("--database", help="ignored here: side_by_side.py's (make bench passes BENCH_ARGS to both)")
    args = parser.parse_args()
    if args.quick:
        args.rounds, args.seconds, args.trials, args.pairs = 1, 0.3, 2, 100

    database_url = os.environ.get("DATABASE_URL", DEFAULT_DATABASE_URL)
    redis_url = os.environ.get("REDIS_URL", DEFAULT_REDIS_URL)
    if database_url.startswith("postgres"):
        ensure_postgres_database(database_url)
    base_env = {
        **os.environ,
        "DJANGO_DEBUG": "0",
        # The bench talks plain HTTP to gunicorn, as a TLS-terminating proxy would.
        "DJANGO_SECURE_SSL_REDIRECT": "0",
        "DJANGO_SECRET_KEY": secrets.token_urlsafe(50),
        "JWT_SIGNING_KEY": secrets.token_urlsafe(48),
        "DATABASE_URL": database_url,
        "REDIS_URL": redis_url,
        "JWT_ACCESS_TTL": "3600",
        **PRODUCTION_LINK_PAGES,
        "LOG_LEVEL": "ERROR",  # the race trials answer 401s by design; keep the table readable
        # The server is measured, not the per-client limits (every request here is one client).
        "API_THROTTLE_SIGN_IN": "",
        "API_THROTTLE_TOKENS": "",
        "API_THROTTLE_SIGN_IN_PROVIDER": "",
        # One session makes every whoami here; its counter (one Redis command per request)
        # is on in `make load`, which measures the whole product.
        "API_THROTTLE_SESSION": "",
        # The race counts the requests that rotate the token; within a reuse interval the
        # losers would be handed the winner's token and answer 200 as well.
        "JWT_REFRESH_REUSE_INTERVAL": "0",
    }
    subprocess.run([PYTHON, "manage.py", "migrate", "--noinput", "-v0"], cwd=ROOT, env=base_env, check=True)

    results: dict = {
        "database": database_url.split(":", 1)[0],
        "rounds": args.rounds,
        "seconds_per_round": args.seconds,
        "clients": args.clients,
    }
    # The defaults: the denylist and its mirror on, the session throttle on (one client makes
    # every request here, so its rate is raised: the cost of counting does not depend on it).
    defaults = {"JWT_SESSION_DENYLIST": "1", "API_THROTTLE_SESSION": "100000000/min"}
    for label, extra in (
        ("denylist_off", {"JWT_SESSION_DENYLIST": "0"}),
        ("denylist_on_redis", {"JWT_SESSION_DENYLIST": "1"}),
        ("defaults", defaults),
    ):
        env = {**base_env, **extra}
        with Server(env) as server:
            token = issue_pair(env)["access"]
            results[label] = compare_whoami_to_live(
                server.port, token, rounds=args.rounds, seconds=args.seconds, clients=args.clients
            )
            # The same comparison without the load generator in the picture.
            results[label]["server_cpu_us"] = {
                name: round(server_cpu_per_request(server, path, token=auth, requests=2000), 1)
                for name, path, auth in (("live", "/api/health/live", None), ("whoami", "/api/auth/whoami", token))
            }
            results[label]["redis_commands_per_whoami"] = round(
                redis_commands_per_request(redis_url, server.port, "/api/auth/whoami", token=token, requests=1000), 3
            )

    with Server({**base_env, "JWT_SESSION_DENYLIST": "1"}) as server:
        results["refresh_sequential_rps"] = round(
            refreshes_per_second(server.port, issue_pair(base_env)["refresh"], seconds=args.seconds * 2), 1
        )
        winners = [
            race_winners(server.port, issue_pair(base_env)["refresh"], threads=args.race_threads)
            for _ in range(args.trials)
        ]
        results["race"] = {
            "trials": args.trials,
            "threads": args.race_threads,
            "winners_min": min(winners),
            "winners_max": max(winners),
        }

    results["revocation"] = revocation.measure(base_env, Server, pairs=args.pairs)

    results["algorithms"] = {}
    for algorithm in ALGORITHMS:
        env = {**base_env, "JWT_ALGORITHM": algorithm, "JWT_SIGNING_KEY": signing_key(algorithm)}
        env["JWT_SESSION_DENYLIST"] = "0"  # verification alone
        measured = {"verify": verify_cost(env, rounds=21, calls=300)}
        with Server(env) as server:
            token = issue_pair(env)["access"]
            measured["whoami"] = compare_whoami_to_live(
                server.port, token, rounds=max(3, args.rounds // 2), seconds=args.seconds, clients=args.clients
            )
        results["algorithms"][algorithm] = measured

    off, on, default = results["denylist_off"], results["denylist_on_redis"], results["defaults"]
    revoked = results["revocation"]
    accepted = revoked["mirror_on"]["accepted_after_204"]
    target_off, target_on = TARGETS["whoami/live"]
    rows = [
        (
            "whoami / live, denylist off",
            f"{off['whoami_rps']} / {off['live_rps']} req/s",
            f"{off['ratio']:.2f}",
            f">= {target_off}",
            off["ratio"] >= target_off,
        ),
        (
            "whoami / live, denylist on (Redis mirror)",
            f"{on['whoami_rps']} / {on['live_rps']} req/s",
            f"{on['ratio']:.2f}",
            f">= {target_on}",
            on["ratio"] >= target_on,
        ),
        (
            "  per-round ratios, off / on",
            f"{off['ratio_min']:.2f}-{off['ratio_max']:.2f} / {on['ratio_min']:.2f}-{on['ratio_max']:.2f}",
            "",
            "",
            True,
        ),
        ("server CPU/request live, denylist off", f"{off['server_cpu_us']['live']} us", "", "", True),
        (
            "server CPU/request whoami, denylist off",
            f"{off['server_cpu_us']['whoami']} us",
            f"{off['server_cpu_us']['live'] / off['server_cpu_us']['whoami']:.2f}",
            "",
            True,
        ),
        (
            "server CPU/request whoami, denylist on",
            f"{on['server_cpu_us']['whoami']} us",
            f"{on['server_cpu_us']['live'] / on['server_cpu_us']['whoami']:.2f}",
            "",
            True,
        ),
        (
            "whoami / live, defaults (+ session throttle)",
            f"{default['whoami_rps']} / {default['live_rps']} req/s",
            f"{default['ratio']:.2f}",
            f">= {target_on}",
            default["ratio"] >= target_on,
        ),
        (
            "Redis commands/whoami, denylist on / defaults",
            f"{on['redis_commands_per_whoami']} / {default['redis_commands_per_whoami']}",
            "",
            "",
            True,
        ),
        (
            "server CPU/request whoami, defaults",
            f"{default['server_cpu_us']['whoami']} us",
            f"{default['server_cpu_us']['live'] / default['server_cpu_us']['whoami']:.2f}",
            "",
            True,
        ),
        (
            f"accepted after logout 204, {revoked['mirror_on']['pairs']} pairs",
            f"other process {accepted['other_process']}, same {accepted['same_process']}",
            "",
            "== 0",
            accepted["other_process"] == accepted["same_process"] == 0,
        ),
        (
            "logout p50 / p99, mirror on (waits for acks)",
            f"{revoked['mirror_on']['logout_ms_p50']} / {revoked['mirror_on']['logout_ms_p99']} ms",
            "",
            "",
            True,
        ),
        (
            "logout p50 / p99, mirror off (baseline)",
            f"{revoked['mirror_off']['logout_ms_p50']} / {revoked['mirror_off']['logout_ms_p99']} ms",
            "",
            "",
            True,
        ),
        (
            "  logout latency added, p50 / p99",
            f"{revoked['logout_added_ms_p50']} / {revoked['logout_added_ms_p99']} ms",
            "",
            "",
            True,
        ),
        ("refresh, sequential", f"{results['refresh_sequential_rps']} req/s", "", "", True),
        (
            f"race winners, {args.race_threads} threads x {args.trials} trials",
            f"min {results['race']['winners_min']}, max {results['race']['winners_max']}",
            "",
            "== 1",
            results["race"]["winners_min"] == results["race"]["winners_max"] == 1,
        ),
    ]
    for algorithm, measured in results["algorithms"].items():
        verify, whoami = measured["verify"], measured["whoami"]
        rows.append(
            (
                f"{algorithm}: verify, project / bare jwt.decode",
                f"{verify['project_us']} / {verify['bare_jwt_decode_us']} us CPU",
                f"{verify['ratio']:.2f}",
                f"<= {VERIFY_COST_TARGET}",
                verify["ratio"] <= VERIFY_COST_TARGET,
            )
        )
        rows.append(
            (
                f"{algorithm}: whoami / live, denylist off",
                f"{whoami['whoami_rps']} / {whoami['live_rps']} req/s",
                f"{whoami['ratio']:.2f}",
                "",
                True,
            )
        )
    print(f"\n{'measure':46} {'measured (medians)':30} {'ratio':>6}  {'target':8} ok")
    for name, measured, ratio, target, ok in rows:
        print(f"{name:46} {measured:30} {ratio:>6}  {target:8} {'yes' if ok else 'NO'}")
    results["targets_met"] = all(row[-1] for row in rows)

    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "latest.json").write_text(json.dumps(results, indent=2) + "\n")
    print(f"\nwritten: {RESULTS / 'latest.json'}")
    return 0 if results["targets_met"] else 1


if __name__ == "__main__":
    sys.exit(main())
