"""The Korean catalogs of the pages (web/, devidp/): every word translated, and the committed .mo current.

A fresh clone has no gettext, so the compiled .mo is committed beside its .po (docs/browser-tests.md#languages-
phones-and-accessibility); these tests fail when a .po changes without `pybabel compile`, when a msgstr is
empty or fuzzy, and (where GNU gettext is installed) when a page gains a word that its .po lacks.
"""

import io
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parents[2]
APPS = ["web", "devidp"]


def _catalog(app: str, root: Path = ROOT):
    with (root / app / "locale" / "ko" / "LC_MESSAGES" / "django.po").open("rb") as po:
        return read_po(po, locale="ko")


@pytest.mark.parametrize("app", APPS)
def test_every_message_has_a_korean_translation(app):
    untranslated = [message.id for message in _catalog(app) if message.id and (not message.string or message.fuzzy)]
    assert untranslated == []


@pytest.mark.parametrize("app", APPS)
def test_the_committed_mo_is_the_po_compiled(app):
    compiled = io.BytesIO()
    write_mo(compiled, _catalog(app))
    committed = (ROOT / app / "locale" / "ko" / "LC_MESSAGES" / "django.mo").read_bytes()
    assert committed == compiled.getvalue(), f"run `.venv/bin/pybabel compile -d {app}/locale -D django`"


@pytest.mark.skipif(shutil.which("xgettext") is None, reason="makemessages needs GNU gettext (xgettext)")
@pytest.mark.parametrize("app", APPS)
def test_the_po_holds_every_word_of_the_app(app, tmp_path):
    # makemessages rewrites the catalog in place: it runs on a copy.
    shutil.copytree(ROOT / app, tmp_path / app)
    subprocess.run(
        [sys.executable, "-m", "django", "makemessages", "-l", "ko", "--no-location"],
        cwd=tmp_path / app,
        env={**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings", "DJANGO_DEBUG": "1", "PYTHONPATH": str(ROOT)},
        check=True,
        capture_output=True,
    )
    extracted = {message.id for message in _catalog(app, tmp_path) if message.id}
    committed = {message.id for message in _catalog(app) if message.id}
    assert extracted == committed
