"""The message catalogs (docs/i18n.md): every string has its translation, and the .mo files are up to date."""

from pathlib import Path

import pytest

from tools import messages
from tools.messages import App, check


def test_every_user_facing_string_is_translated_in_every_language_and_compiled():
    # On failure: `make messages`, translate the empty msgstr in the .po files it names, `make messages` again.
    assert check() == []


@pytest.fixture
def new_app(tmp_path: Path, monkeypatch) -> App:
    """An app whose code gained a string, in place of the project's apps."""
    app = App("newapp", tmp_path / "newapp")
    (app.path / "templates" / "newapp").mkdir(parents=True)
    source = 'from django.utils.translation import gettext_lazy as _\n\nTITLE = _("A new title")\n'
    (app.path / "errors.py").write_text(source)
    (app.path / "templates" / "newapp" / "mail.txt").write_text('{% load i18n %}{% translate "A new line" %}\n')
    monkeypatch.setattr(messages, "ROOT", tmp_path)
    monkeypatch.setattr(messages, "project_apps", lambda: [app])
    return app


def test_an_app_with_strings_and_no_catalog_fails_the_check(new_app):
    assert check() == ["newapp/locale/ko/LC_MESSAGES/django.po: missing, and newapp has 2 strings to translate"]


def test_update_adds_the_new_strings_untranslated_and_the_check_names_each(new_app):
    messages.update()

    problems = check()

    assert sorted(problems) == [
        "newapp/locale/ko/LC_MESSAGES/django.po: 'A new line' (newapp/templates/newapp/mail.txt) has no translation",
        "newapp/locale/ko/LC_MESSAGES/django.po: 'A new title' (newapp/errors.py) has no translation",
    ]


def test_a_translated_catalog_whose_mo_was_not_compiled_again_fails(new_app):
    messages.update()
    po = new_app.po("ko")
    po.write_text(
        po.read_text(encoding="utf-8")
        .replace('msgid "A new line"\nmsgstr ""', 'msgid "A new line"\nmsgstr "새 줄"')
        .replace('msgid "A new title"\nmsgstr ""', 'msgid "A new title"\nmsgstr "새 제목"'),
        encoding="utf-8",
    )

    assert check() == [
        "newapp/locale/ko/LC_MESSAGES/django.mo does not match the .po: run `python -m tools.messages update`"
    ]
    messages.update()
    assert check() == []
