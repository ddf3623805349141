"""`make load` in its short mode: mixed traffic against a real gunicorn, then the data checks.

On SQLite with the local-memory cache; in the PostgreSQL + Redis run, on a database of its
own next to the test database (the load script empties it) and on REDIS_URL's database
under a key prefix of its own.
"""

import json
import os
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parents[2]


def load_arguments() -> list[str]:
    arguments = []
    database_url = os.environ.get("DATABASE_URL", "")
    if database_url.startswith("postgres"):
        parts = urlsplit(database_url)
        arguments += ["--database-url", parts._replace(path=f"{parts.path}_load").geturl()]
    if redis_url := os.environ.get("REDIS_URL"):
        arguments += ["--redis-url", redis_url]
    return arguments


def test_a_short_load_run_has_no_errors_and_leaves_data_that_adds_up(tmp_path):
    results_file = tmp_path / "load.json"
    run = subprocess.run(
        [sys.executable, "tools/bench/load.py", "--short", "--json", str(results_file), *load_arguments()],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )

    assert run.returncode == 0, run.stdout + run.stderr
    results = json.loads(results_file.read_text())
    assert results["errors"] == 0
    assert {"sign_in", "whoami", "refresh", "reuse", "logout"} <= set(results["operations"])
    assert all(check["found"] == check["expected"] for check in results["checks"].values()), results["checks"]
