"""docs/configuration.md documents every environment variable the settings read, and no other.

The variables are found by parsing config/ for calls to core.env's readers (env_str, env_int...),
so a variable added to the settings is checked without touching this test.
"""

import ast
import inspect
import re
from pathlib import Path

from core import env

ROOT = Path(__file__).resolve().parents[2]
REFERENCE = ROOT / "docs" / "configuration.md"
# Variables that the tools read (tests, Makefile) are documented after this heading.
TOOLS_HEADING = "## Read by the tools"
_ROW_NAME = re.compile(r"^\|\s*`([A-Z][A-Z0-9_]*)`\s*\|")


def _env_readers() -> set[str]:
    return {name for name, value in inspect.getmembers(env, inspect.isfunction) if value.__module__ == env.__name__}


def settings_variables() -> dict[str, str]:
    """Each variable read in config/, with where it is read ("config/settings.py:42")."""
    readers = _env_readers()
    found: dict[str, str] = {}
    for path in sorted((ROOT / "config").glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
            if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in readers):
                continue
            where = f"{path.relative_to(ROOT)}:{node.lineno}"
            name = node.args[0].value if node.args and isinstance(node.args[0], ast.Constant) else None
            assert isinstance(name, str), (
                f"{where}: {node.func.id}() must name its variable with a string literal, so that it can be checked"
            )
            found.setdefault(name, where)
    return found


def _is_os_environ(node: ast.expr) -> bool:
    return isinstance(node, ast.Attribute) and node.attr == "environ"


def tool_variables() -> dict[str, str]:
    """Variables read with os.environ.get / os.getenv / os.environ[...] anywhere else in the project."""
    found: dict[str, str] = {}
    top_level = [path for path in ROOT.iterdir() if not path.name.startswith(".")]
    files = [path for top in top_level for path in ([top] if top.is_file() else top.rglob("*"))]
    for path in sorted(path for path in files if path.suffix == ".py"):
        relative = path.relative_to(ROOT)
        if "migrations" in relative.parts:
            continue
        for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
            name = None
            if isinstance(node, ast.Call) and node.args and isinstance(node.func, ast.Attribute):
                reads = (node.func.attr == "get" and _is_os_environ(node.func.value)) or node.func.attr == "getenv"
                name = node.args[0] if reads else None
            elif isinstance(node, ast.Subscript) and _is_os_environ(node.value) and isinstance(node.ctx, ast.Load):
                name = node.slice
            if isinstance(name, ast.Constant) and isinstance(name.value, str):
                found.setdefault(name.value, f"{relative}:{node.lineno}")
    return found


def documented_variables() -> tuple[set[str], set[str]]:
    """Names in the first column of the reference's tables: (settings' variables, the tools' variables)."""
    settings_part, _, tools_part = REFERENCE.read_text().partition(TOOLS_HEADING)

    def names(text: str) -> set[str]:
        return {match.group(1) for line in text.splitlines() if (match := _ROW_NAME.match(line))}

    return names(settings_part), names(tools_part)


def test_the_settings_read_their_variables_through_core_env():
    # Guards the parse above: if it found nothing, the other tests would pass vacuously.
    assert {"DJANGO_SECRET_KEY", "DATABASE_CONN_MAX_AGE", "CACHE_KEY_PREFIX"} <= settings_variables().keys()


def test_the_settings_read_the_environment_only_through_core_env():
    # A direct os.environ or os.getenv read would escape the check below.
    tree = ast.parse((ROOT / "config" / "settings.py").read_text())
    direct = [
        node.lineno
        for node in ast.walk(tree)
        if isinstance(node, ast.Attribute) and node.attr in ("environ", "getenv", "environb")
    ]
    assert not direct, f"config/settings.py reads the environment directly on lines {direct}: use core.env"


def test_every_variable_the_settings_read_is_documented():
    documented, _ = documented_variables()
    missing = {name: where for name, where in settings_variables().items() if name not in documented}
    assert not missing, (
        f"Read by the settings but not in a table row of {REFERENCE.relative_to(ROOT)} "
        f"(| `NAME` | default | meaning |): {missing}"
    )


def test_every_variable_the_tools_read_is_documented():
    documented = set().union(*documented_variables())
    missing = {name: where for name, where in tool_variables().items() if name not in documented}
    assert not missing, f"Read from the environment but not in {REFERENCE.relative_to(ROOT)}: {missing}"


def test_the_reference_documents_no_variable_the_settings_do_not_read():
    documented, _ = documented_variables()
    stale = documented - settings_variables().keys()
    assert not stale, f"{REFERENCE.relative_to(ROOT)} documents variables the settings no longer read: {sorted(stale)}"
