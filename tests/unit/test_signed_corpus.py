"""Every real signed file of the shared corpus (DSS and pyHanko test suites) gets a verdict with a reason, and no
exception escapes. Files are read in place from ../shared/corpus/signed-pdfs (never copied into the repository).

Trust: the Romanian trusted list of the corpus, parsed without checking its (expired) operator signature; no
network (allow_fetching=False), revocation "require" as in production, so a chain that does reach a Romanian CA
ends `indeterminate` unless the file embeds its revocation data.
"""

from __future__ import annotations

import contextlib
import re
from collections import Counter
from pathlib import Path

import pytest

from intake.signatures.trust_store import TrustStore
from intake.signatures.verify import DocumentVerdict, VerificationPolicy, verify_document
from tests.shared_corpus import corpus

CORPUS = corpus("signed-pdfs")
RO_TRUSTED_LIST = corpus("trusted-lists", "ro-tl-seq61-2023-10-18.xml")
LABELS = {"QES", "AdES-QC", "AdES", "invalid", "indeterminate", "none"}
VALID_LOOKING = {"QES", "AdES-QC", "AdES"}
# File names of attacks and manipulated files (shadow attacks, spoofing, modifications after signing, broken ranges).
SUSPICIOUS = re.compile(
    r"shadow|modif|tamper|attack|spoof|corrupt|added|removed|byterange|hide|replace|edited|overlap|uncovered|"
    r"annotation-and-visible-change|annot-added|pdf-eof",
    re.IGNORECASE,
)
# Reasons that show the manipulation itself was seen (not merely an untrusted chain).
MANIPULATION_SEEN = {
    "tampered",
    "modified_after_signing",
    "not_whole_document",
    "docmdp_violation",
    "library_error",
    "unsupported_subfilter",
}
# Honest list: manipulated files whose manipulation pyHanko's difference analysis does NOT see (it judges the update
# FORM_FILLING or the signed revision itself contains the trick). They are still never valid here only because their
# certificates are untrusted; with a trusted certificate they would pass. Documented in the final report.
MANIPULATION_UNSEEN = {
    # overlapping annotations that were already in the signed revision (links 1 pt apart); nothing changed after
    # signing but a new invisible signature, the DSS and a document time-stamp. Its SHA-1 signatures are invalid.
    "pades-multiple-pages-annots-overlap.pdf",
}


def _files() -> list[Path]:
    return sorted(path for path in CORPUS.rglob("*") if path.is_file())


@pytest.fixture(scope="module")
def verdicts() -> dict[str, DocumentVerdict]:
    trust = TrustStore.from_parts(lists=[(str(RO_TRUSTED_LIST), None)], verify_list_signatures=False)
    policy = VerificationPolicy(trust=trust, revocation="require", allow_fetching=False)
    results = {}
    for path in _files():
        results[str(path.relative_to(CORPUS))] = verify_document(path.name, path.read_bytes(), policy)
    counts = Counter(verdict.label for verdict in results.values())
    print("\nsigned corpus:", len(results), "files;", ", ".join(f"{k}={v}" for k, v in counts.most_common()))
    for name, verdict in results.items():
        print(f"  {verdict.label:<13} {name:<75} {', '.join(verdict.reasons)[:110]}")
    return results


def test_corpus_is_there() -> None:
    assert len(_files()) >= 100, f"expected the shared corpus at {CORPUS}"


def test_every_file_gets_a_label_and_a_reason(verdicts: dict[str, DocumentVerdict]) -> None:
    assert len(verdicts) == len(_files())
    for name, verdict in verdicts.items():
        assert verdict.label in LABELS, name
        assert verdict.reasons, f"{name}: no reason"
        assert verdict.summary_ro, name
        for signature in verdict.signatures:
            assert signature.label in LABELS - {"none"} and signature.reasons, name
        verdict.as_json()  # JSON-able


def test_no_qes_for_a_library_error(verdicts: dict[str, DocumentVerdict]) -> None:
    for name, verdict in verdicts.items():
        for signature in verdict.signatures:
            if "library_error" in signature.reasons:
                assert signature.label in ("indeterminate", "invalid"), name


