"""`make bench`, side by side: this project next to the libraries people would otherwise pick.

Four servers run at once with the same gunicorn settings (2 gthread workers of 8 threads): a bare
django-ninja endpoint (no authentication), django-ninja-jwt and djangorestframework-simplejwt with
rotation and their refresh-token blacklists (peers/ beside this file, pinned in its requirements.txt and
installed into .venv-peers, never into the project's requirements), and this project. Measured
in alternating rounds so that the machine's drift hits every side alike:

- protected GET requests/s as a ratio to the bare endpoint (ours: whoami, denylist on);
- queries per refresh (Django's test client in each project's own process);
- sequential refreshes per second along one chain (ours as a ratio to django-ninja-jwt's in the
  same round), and winners when 8 threads refresh one token;
- with Redis (PostgreSQL runs), revocation propagation: log out on one server process, time until
  another process refuses the access token, p50 and p99.

`--database sqlite` gives each project its own SQLite file; `--database postgres` its own database
next to DATABASE_URL's, and this project Redis (REDIS_URL). `--quick` is one short round;
`--ours-only` leaves the peers out (and never builds .venv-peers): with both, the test suite's check
that this script still runs (tests/unit/test_bench_side_by_side.py).
Prints the machine, the table and issue 16's targets, and writes
tools/bench/results/side_by_side-<database>.json (or --output). Ratios measured in one run are the result, not absolute
numbers. Exits 1 when a target is missed (never with --quick, whose numbers mean nothing).
"""

import argparse
import json
import os
import platform
import secrets
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from run import (
    BENCH,
    DEFAULT_DATABASE_URL,
    DEFAULT_REDIS_URL,
    PRODUCTION_LINK_PAGES,
    PYTHON,
    RESULTS,
    ROOT,
    ensure_postgres_database,
    free_port,
    request,
    throughput,
)

PEERS = BENCH / "peers"
PEERS_VENV = ROOT / ".venv-peers"
PEERS_PYTHON = PEERS_VENV / "bin" / "python"
WORKERS, THREADS = "2", "8"
PASSWORD = "bench-password-0123456789"  # noqa: S105 (a throwaway user in a throwaway database)


class Project:
    """One side of the comparison: how to serve it, sign in, refresh and call its protected GET."""

    def __init__(self, name, *, python, cwd, app, settings, health, protected, refresh_path, obtain_path=None):
        self.name, self.python, self.cwd, self.app, self.settings = name, python, cwd, app, settings
        self.health, self.protected, self.refresh_path, self.obtain_path = health, protected, refresh_path, obtain_path
        self.env: dict[str, str] = {}
        self.log = subprocess.DEVNULL
        self.process: subprocess.Popen | None = None
        self.port = 0
        self.issued: list[dict] = []

    def run(self, *args: str) -> str:
        return subprocess.run(
            [str(self.python), *args], cwd=self.cwd, env=self.env, check=True, capture_output=True, text=True
        ).stdout

    def django(self, *args: str) -> str:
        return self.run("-m", "django", *args) if self.settings else self.run("manage.py", *args)

    def start(self) -> None:
        """Boots the server without waiting for it: wait_until_healthy()."""
        self.port = free_port()
        gunicorn = Path(self.python).parent / "gunicorn"
        # Ours reads the same numbers from gunicorn.conf.py (GUNICORN_WORKERS/THREADS), with its hooks.
        flags = [] if self.settings is None else ["--workers", WORKERS, "--threads", THREADS, "-k", "gthread"]
        self.process = subprocess.Popen(
            [str(gunicorn), self.app, *flags, "--bind", f"127.0.0.1:{self.port}", "--log-level", "warning"],
            cwd=self.cwd,
            env=self.env,
            # Out of the table: gunicorn's messages and ours' auth event log (a line per refresh).
            stdout=self.log,
            stderr=self.log,
        )

    def wait_until_healthy(self) -> None:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if request("GET", self.port, self.health)[0] < 500:
                    return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError(f"{self.name} did not answer in 60 s")

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(timeout=20)

    def issue_pairs(self) -> None:
        """Ours signs in socially, so a script issues its pairs: a batch per process, since each
        process starts Django anew, which takes longer than everything else in a short run."""
        self.issued = json.loads(self.django("shell", "-c", ISSUE_PAIRS).strip().splitlines()[-1])

    def pair(self) -> dict:
        if self.obtain_path is None:
            if not self.issued:
                self.issue_pairs()
            return self.issued.pop()
        status, body = request("POST", self.port, self.obtain_path, body={"username": "bench", "password": PASSWORD})
        assert status == 200, (self.name, status, body[:200])
        return json.loads(body)

    def refresh(self, token: str) -> tuple[int, dict]:
        status, body = request("POST", self.port, self.refresh_path, body={"refresh": token})
        return status, json.loads(body) if status == 200 else {}


