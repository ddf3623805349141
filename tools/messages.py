"""The message catalogs of the project's apps, with Babel's pure-Python tools instead of GNU gettext.

Django's makemessages and compilemessages need GNU gettext's programs, which a fresh machine may
lack; Babel (requirements-dev.txt) does the same in Python. The compiled .mo files are committed, so
`make run` needs neither; tests/unit/test_messages.py runs `check` (docs/i18n.md).

    python -m tools.messages update    # add new strings to every catalog, compile them
    python -m tools.messages check     # what is untranslated, stale or not compiled (exit 1 if anything)
"""

import io
import os
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from gettext import GNUTranslations
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.extract import DEFAULT_KEYWORDS, extract
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po, write_po

ROOT = Path(__file__).resolve().parent.parent
# Django's translation functions on top of Babel's own (gettext, ngettext, pgettext, _ ...).
KEYWORDS = {
    **DEFAULT_KEYWORDS,
    "gettext_lazy": None,
    "gettext_noop": None,
    "ngettext_lazy": (1, 2),
    "pgettext_lazy": ((1, "c"), 2),
    "npgettext_lazy": ((1, "c"), 2, 3),
}
TEMPLATE_SUFFIXES = {".html", ".txt"}
SKIPPED_DIRS = {"migrations", "locale", "static", "__pycache__"}


@dataclass(frozen=True)
class App:
    name: str
    path: Path

    def po(self, language: str) -> Path:
        return self.path / "locale" / language / "LC_MESSAGES" / "django.po"


def project_apps() -> list[App]:
    """Every installed app whose code is in this repository: the ones with strings to translate."""
    from django.apps import apps

    return [
        App(config.name, Path(config.path))
        for config in apps.get_app_configs()
        if Path(config.path).is_relative_to(ROOT) and ".venv" not in Path(config.path).parts
    ]


def target_languages() -> list[str]:
    """LANGUAGES but the one the source is written in (LANGUAGE_CODE): the msgids are that language."""
    from django.conf import settings

    return [code for code, _name in settings.LANGUAGES if code != settings.LANGUAGE_CODE]


def _source_files(app: App) -> Iterator[Path]:
    for directory, subdirectories, files in os.walk(app.path):
        subdirectories[:] = sorted(name for name in subdirectories if name not in SKIPPED_DIRS)
        for name in sorted(files):
            path = Path(directory) / name
            if path.suffix == ".py" or (path.suffix in TEMPLATE_SUFFIXES and "templates" in path.parts):
                yield path


def extracted(app: App) -> Catalog:
    """The app's translatable strings: gettext calls in its Python, {% translate %} in its templates."""
    from django.utils.translation.template import templatize

    catalog = Catalog(project=app.name, fuzzy=False)
    for path in _source_files(app):
        source = path.read_text(encoding="utf-8")
        if path.suffix != ".py":
            # Django's own step for makemessages: templates as code that xgettext's Python mode (and Babel's) reads.
            source = templatize(source, origin=str(path))
        relative = path.relative_to(ROOT).as_posix()
        for line, message, comments, context in extract(
            "python", io.BytesIO(source.encode("utf-8")), keywords=KEYWORDS, strip_comment_tags=True
        ):
            catalog.add(message, locations=[(relative, line)], auto_comments=comments, context=context)
    return catalog


def _read(path: Path, language: str, app: App) -> Catalog:
    if not path.exists():
        return Catalog(locale=language, project=app.name, fuzzy=False)
    with path.open("rb") as file:
        return read_po(file, locale=language)


def _compiled(catalog: Catalog) -> bytes:
    buffer = io.BytesIO()
    write_mo(buffer, catalog)
    return buffer.getvalue()


def update() -> None:
    """Brings every catalog up to its app's strings (new ones empty, gone ones dropped), then compiles it."""
    for app in project_apps():
        template = extracted(app)
        if not len(template):
            continue
        for language in target_languages():
            path = app.po(language)
            catalog = _read(path, language, app)
            created = catalog.creation_date
            catalog.update(template, no_fuzzy_matching=True)
            # Kept, so that an update that finds nothing new leaves the file as it was.
            catalog.creation_date = created
            catalog.obsolete.clear()
            path.parent.mkdir(parents=True, exist_ok=True)
            with path.open("wb") as file:
                write_po(file, catalog, width=120, sort_output=True)
            path.with_suffix(".mo").write_bytes(_compiled(catalog))


def _messages(mo: bytes) -> dict:
    return dict(GNUTranslations(io.BytesIO(mo))._catalog)  # type: ignore[attr-defined]


def check() -> list[str]:
    """What is wrong, one line each: a string with no catalog or no translation, a stale entry, a stale .mo."""
    problems = []
    for app in project_apps():
        template = extracted(app)
        for language in target_languages():
            path = app.po(language)
            relative = path.relative_to(ROOT)
            if not path.exists():
                if len(template):
                    problems.append(f"{relative}: missing, and {app.name} has {len(template)} strings to translate")
                continue
            catalog = _read(path, language, app)
            for message in template:
                if not message.id:
                    continue
                translated = catalog.get(message.id, message.context)
                where = f"{relative}: {message.id!r} ({message.locations[0][0]})"
                if translated is None:
                    problems.append(f"{where} is not in the catalog")
                elif not translated.string or (isinstance(translated.string, tuple) and not all(translated.string)):
                    problems.append(f"{where} has no translation")
                elif translated.fuzzy:
                    problems.append(f"{where} is fuzzy")
            problems += [
                f"{relative}: {message.id!r} is no longer in the code"
                for message in catalog
                if message.id and template.get(message.id, message.context) is None
            ]
            mo = path.with_suffix(".mo")
            if not mo.exists() or _messages(mo.read_bytes()) != _messages(_compiled(catalog)):
                problems.append(f"{mo.relative_to(ROOT)} does not match the .po: run `python -m tools.messages update`")
    return problems


def main(argv: list[str]) -> int:
    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    os.environ.setdefault("DJANGO_DEBUG", "1")
    django.setup()
    command = argv[1] if len(argv) > 1 else ""
    if command == "update":
        update()
        return 0
    if command == "check":
        problems = check()
        print("\n".join(problems) or "Every string has its translation.")
        return 1 if problems else 0
    print(__doc__)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