def test_manipulated_files_are_never_valid_looking(verdicts: dict[str, DocumentVerdict]) -> None:
    suspicious = {name: v for name, v in verdicts.items() if SUSPICIOUS.search(Path(name).name)}
    assert len(suspicious) >= 15
    for name, verdict in suspicious.items():
        assert verdict.label not in VALID_LOOKING, f"{name}: {verdict.label}"
        seen = {reason for signature in verdict.signatures for reason in signature.reasons} & MANIPULATION_SEEN
        if Path(name).name in MANIPULATION_UNSEEN or verdict.label == "none":
            continue
        assert seen, f"{name}: the manipulation itself is not reported ({verdict.reasons})"


def test_known_hard_cases(verdicts: dict[str, DocumentVerdict]) -> None:
    # adbe.pkcs7.sha1 signatures pyHanko skips silently are still found and reported
    sha1 = verdicts["dss/pkcs7_sha1.pdf"]
    assert [s.label for s in sha1.signatures] == ["indeterminate", "invalid"]
    assert "unsupported_subfilter" in sha1.signatures[0].reasons and "weak_algorithm" in sha1.signatures[1].reasons
    # hybrid-xref files are validated non-strictly and say so
    assert "hybrid_xref_retried_non_strict" in verdicts["dss/DSS-2155.pdf"].reasons
    # a byte range that does not cover the signed data is tampering
    assert verdicts["dss/pdf-signed-out-of-byteRange.pdf"].label == "invalid"
    assert "tampered" in verdicts["dss/pdf-signed-out-of-byteRange.pdf"].reasons
    # a signature added after the first one with a tampered range: reported beside the first, flagged for staff
    overlap = verdicts["dss/pdf-byterange-overlap.pdf"]
    assert any("tampered" in s.reasons for s in overlap.others()) and "other_signature_not_valid" in overlap.reasons
    # the certificate files in the corpus are not signatures: undecidable, never a crash
    assert verdicts["pyhanko/real-qcert.cer"].label == "indeterminate"


# ------------------------------------------------------------------------------------------------ issue 8, case 7
CASE7 = {
    "dss/dss-2236__replace.pdf": "modified_after_signing",  # a form-field value replaced after signing
    "dss/dss-1959__pades-revoc-removed-from-dss-dict.pdf": "modified_after_signing",  # revocation data removed
    "dss/pades-multiple-pages-annots-overlap.pdf": None,  # overlaps already in the signed revision; SHA-1
}


def _own_anchors(data: bytes) -> list:  # type: ignore[type-arg]
    """The file's own self-signed roots; where it carries none, the top of each signer's chain it carries."""
    import io

    from pyhanko.pdf_utils.reader import PdfFileReader
    from pyhanko.sign.validation.dss import DocumentSecurityStore

    reader = PdfFileReader(io.BytesIO(data), strict=False)
    certs = [c.chosen for s in reader.embedded_signatures for c in s.signed_data["certificates"]]
    with contextlib.suppress(Exception):
        certs += list(DocumentSecurityStore.read_dss(reader).load_certs())
    subjects = {c.subject.hashable for c in certs}
    tops = [c for c in certs if c.self_signed in ("maybe", "yes") or c.issuer.hashable not in subjects]
    return list({c.sha256: c for c in tops}.values())


@pytest.mark.parametrize("name", sorted(CASE7))
def test_en319102_case7_modified_files_are_never_valid_even_with_a_trusted_chain(name: str) -> None:
    # Issue 8 case 7: DSS rejects these; pyHanko's default difference analysis accepts them. With the files' own
    # roots as trust anchors (so "untrusted chain" cannot hide anything) they must still never be QES/AdES-QC/AdES.
    data = (CORPUS / name).read_bytes()
    anchors = _own_anchors(data)
    assert anchors, name
    policy = VerificationPolicy(trust=TrustStore.from_parts(anchors=anchors), revocation="off", allow_fetching=False)
    verdict = verify_document(Path(name).name, data, policy)
    assert verdict.label not in VALID_LOOKING, (name, verdict.label, verdict.reasons)
    assert all(s.label not in VALID_LOOKING or s is not verdict.decisive for s in verdict.signatures)
    expected = CASE7[name]
    if expected:
        decisive = verdict.decisive
        assert decisive is not None and expected in decisive.reasons, (name, decisive and decisive.reasons)
        assert decisive.modifications, "what changed must be said"
        assert "untrusted_chain" not in decisive.reasons  # the anchors work: the modification is what decides