def projects(python_ours: str) -> dict[str, Project]:
    return {
        "bare django-ninja": Project(
            "bare", python=PEERS_PYTHON, cwd=PEERS, app="wsgi:application", settings="bare.settings",
            health="/api/ping", protected="/api/ping", refresh_path="",
        ),
        "django-ninja-jwt": Project(
            "ninja-jwt", python=PEERS_PYTHON, cwd=PEERS, app="wsgi:application",
            settings="ninja_jwt_peer.settings", health="/api/ping", protected="/api/me",
            refresh_path="/api/token/refresh", obtain_path="/api/token/pair",
        ),
        "simplejwt": Project(
            "simplejwt", python=PEERS_PYTHON, cwd=PEERS, app="wsgi:application",
            settings="simplejwt_peer.settings", health="/api/me", protected="/api/me",
            refresh_path="/api/token/refresh", obtain_path="/api/token/pair",
        ),
        "this project": Project(
            "ours", python=python_ours, cwd=ROOT, app="config.wsgi:application", settings=None,
            health="/api/health/live", protected="/api/auth/whoami", refresh_path="/api/auth/token/refresh",
        ),
    }  # fmt: skip


def peers_venv() -> None:
    """.venv-peers with peers/requirements.txt, installed again whenever that file changes."""
    stamp = PEERS_VENV / ".installed"
    requirements = PEERS / "requirements.txt"
    if stamp.exists() and stamp.stat().st_mtime >= requirements.stat().st_mtime:
        return
    if not PEERS_PYTHON.exists():
        subprocess.run([sys.executable, "-m", "venv", str(PEERS_VENV)], check=True)
    subprocess.run(
        [str(PEERS_PYTHON), "-m", "pip", "install", "-q", "--disable-pip-version-check", "-r", str(requirements)],
        check=True,
    )
    stamp.touch()


ISSUE_PAIRS = (
    "import json; from dataclasses import asdict; from tokens.services import token_pair_for_email as issue; "
    "print(json.dumps([asdict(issue(email='bench@example.com', create=True)) for _ in range(16)]))"
)

QUERY_COUNT = """
import json, django
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
client = Client(HTTP_HOST="localhost")
def refresh(token):
    response = client.post('{path}', data=json.dumps({{"refresh": token}}), content_type="application/json")
    assert response.status_code == 200, response.content
    return response.json()["refresh"]
token = refresh(json.loads('{refresh}'))  # the first request of a process loads what it caches
with CaptureQueriesContext(connection) as queries:
    refresh(token)
print(len(queries))
"""


def queries_per_refresh(project: Project) -> int:
    code = QUERY_COUNT.format(refresh=json.dumps(project.pair()["refresh"]), path=project.refresh_path)
    return int(project.django("shell", "-c", code).strip().splitlines()[-1])


def sequential_refreshes(project: Project, *, seconds: float) -> float:
    token = project.pair()["refresh"]
    deadline, count, started = time.monotonic() + seconds, 0, time.monotonic()
    while time.monotonic() < deadline:
        status, body = project.refresh(token)
        if status != 200:
            raise RuntimeError(f"{project.name}: refresh answered {status}")
        token = body["refresh"]
        count += 1
    return count / (time.monotonic() - started)


