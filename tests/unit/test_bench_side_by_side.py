"""`make bench`'s side-by-side script, this project's side alone in one short round, so that it cannot rot.

The comparison with the peers is `make bench`'s alone: it builds their virtualenv (.venv-peers), which
the suite never does. No assertion on a number that is a timing: only that this project's side answered,
and the one property the table reports that is a correctness claim of this project (exactly one
winner per race), and the query count per refresh that issue 16 sets as a target.
"""

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.faults.servers import Redis, redis_of_its_own

ROOT = Path(__file__).resolve().parents[2]
SIDE_BY_SIDE = ROOT / "tools" / "bench" / "side_by_side.py"

pytestmark = pytest.mark.slow


@pytest.fixture
def own_redis() -> Iterator[Redis]:
    """Its two gunicorn workers need a Redis (core.E006): one of the test's own, never the machine's shared one."""
    with redis_of_its_own() as server:
        yield server


def test_the_side_by_side_bench_runs_this_projects_side_and_writes_its_table(tmp_path, own_redis):
    output = tmp_path / "side_by_side.json"
    result = subprocess.run(
        [sys.executable, str(SIDE_BY_SIDE), "--quick", "--ours-only", "--database", "sqlite", "--output", str(output)],
        cwd=ROOT,
        env={**os.environ, "REDIS_URL": own_redis.url},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    results = json.loads(output.read_text())
    assert set(results["protected_get"]) == {"this project"}
    assert results["protected_get"]["this project"]["rps"] > 0
    assert set(results["refreshes_per_second"]) == {"this project"}
    assert results["race_winners"]["this project"] == [1]
    assert results["targets"]["queries per refresh"]["met"] is True
    assert "this project" in result.stdout
