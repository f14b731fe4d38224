"""A synthetic ETSI TS 119 612 trusted list ("RO"), XAdES-signed (enveloped) by a test scheme operator: for the
test PKI (tests/pki) and for `intake demo`, never for a real deployment (the real lists come from their operators).

Built from pyHanko's generated `ts_119612` xsdata classes, the same way pyHanko's own test helpers build theirs, so
`pyhanko.sign.validation.qualified.eutl_parse.trust_list_to_registry` accepts it. Like the real Romanian list
operated by ADR, the CA/QC services carry no qualifiers: qualified status and QSCD come from the certificates'
QCStatements.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from asn1crypto import pem
from asn1crypto import x509 as asn1_x509
from lxml import etree
from pyhanko.generated.etsi import ts_119612 as tl
from pyhanko.sign.validation.qualified.eutl_parse import STATUS_GRANTED
from pyhanko.sign.validation.qualified.tsp import CA_QC_URI, QTST_URI
from signxml import SignatureMethod
from signxml.xades import XAdESSigner
from xsdata.formats.dataclass.serializers import XmlSerializer
from xsdata.formats.dataclass.serializers.config import SerializerConfig
from xsdata.models.datatype import XmlDateTime


class Issued(Protocol):
    """A certificate with its key (tests.pki.certs.Issued, or the demo's)."""

    @property
    def key(self) -> Any: ...

    @property
    def asn1(self) -> asn1_x509.Certificate: ...


TSL_TYPE_GENERIC = "http://uri.etsi.org/TrstSvc/TrustedList/TSLType/EUgeneric"
STATUS_DETERMINATION = "http://uri.etsi.org/TrstSvc/TrustedList/StatusDetn/EUappropriate"
COMMUNITY_RULES = "http://uri.etsi.org/TrstSvc/TrustedList/schemerules/EUcommon"
STATUS_WITHDRAWN = "http://uri.etsi.org/TrstSvc/TrustedList/Svcstatus/withdrawn"
TSL_NAMESPACE = "http://uri.etsi.org/02231/v2#"


@dataclass(frozen=True)
class ServiceEntry:
    """One TSP service: `status` holds from `since`; `history` lists earlier (status, since) pairs."""

    name: str
    certificate: Issued
    since: datetime
    service_type: str = CA_QC_URI
    status: str = STATUS_GRANTED
    history: tuple[tuple[str, datetime], ...] = ()


def _names(value: str, lang: str = "ro") -> tl.InternationalNamesType:
    return tl.InternationalNamesType((tl.MultiLangNormStringType(value=value, lang=lang),))


def _identity(entry: ServiceEntry) -> tl.ServiceDigitalIdentity:
    der = entry.certificate.asn1.dump()
    return tl.ServiceDigitalIdentity((tl.DigitalIdentityType(x509_certificate=der),))


def _service(entry: ServiceEntry) -> tl.TSPService:
    info = tl.ServiceInformation(
        service_type_identifier=tl.ServiceTypeIdentifier(entry.service_type),
        service_name=_names(entry.name),
        service_digital_identity=_identity(entry),
        service_status=tl.ServiceStatus(entry.status),
        status_starting_time=XmlDateTime.from_datetime(entry.since),
    )
    history = None
    if entry.history:
        history = tl.ServiceHistory(
            tuple(
                tl.ServiceHistoryInstance(
                    service_type_identifier=tl.ServiceTypeIdentifier(entry.service_type),
                    service_name=_names(entry.name),
                    service_digital_identity=_identity(entry),
                    service_status=tl.ServiceStatus(status),
                    status_starting_time=XmlDateTime.from_datetime(since),
                )
                for status, since in entry.history
            )
        )
    return tl.TSPService(service_information=info, service_history=history)


def build_trusted_list(
    *,
    operator: Issued,
    tsp_name: str,
    services: Sequence[ServiceEntry],
    sequence_number: int,
    issued_at: datetime,
    next_update: datetime,
) -> str:
    """Serialise the list and sign it (XAdES enveloped, ECDSA-SHA256) with the operator's key."""
    scheme = tl.SchemeInformation(
        tslversion_identifier=5,
        tslsequence_number=sequence_number,
        tsltype=tl.TSLType(TSL_TYPE_GENERIC),
        scheme_operator_name=tl.SchemeOperatorName(
            (tl.MultiLangNormStringType(value="Autoritatea de Test pentru Liste de Încredere", lang="ro"),)
        ),
        scheme_name=tl.SchemeName(
            (tl.MultiLangNormStringType(value="RO:Lista de încredere de test (AJOFM Cluj, intake)", lang="ro"),)
        ),
        status_determination_approach=STATUS_DETERMINATION,
        scheme_type_community_rules=tl.SchemeTypeCommunityRules(
            (tl.NonEmptyMultiLangURIType(value=COMMUNITY_RULES, lang="en"),)
        ),
        scheme_territory=tl.SchemeTerritory("RO"),
        historical_information_period=65535,
        list_issue_date_time=XmlDateTime.from_datetime(issued_at),
        next_update=tl.NextUpdate(date_time=XmlDateTime.from_datetime(next_update)),
    )
    provider = tl.TrustServiceProvider(
        tspinformation=tl.TSPInformation(tspname=_names(tsp_name), tsptrade_name=_names(tsp_name)),
        tspservices=tl.TSPServices(tuple(_service(s) for s in services)),
    )
    root = tl.TrustServiceStatusList(
        scheme_information=scheme,
        trust_service_provider_list=tl.TrustServiceProviderList(trust_service_provider=(provider,)),
        tsltag="http://uri.etsi.org/19612/TSLTag",
        id="tsl-ro-test",
    )
    xml = XmlSerializer(config=SerializerConfig(indent="  ")).render(root, ns_map={"tsl": TSL_NAMESPACE})
    return sign_trusted_list(xml, operator)


def sign_trusted_list(xml: str, operator: Issued) -> str:
    signed = XAdESSigner(signature_algorithm=SignatureMethod.ECDSA_SHA256).sign(
        etree.fromstring(xml.encode("utf-8")),
        key=operator.key,
        cert=pem.armor("CERTIFICATE", operator.asn1.dump()).decode("ascii"),
        always_add_key_value=False,
    )
    return etree.tostring(signed, xml_declaration=True, encoding="UTF-8").decode("utf-8")


QTST = QTST_URI
