"""Load in the daemon, once, what each message's child process would otherwise load again and throw away.

Children are forked per message (intake.sandbox): whatever the daemon has loaded before the fork, they get for
free; whatever they load themselves dies with them. The lazy imports of the signature code (pyhanko), the
receipt fonts, the signing key and the trust store each cost from tens of milliseconds to seconds.
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


_guarded: set[int] = set()


def _fork_safe(lock: Any) -> None:
    """A lock another thread (the web interface) holds at the fork stays held for ever in the child, which has
    only the forking thread: take it around every fork, so the child gets it free."""
    if id(lock) in _guarded:
        return
    _guarded.add(id(lock))
    os.register_at_fork(before=lock.acquire, after_in_parent=lock.release, after_in_child=lock.release)