def race_winners(project: Project, *, threads: int) -> int:
    token = project.pair()["refresh"]
    barrier = threading.Barrier(threads)
    statuses: list[int] = []

    def attempt() -> None:
        barrier.wait()
        statuses.append(project.refresh(token)[0])

    workers = [threading.Thread(target=attempt) for _ in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    return statuses.count(200)


def propagation(ours: Project, second: Project, *, trials: int) -> list[float]:
    """Seconds from a logout's response on one server to the first refusal of its token by another."""
    times = []
    code = (
        "import json; from tokens.services import token_pair_for_email as issue; "
        f"print(json.dumps([issue(email='bench@example.com', create=True).access for _ in range({trials})]))"
    )
    for access in json.loads(ours.django("shell", "-c", code).strip().splitlines()[-1]):
        assert request("GET", second.port, second.protected, token=access)[0] == 200
        status, body = request("POST", ours.port, "/api/auth/logout", token=access)
        assert status == 204, body
        revoked_at = time.perf_counter()
        while request("GET", second.port, second.protected, token=access)[0] != 401:
            pass
        times.append(time.perf_counter() - revoked_at)
    return times


# Issue 16's targets: protected GET / bare, refresh / django-ninja-jwt, queries per refresh, p99 (ms).
TARGET_GET_TO_BARE = 0.90
TARGET_REFRESH_TO_NINJA_JWT = 2.0
TARGET_MAX_QUERIES_PER_REFRESH = 4
TARGET_PROPAGATION_P99_MS = 100.0


def machine(database: str, base_url: str) -> dict:
    """What the numbers came from: CPU, memory, versions, and the load average (others' work skews them)."""
    cpuinfo = Path("/proc/cpuinfo").read_text()
    model = next((line.split(":", 1)[1].strip() for line in cpuinfo.splitlines() if line.startswith("model name")), "")
    memory_kib = int(Path("/proc/meminfo").read_text().split()[1])
    described = {
        "cpu": f"{os.cpu_count()} x {model}",
        "memory_gib": round(memory_kib / 2**20, 1),
        "python": platform.python_version(),
        "load_average": [round(value, 2) for value in os.getloadavg()],
    }
    if database == "postgres":
        import psycopg
        import redis

        with psycopg.connect(base_url, connect_timeout=3) as conn:
            described["postgresql"] = conn.execute("SHOW server_version").fetchone()[0]
        described["redis"] = redis.Redis.from_url(os.environ.get("REDIS_URL", DEFAULT_REDIS_URL)).info("server")[
            "redis_version"
        ]
    return described


def targets(results: dict) -> list[tuple[str, str, bool]]:
    """(what, measured against target, met) for each of issue 16's targets this run measured."""
    ours = "this project"
    queries, winners = results["queries_per_refresh"][ours], results["race_winners"][ours]
    rows = []
    if "ratio_to_bare" in results["protected_get"][ours]:  # the peers ran (not --ours-only)
        get_ratio = results["protected_get"][ours]["ratio_to_bare"]
        get_rounds = spread(results["protected_get"][ours]["ratio_to_bare_rounds"])
        refresh_ratio = results["refresh_ratio"]["to_ninja_jwt"]
        refresh_rounds = spread(results["refresh_ratio"]["to_ninja_jwt_rounds"])
        rows += [
            (
                "whoami / bare endpoint",
                f"{get_ratio:.2f} (>= {TARGET_GET_TO_BARE}; rounds {get_rounds})",
                get_ratio >= TARGET_GET_TO_BARE,
            ),
            (
                "refreshes/s / django-ninja-jwt",
                f"{refresh_ratio:.2f} (>= {TARGET_REFRESH_TO_NINJA_JWT}; rounds {refresh_rounds})",
                refresh_ratio >= TARGET_REFRESH_TO_NINJA_JWT,
            ),
        ]
    rows += [
        (
            "queries per refresh",
            f"{queries} (<= {TARGET_MAX_QUERIES_PER_REFRESH})",
            queries <= TARGET_MAX_QUERIES_PER_REFRESH,
        ),
        ("race winners", f"{min(winners)}-{max(winners)} (== 1)", set(winners) == {1}),
    ]
    if "propagation_ms" in results:
        p99 = results["propagation_ms"]["p99"]
        met = p99 <= TARGET_PROPAGATION_P99_MS
        rows.append(("revocation propagation p99", f"{p99} ms (<= {TARGET_PROPAGATION_P99_MS:g})", met))
    return rows


def paired_ratio(values: list[float], reference: list[float], name: str) -> dict:
    """The median of the per-round ratios, and their spread.

    Each round measures both sides seconds apart, so a ratio within a round cancels the
    machine's drift between rounds; the median keeps one disturbed round from moving it.
    """
    ratios = sorted(value / ref for value, ref in zip(values, reference, strict=True))
    return {name: round(statistics.median(ratios), 2), f"{name}_rounds": [round(ratios[0], 2), round(ratios[-1], 2)]}


def spread(bounds: list[float]) -> str:
    return f"{bounds[0]:.2f}-{bounds[1]:.2f}"


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database", choices=("sqlite", "postgres"), default="sqlite")
    # On a 2-core VM single rounds of the GET ratio spread by ±0.05 and more, and medians of 5 rounds of the same
    # code ranged from 0.84 to 0.96 in one day (docs/benchmarks.md).
    parser.add_argument("--rounds", type=int, default=9)
    parser.add_argument("--seconds", type=float, default=2.0)
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--trials", type=int, default=10, help="race trials")
    parser.add_argument("--propagation-trials", type=int, default=50)
    parser.add_argument("--quick", action="store_true", help="one short round of everything (CI)")
    parser.add_argument("--ours-only", action="store_true", help="this project alone, without the peers")
    parser.add_argument(
        "--output", type=Path, help="the JSON file to write (default: results/side_by_side-<database>.json)"
    )
    args = parser.parse_args()
    if args.quick:
        args.rounds, args.seconds, args.trials, args.propagation_trials = 1, 0.3, 1, 3

    sides = projects(PYTHON)
    if args.ours_only:
        sides = {"this project": sides["this project"]}
    else:
        peers_venv()
    workdir = Path(tempfile.mkdtemp(prefix="bench-side-by-side-"))
    base_url = os.environ.get("DATABASE_URL", DEFAULT_DATABASE_URL)
    if not base_url.startswith("postgres"):
        base_url = DEFAULT_DATABASE_URL
    common = {
        **{name: value for name, value in os.environ.items() if not name.startswith(("DJANGO_", "JWT_", "API_"))},
        "DJANGO_SECRET_KEY": secrets.token_urlsafe(50),
        "DJANGO_DEBUG": "0",
        # The bench talks plain HTTP to gunicorn, as a TLS-terminating proxy would.
        "DJANGO_SECURE_SSL_REDIRECT": "0",
        **PRODUCTION_LINK_PAGES,
        "LOG_LEVEL": "ERROR",
    }
    common.pop("REDIS_URL", None)
    for side in sides.values():
        if args.database == "sqlite":
            database_url = f"sqlite:///{workdir / side.name}.sqlite3"
        else:
            database_url = f"{base_url}_{side.name.replace('-', '_')}" if side.name != "ours" else base_url
            ensure_postgres_database(database_url)
        side.env = {**common, "DATABASE_URL": database_url}
        side.log = (workdir / f"{side.name}.log").open("w")
        if side.settings:
            side.env |= {"DJANGO_SETTINGS_MODULE": side.settings, "PYTHONPATH": str(PEERS)}
        else:
            side.env |= {
                "JWT_SIGNING_KEY": secrets.token_urlsafe(48),
                "JWT_ACCESS_TTL": "3600",
                "JWT_REFRESH_REUSE_INTERVAL": "0",  # strict rotation, as the peers' blacklists are
                "GUNICORN_WORKERS": WORKERS,
                "GUNICORN_THREADS": THREADS,
                **{f"API_THROTTLE_{scope}": "" for scope in ("SIGN_IN", "TOKENS", "SIGN_IN_PROVIDER", "SESSION")},
            }
            # Redis on SQLite too: two workers on a local-memory cache refuse to start (core.E006).
            side.env["REDIS_URL"] = os.environ.get("REDIS_URL", DEFAULT_REDIS_URL)
        side.django("migrate", "--noinput", "-v0")
        if side.settings and side.obtain_path:
            side.django(
                "shell",
                "-c",
                "from django.contrib.auth.models import User; User.objects.filter(username='bench').exists() "
                f"or User.objects.create_user('bench', password='{PASSWORD}')",
            )

    results: dict = {"database": args.database, "rounds": args.rounds, "seconds_per_round": args.seconds}
    results["machine"] = machine(args.database, base_url)
    started: list[Project] = []
    try:
        # Side by side: nothing is measured until every server answers.
        for side in sides.values():
            side.start()
            started.append(side)
        sides["this project"].issue_pairs()  # meanwhile: a script's, not its server's
        for side in sides.values():
            side.wait_until_healthy()
        tokens = {
            label: side.pair()["access"] if side.obtain_path or not side.settings else None
            for label, side in sides.items()
        }
        for label, side in sides.items():  # warm-up: each worker builds what a path needs on first use
            throughput(side.port, side.protected, token=tokens[label], seconds=0.5, clients=args.clients)
        rps: dict[str, list[float]] = {label: [] for label in sides}
        for _ in range(args.rounds):
            for label, side in sides.items():
                rps[label].append(
                    throughput(
                        side.port, side.protected, token=tokens[label], seconds=args.seconds, clients=args.clients
                    )
                )
        bare = rps.get("bare django-ninja")
        results["protected_get"] = {
            label: {
                "rps": round(statistics.median(values), 1),
                **(paired_ratio(values, bare, "ratio_to_bare") if bare else {}),
            }
            for label, values in rps.items()
        }
        refreshing = {label: side for label, side in sides.items() if side.refresh_path}
        results["queries_per_refresh"] = {label: queries_per_refresh(side) for label, side in refreshing.items()}
        refresh_rounds: dict[str, list[float]] = {label: [] for label in refreshing}
        for _ in range(args.rounds):
            for label, side in refreshing.items():
                refresh_rounds[label].append(sequential_refreshes(side, seconds=args.seconds))
        results["refreshes_per_second"] = {
            label: round(statistics.median(values), 1) for label, values in refresh_rounds.items()
        }
        if "django-ninja-jwt" in refresh_rounds:
            results["refresh_ratio"] = paired_ratio(
                refresh_rounds["this project"], refresh_rounds["django-ninja-jwt"], "to_ninja_jwt"
            )
        results["race_winners"] = {
            label: [race_winners(side, threads=8) for _ in range(args.trials)] for label, side in refreshing.items()
        }
        if args.database == "postgres":
            ours = sides["this project"]
            second = Project(
                "ours-second", python=ours.python, cwd=ROOT, app=ours.app, settings=None,
                health=ours.health, protected=ours.protected, refresh_path=ours.refresh_path,
            )  # fmt: skip
            second.env, second.log = {**ours.env, "GUNICORN_WORKERS": "1"}, ours.log
            ours_one = Project(
                "ours-first", python=ours.python, cwd=ROOT, app=ours.app, settings=None,
                health=ours.health, protected=ours.protected, refresh_path=ours.refresh_path,
            )  # fmt: skip
            ours_one.env, ours_one.log = {**ours.env, "GUNICORN_WORKERS": "1"}, ours.log
            for side in (ours_one, second):
                side.start()
                started.append(side)
            for side in (ours_one, second):
                side.wait_until_healthy()
            times = propagation(ours_one, second, trials=args.propagation_trials)
            results["propagation_ms"] = {
                "trials": len(times),
                "p50": round(percentile(times, 0.5) * 1000, 2),
                "p99": round(percentile(times, 0.99) * 1000, 2),
            }
    finally:
        for side in started:
            side.stop()

    results["machine"]["load_average_after"] = [round(value, 2) for value in os.getloadavg()]
    described = results["machine"]
    print(f"\nside by side on {args.database}, {args.rounds} alternating rounds of {args.seconds} s")
    print(
        "machine: " + ", ".join(f"{name} {value}" for name, value in described.items() if not name.startswith("load"))
    )
    print(f"load average before / after: {described['load_average']} / {described['load_average_after']}")
    print(f"{'':22} {'GET req/s':>10} {'/ bare':>7} {'q/refresh':>10} {'refresh/s':>10} {'race winners':>14}")
    for label in sides:
        get = results["protected_get"][label]
        winners = results["race_winners"].get(label)
        print(
            f"{label:22} {get['rps']:>10} {get.get('ratio_to_bare', ''):>7} "
            f"{results['queries_per_refresh'].get(label, ''):>10} {results['refreshes_per_second'].get(label, ''):>10} "
            f"{f'{min(winners)}-{max(winners)}' if winners else '':>14}"
        )
    if "propagation_ms" in results:
        prop = results["propagation_ms"]
        print(
            f"revocation propagation, 2 processes: p50 {prop['p50']} ms, p99 {prop['p99']} ms ({prop['trials']} trials)"
        )
    results["targets"] = {name: {"measured": measured, "met": met} for name, measured, met in targets(results)}
    print("\ntargets (issue 16)")
    for name, target in results["targets"].items():
        print(f"  {name:32} {target['measured']:44} {'yes' if target['met'] else 'NO'}")
    output = args.output or RESULTS / f"side_by_side-{args.database}.json"
    output.parent.mkdir(exist_ok=True)
    output.write_text(json.dumps(results, indent=2) + "\n")
    return 0 if args.quick or all(target["met"] for target in results["targets"].values()) else 1


if __name__ == "__main__":
    sys.exit(main())
