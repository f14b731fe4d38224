"""Qualification of a signer's certificate, at signing time AND at issuance, as DSS decides it.

Trusted lists are built and signed at test time (helpers in test_trustlists.py); certificates carry QCStatements
encoded with pyHanko's `qualified_asn1`. The last tests use the shared test PKI (`test_pki` fixture).
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from pyhanko.generated.etsi import ts_119612_sie as sie

from intake.signatures.qualification import Qualification, read_qc_statements
from intake.signatures.trust_store import TrustStore
from intake.signatures.trustlists import load_certificates
from tests.pki.build import TestPki
from tests.shared_corpus import corpus
from tests.unit.test_trustlists import (
    DAY,
    GRANTED,
    NOW,
    WITHDRAWN,
    YEAR,
    Pki,
    Service,
    Status,
    build_list,
    granted,
    key_usage_criteria,
    make_cert,
    operator_cert,
    policy_criteria,
    qc_der,
    sign_list,
    store_for,
)

SIGNED = NOW - 10 * DAY  # signing time of most signatures below
ISSUED = NOW - 100 * DAY  # notBefore of most signer certificates below
QES = qc_der()  # QcCompliance + QcSSCD + QcType esign
NO_QSCD = qc_der(sscd=False)


@pytest.fixture(scope="module")
def operator() -> Pki:
    return operator_cert()


@pytest.fixture(scope="module")
def ca() -> Pki:
    return make_cert("Test Qualified CA", ca=True, not_before=NOW - 6 * YEAR)


def _signer(ca: Pki, qc: bytes | None = QES, **kwargs: object) -> Pki:
    return make_cert("Ion Popescu", issuer=ca, qc=qc, not_before=ISSUED, serial_number="PNORO-1960523123456", **kwargs)  # type: ignore[arg-type]


def _assess(
    operator: Pki, ca: Pki, statuses: tuple[Status, ...], signer: Pki, when: datetime = SIGNED
) -> Qualification:
    store = store_for(build_list([Service("Test Qualified CA", ca, statuses)], sequence=9), operator)
    return store.assess(signer.asn1, ca.asn1, when)


# ------------------------------------------------------------------------------------------------ QCStatements
def test_qc_statements_of_a_qes_certificate(ca: Pki) -> None:
    statements = read_qc_statements(_signer(ca).asn1)
    assert statements.compliance and statements.sscd and statements.types == ("esign",)
    assert statements.semantics_identifier == "PNORO-1960523123456"


def test_qc_statements_absent_or_several_types(ca: Pki) -> None:
    plain = read_qc_statements(make_cert("Plain", issuer=ca).asn1)
    assert (plain.compliance, plain.sscd, plain.types, plain.semantics_identifier) == (False, False, (), None)
    several = read_qc_statements(_signer(ca, qc_der(types=("esign", "eseal"))).asn1)
    assert several.types == ("esign", "eseal")  # pyHanko's assessor raises NotImplementedError here


def test_semantics_identifier_only_for_natural_persons(ca: Pki) -> None:
    seal = make_cert("Firma SRL", issuer=ca, qc=qc_der(types=("eseal",)), serial_number="VATRO-12345674")
    assert read_qc_statements(seal.asn1).semantics_identifier is None
    passport = make_cert("Ana", issuer=ca, serial_number="PASRO-123456")
    assert read_qc_statements(passport.asn1).semantics_identifier == "PASRO-123456"


def test_malformed_qc_statements_never_raise(ca: Pki) -> None:
    broken = make_cert("Broken", issuer=ca, qc=b"\x30\x03\x02\x01\x05")  # a SEQUENCE holding an INTEGER
    assert read_qc_statements(broken.asn1).compliance is False
    garbage = make_cert("Garbage", issuer=ca, qc=b"\x04\x00")
    assert read_qc_statements(garbage.asn1).types == ()


# ------------------------------------------------------------------------------------------------ anchors
@pytest.fixture(scope="module")
def anchored(ca: Pki) -> TrustStore:
    return TrustStore.from_parts(anchors=[ca.asn1])


@pytest.mark.parametrize(
    ("qc", "qualified", "qscd", "qc_type", "reasons"),
    [
        (QES, True, True, "esign", ()),
        (qc_der(types=()), True, True, "esign", ()),  # no QcType: an EU QC for e-signatures
        (NO_QSCD, True, False, "esign", ("no_qscd",)),
        (None, False, None, None, ("not_qualified",)),
        (qc_der(compliance=False), False, None, "esign", ("not_qualified",)),
        (qc_der(types=("eseal",)), True, True, "eseal", ("qc_type_eseal",)),
        (qc_der(types=("web",), sscd=False), True, False, "web", ("qc_type_web", "no_qscd")),
        (qc_der(types=("esign", "eseal")), True, True, "unknown", ("qc_type_ambiguous",)),
    ],
    ids=["qes", "no-qctype", "no-qscd", "no-statements", "no-compliance", "eseal", "web", "several-types"],
)
def test_anchor_mode_qualification_from_the_certificate(
    anchored: TrustStore,
    ca: Pki,
    qc: bytes | None,
    qualified: bool,
    qscd: bool | None,
    qc_type: str | None,
    reasons: tuple[str, ...],
) -> None:
    q = anchored.assess(_signer(ca, qc).asn1, ca.asn1, SIGNED)
    assert (q.qualified, q.qscd, q.qc_type, q.reasons) == (qualified, qscd, qc_type, reasons)
    assert q.source == "anchor" and q.at_signing and q.at_issuance and q.tl_sequence is None
    assert [c.sha256 for c in anchored.trust_roots] == [ca.asn1.sha256]


def test_anchor_without_issuer_given_matches_by_name_and_key_id(anchored: TrustStore, ca: Pki) -> None:
    assert anchored.assess(_signer(ca).asn1, None, SIGNED).qualified


def test_unknown_ca_is_not_qualified(anchored: TrustStore) -> None:
    stranger = make_cert("Other CA", ca=True)
    q = anchored.assess(_signer(stranger).asn1, stranger.asn1, SIGNED)
    assert (q.qualified, q.source, q.reasons) == (False, "none", ("not_qualified",))


def test_same_name_other_key_is_not_the_anchor(anchored: TrustStore) -> None:
    twin = make_cert("Test Qualified CA", ca=True)  # same subject, different key
    q = anchored.assess(_signer(twin).asn1, twin.asn1, SIGNED)
    assert q.source == "none" and not q.qualified


# ------------------------------------------------------------------------------------------------ service history
def test_granted_before_issuance_is_qualified(operator: Pki, ca: Pki) -> None:
    q = _assess(operator, ca, (granted(NOW - 5 * YEAR),), _signer(ca))
    assert (q.qualified, q.qscd, q.qc_type, q.reasons) == (True, True, "esign", ())
    assert (q.source, q.service_name, q.tl_sequence, q.at_signing, q.at_issuance) == (
        "trusted_list",
        "Test Qualified CA",
        9,
        True,
        True,
    )


def test_granted_only_after_signing(operator: Pki, ca: Pki) -> None:
    q = _assess(operator, ca, (granted(NOW - 5 * DAY),), _signer(ca))
    assert not q.qualified and not q.at_signing and not q.at_issuance
    assert q.reasons == (
        "ca_not_in_trusted_list_at_signing_time",
        "ca_not_in_trusted_list_at_issuance",
        "not_qualified",
    )


def test_granted_after_issuance_but_before_signing(operator: Pki, ca: Pki) -> None:
    q = _assess(operator, ca, (granted(NOW - 50 * DAY),), _signer(ca))
    assert q.at_signing and not q.at_issuance and not q.qualified
    assert q.reasons == ("ca_not_in_trusted_list_at_issuance", "not_qualified")


def test_withdrawn_before_signing(operator: Pki, ca: Pki) -> None:
    q = _assess(operator, ca, (granted(NOW - 5 * YEAR), Status(WITHDRAWN, NOW - 20 * DAY)), _signer(ca))
    assert q.at_issuance and not q.at_signing and not q.qualified
    assert q.reasons == ("ca_not_in_trusted_list_at_signing_time", "not_qualified")


def test_withdrawn_after_signing_keeps_old_signatures_qualified(operator: Pki, ca: Pki) -> None:
    q = _assess(operator, ca, (granted(NOW - 5 * YEAR), Status(WITHDRAWN, NOW - 2 * DAY)), _signer(ca))
    assert q.qualified and q.qscd and q.at_signing and q.at_issuance


def test_granted_again_after_a_gap(operator: Pki, ca: Pki) -> None:
    statuses = (granted(NOW - 5 * YEAR), Status(WITHDRAWN, NOW - 200 * DAY), granted(NOW - 150 * DAY))
    assert _assess(operator, ca, statuses, _signer(ca)).qualified
    old = make_cert("Old", issuer=ca, qc=QES, not_before=NOW - 180 * DAY)  # issued during the gap
    q = _assess(operator, ca, statuses, old)
    assert not q.qualified and q.reasons == ("ca_not_in_trusted_list_at_issuance", "not_qualified")


def test_signing_time_without_time_zone_is_utc(operator: Pki, ca: Pki) -> None:
    naive = SIGNED.replace(tzinfo=None)
    assert _assess(operator, ca, (granted(NOW - 5 * YEAR),), _signer(ca), naive).qualified


# ------------------------------------------------------------------------------------------------ qualifiers
@pytest.mark.parametrize(
    ("qualifier", "qc", "qualified", "qscd", "qc_type"),
    [
        ("NotQualified", QES, False, None, "esign"),
        ("QCForLegalPerson", QES, False, None, "esign"),
        ("QCWithSSCD", NO_QSCD, True, True, "esign"),
        ("QCWithQSCD", NO_QSCD, True, True, "esign"),
        ("QCQSCDManagedOnBehalf", NO_QSCD, True, True, "esign"),
        ("QCNoSSCD", QES, True, False, "esign"),
        ("QCNoQSCD", QES, True, False, "esign"),
        ("QCQSCDStatusAsInCert", NO_QSCD, True, False, "esign"),
        ("QCStatement", qc_der(compliance=False), True, True, "esign"),
        ("QCForESeal", QES, True, True, "eseal"),
        ("QCForESig", qc_der(types=("esign", "eseal")), True, True, "esign"),
        ("QCForWSA", QES, True, True, "web"),
    ],
)
def test_qualifiers_override_the_certificate(
    operator: Pki, ca: Pki, qualifier: str, qc: bytes, qualified: bool, qscd: bool | None, qc_type: str
) -> None:
    q = _assess(operator, ca, (granted(NOW - 5 * YEAR, qualifier),), _signer(ca, qc))
    assert (q.qualified, q.qscd, q.qc_type) == (qualified, qscd, qc_type)
    assert q.at_signing and q.at_issuance


def test_qualifier_whose_criteria_do_not_match_is_ignored(operator: Pki, ca: Pki) -> None:
    status = Status(GRANTED, NOW - 5 * YEAR, (("NotQualified", policy_criteria("1.2.3.4.5")),))
    assert _assess(operator, ca, (status,), _signer(ca)).qualified
    assert not _assess(operator, ca, (status,), _signer(ca, policies=["1.2.3.4.5"])).qualified


def test_qualifier_selecting_other_key_usage_is_ignored(operator: Pki, ca: Pki) -> None:
    crl_signers = key_usage_criteria(sie.KeyUsageBitTypename.CRL_SIGN)
    status = Status(GRANTED, NOW - 5 * YEAR, (("QCNoQSCD", crl_signers),))
    assert _assess(operator, ca, (status,), _signer(ca)).qscd is True


def test_qscd_withdrawn_by_a_later_qualifier(operator: Pki, ca: Pki) -> None:
    # QSCD at issuance, a new period saying "no QSCD" at signing: the signing time decides QSCD
    statuses = (granted(NOW - 5 * YEAR), granted(NOW - 50 * DAY, "QCNoQSCD"))
    q = _assess(operator, ca, statuses, _signer(ca))
    assert (q.qualified, q.qscd, q.reasons) == (True, False, ("no_qscd",))


def test_not_qualified_at_issuance_by_qualifier(operator: Pki, ca: Pki) -> None:
    statuses = (granted(NOW - 5 * YEAR, "NotQualified"), granted(NOW - 50 * DAY))
    q = _assess(operator, ca, statuses, _signer(ca))
    assert q.at_signing and q.at_issuance and not q.qualified and q.reasons == ("not_qualified",)


def test_service_scope_from_additional_service_information(operator: Pki, ca: Pki) -> None:
    seals_only = (granted(NOW - 5 * YEAR, types=("eseal",)),)
    q = _assess(operator, ca, seals_only, _signer(ca))
    assert not q.qualified and "qc_type_not_in_service_scope" in q.reasons
    seal = _signer(ca, qc_der(types=("eseal",)))
    assert _assess(operator, ca, seals_only, seal).qc_type == "eseal"
    # a certificate declaring several types is settled by the service's scope
    both = _signer(ca, qc_der(types=("esign", "eseal")))
    q = _assess(operator, ca, (granted(NOW - 5 * YEAR, types=("esign",)),), both)
    assert (q.qualified, q.qc_type, q.reasons) == (True, "esign", ())


def test_several_qc_types_without_help_from_the_list_are_ambiguous(operator: Pki, ca: Pki) -> None:
    q = _assess(operator, ca, (granted(NOW - 5 * YEAR),), _signer(ca, qc_der(types=("esign", "eseal", "web"))))
    assert (q.qualified, q.qc_type, q.reasons) == (True, "unknown", ("qc_type_ambiguous",))


def test_eseal_certificate_from_the_list(operator: Pki, ca: Pki) -> None:
    q = _assess(operator, ca, (granted(NOW - 5 * YEAR),), _signer(ca, qc_der(types=("eseal",))))
    assert (q.qualified, q.qscd, q.qc_type, q.reasons) == (True, True, "eseal", ("qc_type_eseal",))


# ------------------------------------------------------------------------------------------------ matching
def test_list_naming_the_root_qualifies_certificates_of_its_intermediate(operator: Pki) -> None:
    root = make_cert("Test Qualified Root", ca=True, not_before=NOW - 6 * YEAR)
    intermediate = make_cert("Test Issuing CA", issuer=root, ca=True, not_before=NOW - 5 * YEAR)
    signer = _signer(intermediate)
    store = store_for(build_list([Service("Root", root, (granted(NOW - 5 * YEAR),))]), operator)
    q = store.assess(signer.asn1, intermediate.asn1, SIGNED)
    assert q.qualified and q.service_name == "Root"
    assert not store.assess(signer.asn1, None, SIGNED).qualified  # without the issuer the root is out of reach


def test_same_name_other_key_is_not_the_listed_ca(operator: Pki, ca: Pki) -> None:
    twin = make_cert("Test Qualified CA", ca=True)
    store = store_for(build_list([Service("Test Qualified CA", ca, (granted(NOW - 5 * YEAR),))]), operator)
    q = store.assess(_signer(twin).asn1, twin.asn1, SIGNED)
    assert q.source == "none" and q.reasons == ("not_qualified",)


def test_list_wins_over_an_anchor_for_the_same_ca(operator: Pki, ca: Pki) -> None:
    xml = build_list([Service("Test Qualified CA", ca, (granted(NOW - 5 * DAY),))])
    store = TrustStore.from_parts(lists=[(sign_list(xml, operator).decode(), operator.der)], anchors=[ca.asn1])
    q = store.assess(_signer(ca).asn1, ca.asn1, SIGNED)
    assert q.source == "trusted_list" and not q.at_signing
    assert len(store.trust_roots) == 1  # the same certificate twice is one root


def test_pre_eidas_accredited_service_and_qcp_plus_policy(operator: Pki, ca: Pki) -> None:
    """Before 1 July 2016: `accredited` granted, and the QCP public + SSCD policy made a certificate a QC+SSCD."""
    statuses = (
        Status("http://uri.etsi.org/TrstSvc/TrustedList/Svcstatus/accredited", datetime(2010, 1, 1, tzinfo=UTC)),
        granted(datetime(2016, 6, 30, 22, tzinfo=UTC)),
    )
    old = make_cert(
        "Ion Popescu",
        issuer=ca,
        not_before=datetime(2015, 3, 1, tzinfo=UTC),
        not_after=datetime(2018, 3, 1, tzinfo=UTC),
        policies=["0.4.0.1456.1.1"],
    )
    q = _assess(operator, ca, statuses, old, datetime(2016, 2, 1, tzinfo=UTC))
    assert (q.qualified, q.qscd, q.qc_type) == (True, True, "esign")


# ------------------------------------------------------------------------------------------------ real data
def test_romanian_list_with_a_certificate_of_a_listed_ca() -> None:
    ro_list = corpus("trusted-lists", "ro-tl-seq61-2023-10-18.xml")
    store = TrustStore.from_parts(lists=[(str(ro_list), None)], verify_list_signatures=False)
    sts = next(c for c in store.trust_roots if "STS Qualified CA" in c.subject.human_friendly)
    # a stand-in signer carrying that CA's name and key identifier (nothing here checks the signature itself)
    stand_in_ca = Pki(make_cert("unused").key, x509.load_der_x509_certificate(sts.dump()))
    signer = make_cert("Ion Popescu", issuer=stand_in_ca, qc=QES, not_before=datetime(2021, 7, 2, tzinfo=UTC))
    q = store.assess(signer.asn1, None, datetime(2021, 7, 27, tzinfo=UTC))
    assert (q.qualified, q.qscd, q.qc_type, q.service_name, q.tl_sequence) == (
        True,
        True,
        "esign",
        "STS Qualified CA",
        61,
    )


# ------------------------------------------------------------------------------------------------ the test PKI
def _cert(path: Path) -> asn1_x509.Certificate:
    return load_certificates(path.read_bytes())[0]


def test_test_pki_trusted_list_and_certificates(test_pki: TestPki) -> None:
    store = TrustStore.from_parts(lists=[(str(test_pki.trusted_list), test_pki.tl_operator_cert.read_bytes())])
    (info,) = store.lists
    assert info.error is None and info.signature_verified and info.territory == "RO"
    qca = _cert(test_pki.ca_certs["qualified-ca"])
    certs = {role: _cert(path) for role, path in test_pki.certificates.items()}

    qes = store.assess(certs["qes"], qca, test_pki.built_at)
    assert (qes.qualified, qes.qscd, qes.qc_type, qes.source, qes.reasons) == (True, True, "esign", "trusted_list", ())
    assert read_qc_statements(certs["qes"]).semantics_identifier == f"PNORO-{test_pki.applicant_cnp}"

    seal = store.assess(certs["eseal"], qca, test_pki.built_at)
    assert (seal.qualified, seal.qc_type, seal.reasons) == (True, "eseal", ("qc_type_eseal",))

    no_qscd = store.assess(certs["no_qscd"], qca, test_pki.built_at)
    assert (no_qscd.qualified, no_qscd.qscd, no_qscd.reasons) == (True, False, ("no_qscd",))

    plain = store.assess(certs["not_qualified"], qca, test_pki.built_at)
    assert (plain.qualified, plain.reasons) == (False, ("not_qualified",))

    late = store.assess(certs["late_ca"], _cert(test_pki.ca_certs["late-ca"]), test_pki.past_signing_time)
    assert not late.qualified and "ca_not_in_trusted_list_at_signing_time" in late.reasons

    anchors = TrustStore.from_parts(anchors=[_cert(p) for p in test_pki.anchors])
    assert anchors.assess(certs["qes"], qca, test_pki.built_at).qscd is True
