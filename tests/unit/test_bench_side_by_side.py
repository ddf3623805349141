"""`make bench`'s side-by-side run in its short mode, so that it cannot rot.

No assertion on a number that is a timing: only that every side answered, and the one property
the table reports that is a correctness claim of this project (exactly one winner per race).
"""

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SIDES = {"bare django-ninja", "django-ninja-jwt", "simplejwt", "this project"}


def test_the_side_by_side_bench_runs_in_its_short_mode_and_writes_its_table():
    result = subprocess.run(
        [sys.executable, "bench/side_by_side.py", "--quick", "--database", "sqlite"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    results = json.loads((ROOT / "bench" / "results" / "side_by_side-sqlite.json").read_text())
    assert set(results["protected_get"]) == SIDES
    assert set(results["refreshes_per_second"]) == SIDES - {"bare django-ninja"}
    assert set(results["refresh_ratio"]) == {"to_ninja_jwt", "to_ninja_jwt_rounds"}
    assert results["race_winners"]["this project"] == [1]
    assert "this project" in result.stdout
