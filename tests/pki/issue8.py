"""Test material for issue 8: signature verdicts to ETSI EN 319 102-1 / TS 119 615.

What each group of scenarios is for (the case numbers are those of the issue):
- case 1, a claimed signing time must not raise the label: a CA whose trusted-list status is now `withdrawn` (it
  was `granted` until 10 days ago). Signed 30 days ago with only a claimed time, the verifier cannot use that time
  and must judge at the validation time (withdrawn: AdES); with a time-stamp from 30 days ago it is a QES.
- case 2, time-stamps from a listed QTST: a TSA whose certificate is listed in the trusted list as a QTST service but
  whose root is NOT a listed CA ("independent"), and a TSA that is listed nowhere ("unlisted"). An expired signer
  certificate with B-LT revocation data is still a QES when the signature time-stamp comes from the listed QTST.
- case 5, a third party's signature (non-qualified, another person) beside the applicant's does not decide.
- case 6, a claimed time outside the certificate's validity gives indeterminate, never invalid.
- case 7, changes after the applicant signed: form-field value replaced, a visible widget or annotation drawn over
  the applicant's identity paragraph, DSS revocation data removed; with controls that must stay QES.
- trusted-list variants for cases 3 and 4: an expired list, a list altered after signing, a wrong operator cert.

Claimed signing time. In PAdES it is the signature dictionary's /M (`sign_pdf(..., signing_time=...)`): EN 319 142-1
forbids the CMS signing-time attribute in PAdES signatures and pyHanko does not write it for ETSI.CAdES.detached.

`build.py` calls `make_issue8_pki` (certificates), `trusted_list_entries` (main list), `produce_issue8` (bytes of
every scenario) and `trusted_list_variants`; `ISSUE8_SPECS` holds the expectations.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from io import BytesIO

import aiohttp
from cryptography import x509
from pyhanko.pdf_utils import generic, layout
from pyhanko.pdf_utils.content import RawContent
from pyhanko.pdf_utils.generic import pdf_name, pdf_string
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.layout import BoxConstraints
from pyhanko.sign import fields
from pyhanko.sign.signers import PdfTimeStamper
from pyhanko.sign.signers.pdf_signer import TimestampDSSContentSettings
from pyhanko.sign.timestamps import TimeStamper
from pyhanko.stamp import TextStampStyle
from pyhanko_certvalidator import ValidationContext
from pyhanko_certvalidator.fetchers.aiohttp_fetchers import AIOHttpFetcherBackend

from tests.pki.certs import (
    POLICY_NCP_PLUS,
    POLICY_QCP_N_QSCD,
    QES_PROFILE,
    CertificateAuthority,
    Issued,
    ca_name,
    issue,
    make_root_ca,
    new_rsa_key,
    person_name,
)
from tests.pki.documents import APPLICANT, ParagraphLayout, make_cnp
from tests.pki.services import PkiServices, TestTimeStamper
from tests.pki.signing import BYTES_RESERVED, sign_pdf, simple_signer
from tests.pki.trusted_list import QTST, STATUS_GRANTED, STATUS_WITHDRAWN, ServiceEntry, build_trusted_list

DAY = timedelta(days=1)
YEAR = timedelta(days=365)
TL_EXPIRED_SEQUENCE_NUMBER = 41
SECOND_SIGNATURE_FIELD = "Semnatura2"
FORM_FIELD = "nume"
THIRD_PARTY_GIVEN_NAME, THIRD_PARTY_SURNAME = "Maria", "Ionescu"
# A different valid CNP (woman, 14 March 1985, Cluj): the third party is told apart by identity, not by a missing CNP.
THIRD_PARTY_CNP = make_cnp(2, date(1985, 3, 14), 12, 678)
# The paragraph with the applicant's name, CNP and address (the one a shadow attack would cover).
IDENTITY_PARAGRAPH = "Subsemnata"
# The service name changed in the tampered list (after signing, so the XAdES signature no longer verifies).
TAMPERED_SERVICE = (
    '<tsl:Name xml:lang="ro">Test Qualified CA RO</tsl:Name>',
    '<tsl:Name xml:lang="ro">Test Qualified CA RO (modificat)</tsl:Name>',
)


# ------------------------------------------------------------------------------------------------ PKI
@dataclass
class Issue8Pki:
    """The certificates issue 8 adds; `signers` maps role -> end-entity certificate (also written as PEMs)."""

    now: datetime
    past: datetime
    withdrawn_ca: CertificateAuthority
    withdrawn_since: datetime
    independent_tsa_root: CertificateAuthority
    independent_tsa: Issued
    unlisted_tsa_root: CertificateAuthority
    unlisted_tsa: Issued
    wrong_operator: CertificateAuthority
    signers: dict[str, Issued]

    @property
    def roots(self) -> tuple[CertificateAuthority, ...]:
        return (self.withdrawn_ca, self.independent_tsa_root, self.unlisted_tsa_root)

    @property
    def tsas(self) -> dict[str, Issued]:
        return {"independent_tsa": self.independent_tsa, "unlisted_tsa": self.unlisted_tsa}


def make_issue8_pki(services: PkiServices, now: datetime, qca: CertificateAuthority, applicant: x509.Name) -> Issue8Pki:
    url = services.url
    withdrawn_ca = make_root_ca(
        "withdrawn-ca",
        ca_name("Test Withdrawn Qualified CA RO", "Test Trust Services SRL"),
        now - 10 * YEAR,
        now + 10 * YEAR,
        url,
    )
    # Neither TSA root is a CA service of the trusted list: trust in the independent TSA can only come from its
    # QTST listing (its own certificate), the unlisted one has no trust at all.
    independent_root = make_root_ca(
        "independent-tsa-root",
        ca_name("Test Independent TSA Root", "Test Independent Time SRL"),
        now - 10 * YEAR,
        now + 10 * YEAR,
        url,
    )
    unlisted_root = make_root_ca(
        "unlisted-tsa-root", ca_name("Test Unlisted TSA Root", "Nimeni Time SRL"), now - 10 * YEAR, now + 10 * YEAR, url
    )
    for ca in (withdrawn_ca, independent_root, unlisted_root):
        services.register_ca(ca)
    # RSA: pyHanko's in-process time-stamper signs with RSA PKCS#1 v1.5 only.
    independent_tsa = issue(
        independent_root,
        "independent_tsa",
        ca_name("Test Independent QTSA RO", "Test Independent Time SRL"),
        now - 2 * YEAR,
        now + 5 * YEAR,
        key=new_rsa_key(),
        time_stamping=True,
    )
    unlisted_tsa = issue(
        unlisted_root,
        "unlisted_tsa",
        ca_name("Test Unlisted TSA", "Nimeni Time SRL"),
        now - 2 * YEAR,
        now + 5 * YEAR,
        key=new_rsa_key(),
        time_stamping=True,
    )
    wrong_operator = make_root_ca(
        "tl-operator-wrong",
        ca_name("Test Other Trusted List Scheme Operator RO", "Alta Autoritate de Test"),
        now - YEAR,
        now + 5 * YEAR,
        "",
    )
    issued_at, until = now - 90 * DAY, now + YEAR
    third_party = person_name(THIRD_PARTY_GIVEN_NAME, THIRD_PARTY_SURNAME, THIRD_PARTY_CNP)
    signers_ = {
        "withdrawn_signer": issue(
            withdrawn_ca, "withdrawn_signer", applicant, issued_at, until, qc=QES_PROFILE, policy=POLICY_QCP_N_QSCD
        ),
        # No QCStatements, NCP+ policy: a non-qualified AdES of somebody else, from the (trusted) qualified CA.
        "third_party": issue(qca, "third_party", third_party, issued_at, until, policy=POLICY_NCP_PLUS),
        # Valid at `past` (the signing time), expired 10 days before the build.
        "expiring": issue(
            qca, "expiring", applicant, issued_at, now - 10 * DAY, qc=QES_PROFILE, policy=POLICY_QCP_N_QSCD
        ),
        # Expires 2 days after the build: a claimed time one day after expiry is in the future.
        "short_lived": issue(
            qca, "short_lived", applicant, issued_at, now + 2 * DAY, qc=QES_PROFILE, policy=POLICY_QCP_N_QSCD
        ),
    }
    return Issue8Pki(
        now=now,
        past=now - 30 * DAY,
        withdrawn_ca=withdrawn_ca,
        withdrawn_since=now - 10 * DAY,
        independent_tsa_root=independent_root,
        independent_tsa=independent_tsa,
        unlisted_tsa_root=unlisted_root,
        unlisted_tsa=unlisted_tsa,
        wrong_operator=wrong_operator,
        signers=signers_,
    )


# ------------------------------------------------------------------------------------------------ trusted lists
def trusted_list_entries(i8: Issue8Pki) -> list[ServiceEntry]:
    """What issue 8 adds to the main trusted list."""
    now = i8.now
    return [
        # granted from now - 5 years until now - 10 days, withdrawn since (the history is the earlier status)
        ServiceEntry(
            "Test Withdrawn Qualified CA RO",
            i8.withdrawn_ca,
            since=i8.withdrawn_since,
            status=STATUS_WITHDRAWN,
            history=((STATUS_GRANTED, now - 5 * YEAR),),
        ),
        ServiceEntry("Test Independent QTSA RO", i8.independent_tsa, since=now - 2 * YEAR, service_type=QTST),
    ]


def trusted_list_variants(
    i8: Issue8Pki, *, operator: Issued, tsp_name: str, entries: Sequence[ServiceEntry], main_xml: str
) -> tuple[str, str]:
    """(expired, tampered): the same services, correctly signed but past NextUpdate; the main list altered after
    its signature was made."""
    expired = build_trusted_list(
        operator=operator,
        tsp_name=tsp_name,
        services=entries,
        sequence_number=TL_EXPIRED_SEQUENCE_NUMBER,
        issued_at=i8.now - 200 * DAY,
        next_update=i8.now - 20 * DAY,
    )
    original, changed = TAMPERED_SERVICE
    if main_xml.count(original) != 1:
        raise AssertionError(f"the main trusted list should name {original!r} exactly once")
    return expired, main_xml.replace(original, changed)


# ------------------------------------------------------------------------------------------------ expectations
@dataclass(frozen=True)
class Issue8Spec:
    name: str
    label: str
    description: str
    reasons: tuple[str, ...] = ()
    signatures: int = 1
    time_source: str | None = None
    timestamp_qualified: bool | None = None
    applicant_signature: int | None = None


_MODIFIED = ("modified_after_signing",)

ISSUE8_SPECS: Sequence[Issue8Spec] = (
    # case 1
    Issue8Spec(
        "i8_claimed_time_withdrawn_ca",
        "AdES",
        "PAdES B-B under a CA withdrawn from the TL 10 days ago (granted before); claimed signing time 30 days ago"
        " (unproven, so the CA's status at validation time applies).",
        ("claimed_time_unproven", "ca_not_in_trusted_list_at_signing_time"),
        time_source="claimed",
    ),
    Issue8Spec(
        "i8_timestamped_withdrawn_ca",
        "QES",
        "Same signer as i8_claimed_time_withdrawn_ca, signed and time-stamped (main QTST) 30 days ago, while the CA"
        " was still granted.",
        time_source="timestamp",
        timestamp_qualified=True,
    ),
    # case 2
    Issue8Spec(
        "i8_qtst_independent_bt",
        "QES",
        "PAdES B-T, time-stamp (now) from a TSA listed as QTST whose root is not a listed CA.",
        time_source="timestamp",
        timestamp_qualified=True,
    ),
    Issue8Spec(
        "i8_expired_cert_qtst_blt",
        "QES",
        "Certificate expired 10 days ago; signed and time-stamped 30 days ago by the independent listed QTST;"
        " PAdES B-LT (OCSP/CRL of the signer's chain in the DSS).",
        time_source="timestamp",
        timestamp_qualified=True,
    ),
    Issue8Spec(
        "i8_expired_cert_unlisted_tsa_blt",
        "indeterminate",
        "As i8_expired_cert_qtst_blt, but the time-stamp comes from a TSA listed nowhere.",
        ("timestamp_untrusted", "certificate_expired_time_unproven"),
    ),
    Issue8Spec(
        "i8_unlisted_tsa_bt",
        "QES",
        "Valid QES certificate, PAdES B-T with a time-stamp (now) from a TSA listed nowhere.",
        ("timestamp_untrusted",),
        time_source="claimed",
    ),
    # case 5
    Issue8Spec(
        "i8_applicant_then_third_party",
        "QES",
        "Applicant signs (QES, B-T, field Semnatura1), then Maria Ionescu (non-qualified AdES, B-T, Semnatura2).",
        ("third_party_signature",),
        signatures=2,
        applicant_signature=0,
    ),
    Issue8Spec(
        "i8_third_party_then_applicant",
        "QES",
        "Maria Ionescu signs first (non-qualified AdES, B-T, Semnatura1), then the applicant (QES, B-T, Semnatura2).",
        ("third_party_signature",),
        signatures=2,
        applicant_signature=1,
    ),
    # case 6
    Issue8Spec(
        "i8_claimed_after_expiry",
        "indeterminate",
        "PAdES B-B; claimed signing time one day after the certificate's notAfter (in the future).",
        ("claimed_time_after_certificate_expiry",),
    ),
    Issue8Spec(
        "i8_claimed_before_issuance",
        "indeterminate",
        "PAdES B-B; claimed signing time one day before the certificate's notBefore.",
        ("claimed_time_before_certificate_issuance",),
    ),
    Issue8Spec(
        "i8_claimed_within_validity",
        "QES",
        "PAdES B-B by the short-lived certificate, claimed signing time now (control).",
        ("claimed_time_unproven",),
        time_source="claimed",
    ),
    # case 7
    Issue8Spec(
        "i8_field_value_replaced",
        "indeterminate",
        "Application with a text field 'nume' (Ioana Ștefănescu), QES B-T; afterwards the field's value and"
        " appearance are replaced by 'Maria Ionescu' in an incremental update (shadow attack: replace).",
        _MODIFIED,
    ),
    Issue8Spec(
        "i8_form_then_second_signature",
        "QES",
        "The same form PDF signed QES B-T, then a second invisible applicant signature (Semnatura2), no field change"
        " (control).",
        signatures=2,
        applicant_signature=0,
    ),
    Issue8Spec(
        "i8_visible_signature_over_text",
        "indeterminate",
        "qes_bt, then a third-party signature whose visible, opaque widget covers the applicant's name/CNP paragraph.",
        _MODIFIED,
        signatures=2,
        applicant_signature=0,
    ),
    Issue8Spec(
        "i8_annotation_over_text",
        "indeterminate",
        "qes_bt plus an incremental update adding an opaque FreeText annotation over the name/CNP paragraph.",
        _MODIFIED,
    ),
    Issue8Spec(
        "i8_dss_revocation_removed",
        "indeterminate",
        "qes_blt plus an incremental update rewriting the DSS without its OCSPs, CRLs and VRI.",
        _MODIFIED,
    ),
    Issue8Spec(
        "i8_lta_control",
        "QES",
        "qes_blt plus a document time-stamp (PAdES B-LTA, main TSA, DSS updated before the time-stamp) (control).",
    ),
)


# ------------------------------------------------------------------------------------------------ PDF helpers
# Helvetica (a standard font: nothing to embed) re-encoded so the Romanian letters outside WinAnsi have codes.
_RO_GLYPHS = {
    "Ă": "Abreve",
    "ă": "abreve",
    "Ș": "Scommaaccent",
    "ș": "scommaaccent",
    "Ț": "Tcommaaccent",
    "ț": "tcommaaccent",
}
_RO_CODES = {char: 0x80 + index for index, char in enumerate(_RO_GLYPHS)}


def _helvetica_ro() -> generic.DictionaryObject:
    differences: list[generic.PdfObject] = [generic.NumberObject(0x80)]
    differences += [pdf_name(f"/{glyph}") for glyph in _RO_GLYPHS.values()]
    return generic.DictionaryObject(
        {
            pdf_name("/Type"): pdf_name("/Font"),
            pdf_name("/Subtype"): pdf_name("/Type1"),
            pdf_name("/BaseFont"): pdf_name("/Helvetica"),
            pdf_name("/Encoding"): generic.DictionaryObject(
                {
                    pdf_name("/Type"): pdf_name("/Encoding"),
                    pdf_name("/BaseEncoding"): pdf_name("/WinAnsiEncoding"),
                    pdf_name("/Differences"): generic.ArrayObject(differences),
                }
            ),
        }
    )


def _pdf_text(text: str) -> bytes:
    """A literal string in the `_helvetica_ro` encoding (octal escapes keep the content stream ASCII)."""
    out = bytearray(b"(")
    for char in text:
        code = _RO_CODES.get(char)
        byte = code if code is not None else char.encode("cp1252")[0]
        out += f"\\{byte:03o}".encode() if byte > 0x7E or char in "()\\" else bytes([byte])
    return bytes(out + b")")


def _opaque_text_appearance(
    writer: IncrementalPdfFileWriter,
    font_ref: generic.IndirectObject,
    size: tuple[float, float],
    lines: list[str],
    *,
    text_field: bool = False,
) -> generic.IndirectObject:
    """A form XObject: the box filled white (hides whatever is below) and `lines` in 11 pt Helvetica. A text field's
    appearance marks its variable text with /Tx BMC ... EMC, as form fillers write it."""
    width, height = size
    ops = [b"q 1 1 1 rg 0 0 %.2f %.2f re f Q" % (width, height)]
    ops += [b"/Tx BMC"] if text_field else []
    ops += [b"BT /Helv 11 Tf 0 g 13 TL", b"4 %.2f Td" % (height - 14)]
    ops += [_pdf_text(line) + b" Tj T*" for line in lines]
    ops += [b"ET", b"EMC"] if text_field else [b"ET"]
    stream = generic.StreamObject(
        {
            pdf_name("/Type"): pdf_name("/XObject"),
            pdf_name("/Subtype"): pdf_name("/Form"),
            pdf_name("/BBox"): generic.ArrayObject([generic.FloatObject(v) for v in (0, 0, width, height)]),
            pdf_name("/Resources"): generic.DictionaryObject(
                {pdf_name("/Font"): generic.DictionaryObject({pdf_name("/Helv"): font_ref})}
            ),
        },
        stream_data=b"\n".join(ops),
    )
    return writer.add_object(stream)


def _rect(box: tuple[float, float, float, float]) -> generic.ArrayObject:
    return generic.ArrayObject([generic.FloatObject(round(v, 2)) for v in box])


def _written(writer: IncrementalPdfFileWriter) -> bytes:
    out = BytesIO()
    writer.write(out)
    return out.getvalue()


# Where the form field sits: below the last paragraph of the application (blank in the fpdf2 layout), A4 points.
FORM_FIELD_BOX = (56.69, 340.0, 340.0, 370.0)


def form_application_pdf(application: bytes, value: str) -> bytes:
    """The application with an AcroForm text field `nume` (value and appearance), added in an incremental update
    before anyone signs: fpdf2 cannot make form fields."""
    writer = IncrementalPdfFileWriter(BytesIO(application))
    page_ref, _resources = writer.find_page_for_modification(0)
    font_ref = writer.add_object(_helvetica_ro())
    x1, y1, x2, y2 = FORM_FIELD_BOX
    field = generic.DictionaryObject(
        {
            # one dictionary for field and widget, as most form producers write single-widget fields
            pdf_name("/Type"): pdf_name("/Annot"),
            pdf_name("/Subtype"): pdf_name("/Widget"),
            pdf_name("/FT"): pdf_name("/Tx"),
            pdf_name("/T"): pdf_string(FORM_FIELD),
            pdf_name("/TU"): pdf_string("Nume și prenume"),
            pdf_name("/V"): pdf_string(value),
            pdf_name("/DA"): pdf_string("/Helv 11 Tf 0 g"),
            pdf_name("/F"): generic.NumberObject(4),  # printed
            pdf_name("/Rect"): _rect(FORM_FIELD_BOX),
            pdf_name("/P"): page_ref,
            pdf_name("/AP"): generic.DictionaryObject(
                {
                    pdf_name("/N"): _opaque_text_appearance(
                        writer, font_ref, (x2 - x1, y2 - y1), [value], text_field=True
                    )
                }
            ),
        }
    )
    field_ref = writer.add_object(field)
    writer.register_annotation(page_ref, field_ref)
    writer.root[pdf_name("/AcroForm")] = writer.add_object(
        generic.DictionaryObject(
            {
                pdf_name("/Fields"): generic.ArrayObject([field_ref]),
                pdf_name("/DR"): generic.DictionaryObject(
                    {pdf_name("/Font"): generic.DictionaryObject({pdf_name("/Helv"): font_ref})}
                ),
                pdf_name("/DA"): pdf_string("/Helv 0 Tf 0 g"),
            }
        )
    )
    writer.update_root()
    return _written(writer)


def replace_field_value(signed: bytes, name: str, value: str) -> bytes:
    """Shadow attack "replace": an incremental update giving the text field a new /V and a matching appearance."""
    writer = IncrementalPdfFileWriter(BytesIO(signed))
    (field_ref,) = [
        ref for ref in writer.root["/AcroForm"].raw_get("/Fields").get_object() if ref.get_object().get("/T") == name
    ]
    field = field_ref.get_object()
    x1, y1, x2, y2 = (float(v) for v in field["/Rect"])
    font_ref = writer.root["/AcroForm"]["/DR"]["/Font"].raw_get("/Helv")
    field[pdf_name("/V")] = pdf_string(value)
    field[pdf_name("/AP")] = generic.DictionaryObject(
        {pdf_name("/N"): _opaque_text_appearance(writer, font_ref, (x2 - x1, y2 - y1), [value], text_field=True)}
    )
    writer.mark_update(field_ref)
    return _written(writer)


def add_annotation_over(signed: bytes, box: tuple[float, float, float, float], lines: list[str]) -> bytes:
    """Shadow attack "hide and replace" by annotation: an opaque FreeText annotation (white fill, other text)."""
    writer = IncrementalPdfFileWriter(BytesIO(signed))
    page_ref, _resources = writer.find_page_for_modification(0)
    font_ref = writer.add_object(_helvetica_ro())
    x1, y1, x2, y2 = box
    annotation = generic.DictionaryObject(
        {
            pdf_name("/Type"): pdf_name("/Annot"),
            pdf_name("/Subtype"): pdf_name("/FreeText"),
            pdf_name("/Rect"): _rect(box),
            pdf_name("/Contents"): pdf_string(" ".join(lines)),
            pdf_name("/DA"): pdf_string("/Helv 11 Tf 0 g"),
            pdf_name("/C"): generic.ArrayObject([generic.FloatObject(1)] * 3),  # background: white
            pdf_name("/F"): generic.NumberObject(4),
            pdf_name("/P"): page_ref,
            pdf_name("/AP"): generic.DictionaryObject(
                {pdf_name("/N"): _opaque_text_appearance(writer, font_ref, (x2 - x1, y2 - y1), lines)}
            ),
        }
    )
    writer.register_annotation(page_ref, writer.add_object(annotation))
    return _written(writer)


def strip_dss_revocation(signed: bytes) -> bytes:
    """An incremental update that rewrites /DSS keeping only /Certs (no /OCSPs, /CRLs, /VRI)."""
    writer = IncrementalPdfFileWriter(BytesIO(signed))
    dss_ref = writer.root.raw_get("/DSS")
    dss = dss_ref.get_object()
    kept = generic.DictionaryObject(
        {key: value for key, value in dss.items() if key not in ("/OCSPs", "/CRLs", "/VRI")}
    )
    if isinstance(dss_ref, generic.IndirectObject):
        # a new object under the same number: the DSS of the last revision is the stripped one
        dss.clear()
        dss.update(kept)
        writer.mark_update(dss_ref)
    else:
        writer.root[pdf_name("/DSS")] = kept
        writer.update_root()
    return _written(writer)


async def add_document_timestamp(signed: bytes, timestamper: TimeStamper, context: ValidationContext) -> bytes:
    """PAdES B-LTA: the TSA's validation data into the DSS, then a document time-stamp covering everything."""
    writer = IncrementalPdfFileWriter(BytesIO(signed), strict=False)
    output = BytesIO()
    await PdfTimeStamper(timestamper, field_name="Marca temporala document").async_timestamp_pdf(
        writer,
        "sha256",
        validation_context=context,
        bytes_reserved=BYTES_RESERVED,
        output=output,
        # VRI entries can only be written after the time-stamp; without them the DSS can precede it, so the
        # document time-stamp is the last revision (nothing unprotected after it).
        dss_settings=TimestampDSSContentSettings(include_vri=False, update_before_ts=True),
    )
    return output.getvalue()


