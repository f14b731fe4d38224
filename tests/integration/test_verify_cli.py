"""`intake verify FILE... --json` over every real signed PDF of the shared corpus, and over the test PKI."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.integration.harness import REPO

pytestmark = pytest.mark.integration

CORPUS = REPO.parent / "shared" / "corpus" / "signed-pdfs"
LABELS = {"QES", "AdES-QC", "AdES", "invalid", "indeterminate", "none"}


def _verify(files: list[Path], tmp_path: Path, config: str = "") -> list[dict]:  # type: ignore[type-arg]
    config_file = tmp_path / "intake.toml"
    config_file.write_text(f'[storage]\npath = "{tmp_path / "storage"}"\n{config}')
    result = subprocess.run(
        [sys.executable, "-m", "intake.cli", "--config", str(config_file), "verify", "--json", *map(str, files)],
        capture_output=True,
        text=True,
        timeout=600,
        stdin=subprocess.DEVNULL,
        cwd=tmp_path,
        env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(REPO), "HOME": str(tmp_path)},
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_every_corpus_file_gets_a_verdict_and_a_reason(tmp_path: Path) -> None:
    files = sorted(path for path in CORPUS.rglob("*") if path.is_file())
    assert len(files) > 100
    # Offline: revocation cannot be fetched, so nothing here may come out stronger than the evidence allows.
    results = _verify(files, tmp_path, '[trust]\nrevocation = "require"\n')
    assert [result["file"] for result in results] == [str(path) for path in files]
    for result in results:
        verdict = result["signature"]
        assert verdict["label"] in LABELS, result["file"]
        assert verdict["reasons"], result["file"]
        for signature in result["signatures"]:
            assert signature["label"] in LABELS and signature["reasons"], result["file"]
    # No trusted list or anchor is configured: no real signature can be qualified or even trusted.
    assert not [r["file"] for r in results if r["signature"]["label"] in ("QES", "AdES-QC", "AdES")]


def test_test_pki_scenarios_through_the_command(tmp_path: Path, test_pki) -> None:  # type: ignore[no-untyped-def]
    config = f'[trust]\nlists = [{{source = "{test_pki.trusted_list}", signer = "{test_pki.tl_operator_cert}"}}]\n'
    scenarios = [s for s in test_pki.scenarios.values() if s.detached_content is None]
    results = _verify([s.path for s in scenarios], tmp_path, config)
    assert [r["signature"]["label"] for r in results] == [s.expected_label for s in scenarios]
