"""PDF signing helpers shared by `tests.pki.build` (issue 3 scenarios) and `tests.pki.issue8` (issue 8 scenarios).

They live in their own module so that `issue8` can use them without importing `build` (which imports `issue8`).
"""

from __future__ import annotations

from datetime import datetime
from io import BytesIO

from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.sign import fields, signers
from pyhanko.sign.signers.pdf_cms import PdfCMSSignedAttributes
from pyhanko.sign.timestamps import TimeStamper
from pyhanko.stamp import BaseStampStyle
from pyhanko_certvalidator import ValidationContext
from pyhanko_certvalidator.registry import SimpleCertificateStore

from tests.pki.certs import CertificateAuthority, Issued

SIGNATURE_FIELD = "Semnatura1"
# Reserving the CMS space up front skips pyHanko's dry-run signature (halves signing time).
BYTES_RESERVED = 16384


def simple_signer(who: Issued, ca: CertificateAuthority) -> signers.SimpleSigner:
    return signers.SimpleSigner(
        signing_cert=who.asn1,
        signing_key=who.key_info,
        cert_registry=SimpleCertificateStore.from_certs([ca.asn1]),
    )


async def sign_pdf(
    pdf: bytes,
    signer: signers.Signer,
    *,
    timestamper: TimeStamper | None = None,
    md_algorithm: str = "sha256",
    subfilter: fields.SigSeedSubFilter = fields.SigSeedSubFilter.PADES,
    signing_time: datetime | None = None,
    validation_context: ValidationContext | None = None,
    field_name: str = SIGNATURE_FIELD,
    new_field_spec: fields.SigFieldSpec | None = None,
    stamp_style: BaseStampStyle | None = None,
) -> bytes:
    """pyHanko's `async_sign_pdf`, unrolled so the signing session's clock can be set (`signing_time`).

    `field_name` names the signature field (created invisible unless `new_field_spec` gives it a box on a page);
    a second signature in a document needs a name of its own.
    """
    meta = signers.PdfSignatureMetadata(
        field_name=field_name,
        md_algorithm=md_algorithm,
        subfilter=subfilter,
        reason="Depunere cerere indemnizație de șomaj",
        location="Cluj-Napoca",
        embed_validation_info=validation_context is not None,
        validation_context=validation_context,
        use_pades_lta=False,
    )
    pdf_signer = signers.PdfSigner(
        meta, signer, timestamper=timestamper, new_field_spec=new_field_spec, stamp_style=stamp_style
    )
    writer = IncrementalPdfFileWriter(BytesIO(pdf), strict=False)
    session = pdf_signer.init_signing_session(writer)
    if signing_time is not None:
        session.system_time = signing_time
    validation_info = await session.perform_presign_validation(writer)
    tbs = session.prepare_tbs_document(validation_info=validation_info, bytes_reserved=BYTES_RESERVED)
    prepared, output = tbs.digest_tbs_document()
    post_signing = await tbs.perform_signature(
        document_digest=prepared.document_digest,
        pdf_cms_signed_attrs=PdfCMSSignedAttributes(
            signing_time=session.system_time,
            adobe_revinfo_attr=None if validation_info is None else validation_info.adobe_revinfo_attr,
            cades_signed_attrs=meta.cades_signed_attr_spec,
        ),
    )
    await post_signing.post_signature_processing(output)
    output.seek(0)
    return output.read()
