"""`intake verify FILE... --json` over every real signed PDF of the shared corpus, and over the test PKI."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.integration.harness import REPO
from tests.shared_corpus import corpus

pytestmark = pytest.mark.integration

CORPUS = corpus("signed-pdfs")
LABELS = {"QES", "AdES-QC", "AdES", "invalid", "indeterminate", "none"}


def _verify(files: list[Path], tmp_path: Path, config: str = "") -> list[dict]:  # type: ignore[type-arg]
    result = _verify_raw(files, tmp_path, config)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def _verify_raw(files: list[Path], tmp_path: Path, config: str, *extra: str) -> subprocess.CompletedProcess[str]:
    config_file = tmp_path / "intake.toml"
    config_file.write_text(f'[storage]\npath = "{tmp_path / "storage"}"\n{config}')
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "intake.cli",
            "--config",
            str(config_file),
            "verify",
            "--json",
            *extra,
            *map(str, files),
        ],
        capture_output=True,
        text=True,
        timeout=600,
        stdin=subprocess.DEVNULL,
        cwd=tmp_path,
        env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(REPO), "HOME": str(tmp_path)},
    )


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
    for scenario, result in zip(scenarios, results, strict=True):
        document, signatures = result["signature"], result["signatures"]
        # contract: per signature label, reasons, signer, time_source, timestamp_qualified, trusted_list
        for signature in signatures:
            assert {"label", "reasons", "signer", "time_source", "timestamp_qualified", "trusted_list"} <= set(
                signature
            )
            assert signature["time_source"] in ("timestamp", "claimed", "validation", None)
        # per document: the applicant's signature and the others beside it
        assert "applicant_signature" in document
        if scenario.applicant_signature is not None:
            assert document["applicant_signature"] == scenario.applicant_signature, scenario.name
        if not signatures:
            continue
        decisive = signatures[document["applicant_signature"]]
        assert decisive["label"] == document["label"] or document["label"] == "indeterminate"
        if scenario.time_source is not None:
            assert decisive["time_source"] == scenario.time_source, scenario.name
        if scenario.timestamp_qualified is not None:
            assert decisive["timestamp_qualified"] is scenario.timestamp_qualified, scenario.name
        if document["label"] == "QES":
            assert decisive["trusted_list"] == {"territory": "RO", "sequence": test_pki.tl_sequence_number}


RO_LIST = corpus("trusted-lists", "ro-tl-seq61-2023-10-18.xml")


def test_verify_at_a_past_time_uses_the_romanian_list_of_that_time(tmp_path: Path) -> None:
    # `intake verify --at`: the Romanian list (sequence 61, issued 2023-10-18) and its operator certificate (the one
    # in its XAdES signature, expired since 2024-08-11) load and verify as of 2023-10-19; today the list is expired.
    from lxml import etree

    ns = {"ds": "http://www.w3.org/2000/09/xmldsig#"}
    b64 = etree.parse(str(RO_LIST)).getroot().xpath("string(/*/ds:Signature//ds:X509Certificate)", namespaces=ns)
    operator = tmp_path / "adr.pem"
    operator.write_text("-----BEGIN CERTIFICATE-----\n" + "".join(b64.split()) + "\n-----END CERTIFICATE-----\n")
    config = f'[trust]\nlists = [{{source = "{RO_LIST}", signer = "{operator}"}}]\n'
    romanian = CORPUS / "dss" / "test-with-vri.pdf"  # a Romanian signature (STS) chaining to a CA of that list
    then = _verify_raw([romanian], tmp_path, config, "--at", "2023-10-19T12:00:00+03:00")
    assert "expired" not in then.stderr and "not used" not in then.stderr, then.stderr
    (signature,) = json.loads(then.stdout)[0]["signatures"]
    assert not {"untrusted_chain", "trusted_list_unavailable", "trusted_list_expired"} & set(signature["reasons"])
    now = _verify_raw([romanian], tmp_path, config)
    assert "is expired" in now.stderr  # ops see the stale list; the signature is never judged by it
    (today,) = json.loads(now.stdout)[0]["signatures"]
    assert today["label"] not in ("QES", "AdES-QC", "AdES")


def test_verify_at_rejects_a_bad_instant(tmp_path: Path) -> None:
    result = _verify_raw([CORPUS / "dss" / "pades-bes.pdf"], tmp_path, "", "--at", "yesterday")
    assert result.returncode == 2 and "--at" in result.stderr


@pytest.mark.parametrize(
    ("case", "reason"),
    [("tampered", "trusted_list_unavailable"), ("wrong_operator", "trusted_list_unavailable"),
     ("expired", "trusted_list_expired"), ("good", None)],
)  # fmt: skip
def test_trusted_list_faults_through_the_command(tmp_path: Path, test_pki, case: str, reason: str | None) -> None:  # type: ignore[no-untyped-def]
    # Issue 8 cases 3 and 4: a list that cannot be used, or is past its NextUpdate, makes a QES "indeterminate"
    # (our fault, never the citizen's "invalid"); the same file with the good list is the control.
    source, signer = {
        "tampered": (test_pki.trusted_list_tampered, test_pki.tl_operator_cert),
        "wrong_operator": (test_pki.trusted_list, test_pki.wrong_operator_cert),
        "expired": (test_pki.trusted_list_expired, test_pki.tl_operator_cert),
        "good": (test_pki.trusted_list, test_pki.tl_operator_cert),
    }[case]
    config = f'[trust]\nlists = [{{source = "{source}", signer = "{signer}"}}]\n'
    (result,) = _verify([test_pki.scenarios["qes_bt"].path], tmp_path, config)
    document = result["signature"]
    if reason is None:
        assert document["label"] == "QES" and document["trusted_list"]["sequence"] == test_pki.tl_sequence_number
    else:
        assert document["label"] == "indeterminate" and reason in document["reasons"], document
        assert "untrusted_chain" not in document["reasons"]
