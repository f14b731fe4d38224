"""Load in the daemon, once, what each message's child process would otherwise load again and throw away.

Children are forked per message (intake.sandbox): whatever the daemon has loaded before the fork, they get for
free; whatever they load themselves dies with them. The lazy imports of the signature code (pyhanko), the
receipt fonts, the signing key and the trust store each cost from tens of milliseconds to seconds; so do the
caches the checks fill on first use (about 700 compiled phrase patterns, the checklists, the compiled text
templates): measured in the children of a poll, ~100 ms of each child's ~300 ms went to filling them again
(bench/README.md, "What a child spent filling caches").
"""

from __future__ import annotations

import contextlib
import importlib
import logging
import os
from typing import Any

from intake.runtime import Runtime

log = logging.getLogger(__name__)

# Imported lazily by the stages (inside functions), so the daemon does not have them until a stage runs.
LAZY_MODULES = (
    "pyhanko.pdf_utils.reader",
    "pyhanko.pdf_utils.misc",
    "pyhanko.sign.fields",
    "pyhanko.sign.diff_analysis",
    "pyhanko.sign.ades.report",
    "pyhanko.sign.validation.pdf_embedded",
    "pyhanko.sign.validation.generic_cms",
    "pyhanko.sign.validation.status",
    "pyhanko.sign.validation.dss",
    "pyhanko_certvalidator",
    "pyhanko_certvalidator.context",
    "pyhanko_certvalidator.authority",
    "pyhanko_certvalidator.fetchers.aiohttp_fetchers",
    "intake.signatures.cms",
    "intake.signatures.pdf",
    "intake.validation.documents",
    "intake.validation.identity",
)


def preload(rt: Runtime) -> None:
    """Idempotent and cheap after the first call. A part that fails to load is left to the stage that needs
    it, which reports the failure against its message as it always did."""
    for name in LAZY_MODULES:
        try:
            importlib.import_module(name)
        except Exception as exc:  # an optional part missing is the stage's business, not the daemon's
            log.debug("preload: %s not loaded (%s)", name, exc)
    for part in ("signer", "trust_store", "verification_policy", "signature_policy", "link_secret"):
        try:
            getattr(rt, part)
        except Exception as exc:
            log.debug("preload: %s not loaded (%s)", part, exc)
    from PIL import Image

    Image.init()  # the decoders of every format, registered on first use otherwise
    from intake.receipts import render

    with contextlib.suppress(Exception):
        render._font_kit()  # ~1-2 s the first time: parsed and pre-subset fonts
        render._font_kit(stamp=True)  # the visible signature's small font
    _fork_safe(render._kit_lock)
    for warm in (_warm_signing_key, _warm_patterns, _warm_templates, _warm_calendar):
        try:
            warm(rt)
        except Exception as exc:  # the stage that needs it fills it itself, and reports its own failure
            log.debug("preload: %s skipped (%s)", warm.__name__, exc)


def _warm_signing_key(rt: Runtime) -> None:
    """The parsed private key of the receipt signer (~40 ms a child otherwise)."""
    rt.signer.warm()


def _warm_patterns(rt: Runtime) -> None:
    """Every phrase and hint pattern the document, request-type and category checks compile on first use."""
    from intake.stages.assess import _checklists
    from intake.validation.documents import DOCUMENT_KINDS, _hint_pattern
    from intake.validation.text import phrase_pattern

    checklists = _checklists()
    phrases = {phrase for kind in DOCUMENT_KINDS for phrase in (*kind.keywords, *kind.context, *kind.exclude)}
    phrases |= {keyword for request in checklists.values() for keyword in request.keywords}
    phrases |= {
        phrase
        for request in checklists.values()
        for category in request.categories
        for phrase in (*category.clues, *category.boxes)
    }
    for phrase in phrases:
        phrase_pattern(phrase)
    for kind in DOCUMENT_KINDS:
        for hint in (*kind.filename_hints, *kind.field_hints):
            _hint_pattern(hint)


def _warm_templates(rt: Runtime) -> None:
    """The Jinja templates of replies, receipts and findings, compiled (Jinja compiles each on first use)."""
    from intake import texts

    environment = texts.catalogue().environment
    for name in environment.list_templates():
        environment.get_template(name)


_guarded: set[int] = set()


def _fork_safe(lock: Any) -> None:
    """A lock another thread (the web interface) holds at the fork stays held for ever in the child, which has
    only the forking thread: take it around every fork, so the child gets it free."""
    if id(lock) in _guarded:
        return
    _guarded.add(id(lock))
    os.register_at_fork(before=lock.acquire, after_in_parent=lock.release, after_in_child=lock.release)


def _warm_calendar(rt: Runtime) -> None:
    """The office zone's offset changes of the years an invitation may fall in, and the request types it names."""
    from datetime import datetime
    from zoneinfo import ZoneInfo

    from intake.appointments import ics
    from intake.appointments.case import _request_types

    zone = ZoneInfo(rt.settings.office.timezone)
    year = datetime.now(zone).year
    for around in (year - 1, year, year + 1, year + 2):
        ics._transitions(zone, around)
    _request_types()