def _box_int(box: tuple[float, float, float, float]) -> tuple[int, int, int, int]:
    """Outward rounding: pyHanko's SigFieldSpec wants integer coordinates, the widget must still cover the box."""
    x1, y1, x2, y2 = box
    return math.floor(x1), math.floor(y1), math.ceil(x2), math.ceil(y2)


# The second signer's visible stamp: an opaque white background (a plain stamp would let the text show through).
OPAQUE_STAMP = TextStampStyle(
    stamp_text="Semnat de %(signer)s\n%(ts)s",
    background=RawContent(b"1 1 1 rg 0 0 100 100 re f", box=BoxConstraints(100, 100)),
    background_opacity=1.0,
    background_layout=layout.SimpleBoxLayoutRule(
        x_align=layout.AxisAlignment.ALIGN_MID,
        y_align=layout.AxisAlignment.ALIGN_MID,
        margins=layout.Margins.uniform(0),
        inner_content_scaling=layout.InnerScaling.STRETCH_FILL,
    ),
)


# ------------------------------------------------------------------------------------------------ scenarios
async def produce_issue8(
    i8: Issue8Pki,
    *,
    qca: CertificateAuthority,
    tsa: Issued,
    qes: Issued,
    application: bytes,
    application_layout: Sequence[ParagraphLayout],
    qes_bt: bytes,
    qes_blt: bytes,
    http_tsa: TimeStamper,
    session: aiohttp.ClientSession,
) -> dict[str, bytes]:
    """The bytes of every issue-8 scenario; `qes_bt`/`qes_blt` are build.py's files, reused as first revisions, and
    `application_layout` says where fpdf2 put the application's paragraphs (for the shadow attacks)."""
    past = i8.past
    fetcher = AIOHttpFetcherBackend(session)

    def stamper(who: Issued, root: CertificateAuthority, at: datetime | None) -> TestTimeStamper:
        # in-process, so genTime can be in the past; `at=None` stamps at the real current time
        return TestTimeStamper(tsa_cert=who.asn1, tsa_key=who.key_info, certs_to_embed=[root.asn1], fixed_dt=at)

    def context_at_past(tsa_root: CertificateAuthority) -> ValidationContext:
        # The "expiring" certificate is expired now: pyHanko's presign validation must judge it at `past`, with the
        # revocation data fetched today (hence retroactive) and the TSA's root trusted for its dummy time-stamp.
        return ValidationContext(
            trust_roots=[qca.asn1, tsa_root.asn1],
            moment=past,
            retroactive_revinfo=True,
            allow_fetching=True,
            fetcher_backend=fetcher,
        )

    s = i8.signers
    applicant = simple_signer(qes, qca)
    third_party = simple_signer(s["third_party"], qca)
    withdrawn = simple_signer(s["withdrawn_signer"], i8.withdrawn_ca)
    expiring = simple_signer(s["expiring"], qca)
    short_lived = simple_signer(s["short_lived"], qca)
    main_past_tsa = stamper(tsa, qca, past)
    out: dict[str, bytes] = {}

    # case 1
    out["i8_claimed_time_withdrawn_ca"] = await sign_pdf(application, withdrawn, signing_time=past)
    out["i8_timestamped_withdrawn_ca"] = await sign_pdf(
        application, withdrawn, timestamper=main_past_tsa, signing_time=past
    )

    # case 2
    independent, unlisted = i8.independent_tsa, i8.unlisted_tsa
    out["i8_qtst_independent_bt"] = await sign_pdf(
        application, applicant, timestamper=stamper(independent, i8.independent_tsa_root, None)
    )
    for name, who, root in (
        ("i8_expired_cert_qtst_blt", independent, i8.independent_tsa_root),
        ("i8_expired_cert_unlisted_tsa_blt", unlisted, i8.unlisted_tsa_root),
    ):
        out[name] = await sign_pdf(
            application,
            expiring,
            timestamper=stamper(who, root, past),
            signing_time=past,
            validation_context=context_at_past(root),
        )
    out["i8_unlisted_tsa_bt"] = await sign_pdf(
        application, applicant, timestamper=stamper(unlisted, i8.unlisted_tsa_root, None)
    )

    # case 5: qes_bt is exactly "the applicant signs B-T in Semnatura1"
    out["i8_applicant_then_third_party"] = await sign_pdf(
        qes_bt, third_party, timestamper=http_tsa, field_name=SECOND_SIGNATURE_FIELD
    )
    third_first = await sign_pdf(application, third_party, timestamper=http_tsa)
    out["i8_third_party_then_applicant"] = await sign_pdf(
        third_first, applicant, timestamper=http_tsa, field_name=SECOND_SIGNATURE_FIELD
    )

    # case 6
    short_cert = s["short_lived"].cert
    out["i8_claimed_after_expiry"] = await sign_pdf(
        application, short_lived, signing_time=short_cert.not_valid_after_utc + DAY
    )
    out["i8_claimed_before_issuance"] = await sign_pdf(
        application, short_lived, signing_time=short_cert.not_valid_before_utc - DAY
    )
    out["i8_claimed_within_validity"] = await sign_pdf(application, short_lived)

    # case 7
    form_signed = await sign_pdf(
        form_application_pdf(application, APPLICANT.full_name), applicant, timestamper=http_tsa
    )
    out["i8_field_value_replaced"] = replace_field_value(
        form_signed, FORM_FIELD, f"{THIRD_PARTY_GIVEN_NAME} {THIRD_PARTY_SURNAME}"
    )
    out["i8_form_then_second_signature"] = await sign_pdf(
        form_signed, applicant, timestamper=http_tsa, field_name=SECOND_SIGNATURE_FIELD
    )
    (identity,) = [p for p in application_layout if p.text.startswith(IDENTITY_PARAGRAPH) and p.page == 1]
    identity_box = identity.pdf_box()
    out["i8_visible_signature_over_text"] = await sign_pdf(
        qes_bt,
        third_party,
        timestamper=http_tsa,
        field_name=SECOND_SIGNATURE_FIELD,
        new_field_spec=fields.SigFieldSpec(SECOND_SIGNATURE_FIELD, on_page=0, box=_box_int(identity_box)),
        stamp_style=OPAQUE_STAMP,
    )
    out["i8_annotation_over_text"] = add_annotation_over(
        qes_bt,
        identity_box,
        [
            f"Subsemnata {THIRD_PARTY_GIVEN_NAME} {THIRD_PARTY_SURNAME}, CNP {THIRD_PARTY_CNP},",
            "domiciliată în Cluj-Napoca, str. Horea nr. 3, jud. Cluj,",
        ],
    )
    out["i8_dss_revocation_removed"] = strip_dss_revocation(qes_blt)
    lta_context = ValidationContext(trust_roots=[qca.asn1], allow_fetching=True, fetcher_backend=fetcher)
    out["i8_lta_control"] = await add_document_timestamp(qes_blt, http_tsa, lta_context)
    return out
