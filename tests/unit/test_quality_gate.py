"""`make lint` covers every app of the project: one added later is not left outside the typing gate."""

import tomllib
from pathlib import Path

from django.apps import apps

ROOT = Path(__file__).resolve().parents[2]


def test_mypy_and_isort_know_every_app_of_the_project():
    project_apps = {config.name for config in apps.get_app_configs() if Path(config.path).parent == ROOT}
    tools = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]

    assert project_apps <= set(tools["mypy"]["files"])
    assert project_apps <= set(tools["ruff"]["lint"]["isort"]["known-first-party"])
