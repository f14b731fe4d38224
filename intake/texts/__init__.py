"""Every text a citizen reads, as template files the agency can edit without touching code (issue 9, point 12).

One file per message, Romanian, Jinja2 (https://jinja.palletsprojects.com/): the defaults ship in
`intake/texts/templates/`; a file of the same name in the folder `texts.directory` (configuration) replaces the
default, so the agency's legal staff change a wording by copying one file and editing it, and a later upgrade
never overwrites their version. A message with several parts (an e-mail's subject and body, the fixed texts of
the recipisă) names each part as a block: `{% block subiect %}…{% endblock %}`.

Undefined variables are errors (StrictUndefined): a template that names something the code does not supply fails
in the tests, not in a citizen's inbox. `intake check` style validation: `problems()` renders nothing but compiles
every template, defaults and overrides alike.

The catalogue is process-wide: `configure()` is called once when the runtime is built from the settings
(`Runtime.from_settings`); until then the packaged defaults are used (tests, `intake verify`).
"""

from __future__ import annotations

import threading
from datetime import date, datetime
from pathlib import Path
from typing import Any

from jinja2 import ChoiceLoader, Environment, FileSystemLoader, StrictUndefined, Template, TemplateError

DEFAULTS = Path(__file__).resolve().parent / "templates"
SUFFIX = ".txt"

WEEKDAYS = ("luni", "marți", "miercuri", "joi", "vineri", "sâmbătă", "duminică")  # Monday first, like weekday()
MONTHS = (
    "ianuarie", "februarie", "martie", "aprilie", "mai", "iunie",
    "iulie", "august", "septembrie", "octombrie", "noiembrie", "decembrie",
)  # fmt: skip


def long_date(day: date | datetime) -> str:
    """"luni, 7 decembrie 2026": our own tables, not the system locale (containers run with the C locale)."""
    return f"{WEEKDAYS[day.weekday()]}, {day.day} {MONTHS[day.month - 1]} {day.year}"


def short_date(day: date | datetime) -> str:
    return f"{day:%d.%m.%Y}"


def first_upper(text: str) -> str:
    """The first letter in capitals, the rest untouched (Jinja's `capitalize` would write "anaf")."""
    return text[:1].upper() + text[1:]


def clock(moment: datetime) -> str:
    return f"{moment:%H:%M}"


class Catalogue:
    def __init__(self, directory: Path | None = None) -> None:
        self.directory = directory
        loaders = [FileSystemLoader(str(directory))] if directory else []
        self.environment = Environment(
            loader=ChoiceLoader([*loaders, FileSystemLoader(str(DEFAULTS))]),
            undefined=StrictUndefined,
            autoescape=False,  # plain text: e-mails and PDF text, never HTML
            keep_trailing_newline=False,
            trim_blocks=True,
            lstrip_blocks=True,
        )
        self.environment.filters.update(data_lunga=long_date, data=short_date, ora=clock, majuscula=first_upper)

    def template(self, name: str) -> Template:
        return self.environment.get_template(name + SUFFIX)

    def render(self, name: str, **context: Any) -> str:
        return _tidy(self.template(name).render(**context))

    def part(self, name: str, block: str, **context: Any) -> str:
        template = self.template(name)
        render = template.blocks.get(block)
        if render is None:
            raise KeyError(f"template {name}{SUFFIX} has no block {block!r}")
        return _tidy("".join(render(template.new_context(dict(context)))))

    def names(self) -> list[str]:
        folders = [DEFAULTS, *([self.directory] if self.directory else [])]
        return sorted({path.stem for folder in folders for path in Path(folder).glob(f"*{SUFFIX}")})

    def problems(self) -> list[str]:
        """Templates that do not compile (a syntax error in an edited file), one line each."""
        found = []
        for name in self.names():
            try:
                self.template(name)
            except TemplateError as exc:
                found.append(f"{name}{SUFFIX}: {exc}")
        edited = Path(self.directory).glob(f"*{SUFFIX}") if self.directory else ()
        unknown = sorted(path.name for path in edited if not (DEFAULTS / path.name).exists())
        found.extend(f"{name}: no such message (a misspelt file name is never used)" for name in unknown)
        return found


def _tidy(text: str) -> str:
    """No trailing spaces, at most one blank line in a row, no blank lines at either end."""
    lines = [line.rstrip() for line in text.strip("\n").splitlines()]
    out: list[str] = []
    for line in lines:
        if line or (out and out[-1]):
            out.append(line)
    return "\n".join(out).strip("\n")


_lock = threading.Lock()
_catalogue = Catalogue()


def configure(directory: Path | None) -> Catalogue:
    """Use the agency's edited templates in `directory` before the packaged defaults."""
    global _catalogue
    with _lock:
        if _catalogue.directory != directory:
            _catalogue = Catalogue(directory)
        return _catalogue


def catalogue() -> Catalogue:
    return _catalogue


def render(name: str, **context: Any) -> str:
    return _catalogue.render(name, **context)


def part(name: str, block: str, **context: Any) -> str:
    return _catalogue.part(name, block, **context)


def mail(name: str, **context: Any) -> tuple[str, str]:
    """(subject, body) of a mail template with blocks `subiect` and `corp`."""
    return " ".join(part(name, "subiect", **context).split()), part(name, "corp", **context)
