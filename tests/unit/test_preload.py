"""What the daemon loads once before forking its workers (intake.preload), so that each child does not fill the
same caches again: measured, ~100 ms of a child's ~300 ms went to that (bench/README.md)."""

from __future__ import annotations

from pathlib import Path

from pydantic import SecretStr

from intake.appointments import ics
from intake.preload import preload
from intake.receipts.keys import generate_pkcs12
from intake.settings import SigningSettings
from intake.stages.assess import _checklists
from intake.validation.documents import DOCUMENT_KINDS, _hint_pattern
from intake.validation.text import phrase_pattern
from tests.unit import runtimes


def test_preload_fills_the_caches_a_worker_child_would_fill_again(tmp_path: Path) -> None:
    key = tmp_path / "signing.p12"
    generate_pkcs12(key, "parolă", common_name="Registratura (test)")
    rt = runtimes.make_runtime(tmp_path, signing=SigningSettings(pkcs12_path=key, pkcs12_password=SecretStr("parolă")))
    try:
        preload(rt)
        compiled_before = phrase_pattern.cache_info()
        hints_before = _hint_pattern.cache_info()
        # Everything a document check compiles is already compiled: these calls are all hits.
        for kind in DOCUMENT_KINDS:
            for phrase in (*kind.keywords, *kind.context, *kind.exclude):
                phrase_pattern(phrase)
            for hint in (*kind.filename_hints, *kind.field_hints):
                _hint_pattern(hint)
        for request in _checklists().values():
            for keyword in request.keywords:
                phrase_pattern(keyword)
        assert phrase_pattern.cache_info().misses == compiled_before.misses
        assert _hint_pattern.cache_info().misses == hints_before.misses
        assert phrase_pattern.cache_info().currsize < phrase_pattern.cache_info().maxsize  # none evicted
        assert ics._transitions.cache_info().currsize >= 3
        assert rt.signer._signer.__dict__.get("_private_key") is not None  # parsed once, here
    finally:
        rt.engine.dispose()
