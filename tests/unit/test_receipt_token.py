"""The receipt key on a PKCS#11 token (intake/receipts/token.py), against a real SoftHSM2 token made by the session's
`softhsm` fixture (tests/servers/softhsm.py): signing, signing in a forked child, `intake check`'s messages and the
configuration rules of `signing.pkcs11`."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from asn1crypto import x509 as asn1_x509
from cryptography.hazmat.primitives.serialization import Encoding, pkcs12
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.validation import validate_pdf_signature
from pyhanko_certvalidator import ValidationContext

from intake import check, sandbox
from intake.check import Probe
from intake.cli import main
from intake.receipts.render import ReceiptData, ReceiptDocument, render_receipt
from intake.runtime import open_receipt_key
from intake.settings import ConfigError, Settings, load_settings, office_views
from tests.servers.softhsm import EXPIRED_LABEL, PASSWORD, SoftHsmToken


def _settings(tmp_path: Path, toml: str) -> Settings:
    config = tmp_path / "intake.toml"
    config.write_text(toml, encoding="utf-8")
    return load_settings(config)


def _receipt_key(tmp_path: Path, token: SoftHsmToken, **override: str) -> check.Outcome:
    settings = _settings(tmp_path, token.toml(**override))
    return check.receipt_key(Probe(settings, settings, lambda: None))


@pytest.fixture(scope="module")
def unsigned() -> bytes:
    from datetime import UTC, datetime

    moment = datetime(2026, 12, 7, 8, 30, tzinfo=UTC)
    document = ReceiptDocument("cerere.pdf", "PDF", 1, 10_000, "cd" * 32, True, None)
    return render_receipt(
        ReceiptData(
            office_name="Agenția Județeană pentru Ocuparea Forței de Muncă Cluj",
            office_address="Cluj-Napoca",
            registration_number="7/07.12.2026",
            registered_at=moment,
            received_at=moment,
            sender="ana@exemplu.ro",
            subject="Dosar",
            documents=(document,),
        )
    )


def _validate(pdf: bytes, root: asn1_x509.Certificate) -> tuple[bool, bytes]:
    signature = PdfFileReader(io.BytesIO(pdf)).embedded_signatures[0]
    status = validate_pdf_signature(signature, ValidationContext(trust_roots=[root]))
    return bool(status.bottom_line), status.signing_cert.dump()


def test_receipt_signed_on_the_token_validates_with_the_token_certificate(
    softhsm: SoftHsmToken, unsigned: bytes, tmp_path: Path
) -> None:
    signer = open_receipt_key(_settings(tmp_path, softhsm.toml()).signing)
    token_signer = signer._signer
    # What the token holds: the key's certificate, and the CA above it (not the unrelated expired one).
    chain = [c for c in token_signer.cert_registry if c != token_signer.signing_cert]
    assert [c.subject.native["common_name"] for c in chain] == ["AJOFM Cluj Test Root CA"]
    _key, from_file, _chain = pkcs12.load_key_and_certificates(softhsm.pkcs12.read_bytes(), PASSWORD.encode())
    assert signer.certificate.public_bytes(Encoding.DER) == from_file.public_bytes(Encoding.DER)

    signer.warm()  # must not open a session the forked children would inherit
    import pkcs11

    # python-pkcs11 keeps the loaded module (pkcs11.lib() would initialise it again): finalised after the opening.
    assert pkcs11._loaded[str(softhsm.module)].initialized is False
    signed = signer.sign(unsigned, registration="7/07.12.2026")
    valid, signing_cert = _validate(signed, chain[0])
    assert valid and signing_cert == token_signer.signing_cert.dump()

    # The daemon opened the key before forking; the child opens its own session, signs, closes it.
    out = tmp_path / "signed-in-child.pdf"
    result = sandbox.run(lambda: out.write_bytes(signer.sign(unsigned)), sandbox.Budget(seconds=30, memory_mb=512))
    assert result.ending == sandbox.Ending.DONE, result
    assert _validate(out.read_bytes(), chain[0])[0]
    assert _validate(signer.sign(unsigned), chain[0])[0]  # and the parent still signs after the fork


def test_check_opens_the_token_and_names_what_is_wrong(softhsm: SoftHsmToken, tmp_path: Path) -> None:
    ok = _receipt_key(tmp_path, softhsm)
    assert ok.ok and ok.detail.startswith("on token 'intake-test': CN=Registratura AJOFM Cluj (test)"), ok

    wrong_pin = tmp_path / "wrong-pin"
    wrong_pin.write_text("999999\n")
    refused = _receipt_key(tmp_path, softhsm, pin_file=str(wrong_pin))
    assert not refused.ok and refused.key == "signing.pkcs11.pin_file" and "refused the PIN" in refused.detail
    assert "999999" not in refused.detail  # never echoed

    no_token = _receipt_key(tmp_path, softhsm, token_label="alt-token")
    assert (no_token.ok, no_token.key) == (False, "signing.pkcs11.token_label")
    assert "no token labelled 'alt-token'" in no_token.detail and "'intake-test'" in no_token.detail

    no_key = _receipt_key(tmp_path, softhsm, key_label="sigiliu")
    assert (no_key.ok, no_key.key) == (False, "signing.pkcs11.key_label")
    assert "no private key labelled 'sigiliu'" in no_key.detail and "'registratura'" in no_key.detail

    expired = _receipt_key(tmp_path, softhsm, key_label=EXPIRED_LABEL)
    assert (expired.ok, expired.key) == (False, "signing.pkcs11.key_label") and "expired on" in expired.detail

    no_module = _receipt_key(tmp_path, softhsm, module=str(tmp_path / "libnone.so"))
    assert (no_module.ok, no_module.key) == (False, "signing.pkcs11.module") and "not found" in no_module.detail
    # A token half configured is not silently ignored.
    settings = _settings(tmp_path, softhsm.toml().replace(f'module = "{softhsm.module}"\n', ""))
    unset = check.receipt_key(Probe(settings, settings, lambda: None))
    assert (unset.ok, unset.key) == (False, "signing.pkcs11.module"), unset


def test_pin_from_the_environment_and_never_two_pins(
    softhsm: SoftHsmToken, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    toml = softhsm.toml().replace(f'pin_file = "{softhsm.pin_file}"\n', "")
    monkeypatch.setenv("INTAKE_SIGNING__PKCS11__PIN", softhsm.pin)
    settings = _settings(tmp_path, toml)
    assert check.receipt_key(Probe(settings, settings, lambda: None)).ok
    both = _settings(tmp_path, softhsm.toml())
    twice = check.receipt_key(Probe(both, both, lambda: None))
    assert not twice.ok and "keep one" in twice.detail and softhsm.pin not in twice.detail
    monkeypatch.setenv("INTAKE_SIGNING__PKCS11__PIN", "000000")
    wrong = _settings(tmp_path, toml)
    refused = check.receipt_key(Probe(wrong, wrong, lambda: None))
    assert refused.key == "signing.pkcs11.pin" and "000000" not in refused.detail


def test_a_pkcs12_file_and_a_token_together_are_a_configuration_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    toml = '[signing]\npkcs12_path = "/etc/intake/registry.p12"\n[signing.pkcs11]\nmodule = "/usr/lib/p11.so"\n'
    with pytest.raises(ConfigError) as raised:
        _settings(tmp_path, toml)
    assert "signing.pkcs12_path and signing.pkcs11 are both set" in str(raised.value)
    assert main(["--config", str(tmp_path / "intake.toml"), "status"]) == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1 and "signing.pkcs12_path and signing.pkcs11 are both set" in lines[0], lines
    assert main(["--config", str(tmp_path / "intake.toml"), "check"]) == 2


OFFICES = """
[signing.pkcs11]
module = "/usr/lib/softhsm/libsofthsm2.so"
pin_file = "/etc/intake/hsm-pin"

[[offices]]
code = "CJ"
name = "AJOFM Cluj"
name_genitive = "AJOFM Cluj"
short_name = "AJOFM Cluj"
address = "Cluj-Napoca"
imap = { username = "cluj" }
smtp = { from_address = "cluj@anofm.gov.ro" }
signing = { pkcs11 = { token_label = "hsm", key_label = "sigiliu-cj" } }

[[offices]]
code = "BH"
name = "AJOFM Bihor"
name_genitive = "AJOFM Bihor"
short_name = "AJOFM Bihor"
address = "Oradea"
imap = { username = "bihor" }
smtp = { from_address = "bihor@anofm.gov.ro" }
signing = { pkcs12_path = "/etc/intake/bihor.p12" }
"""


def test_offices_share_the_module_and_pin_and_name_their_own_key(tmp_path: Path) -> None:
    cluj, bihor = office_views(_settings(tmp_path, OFFICES))
    assert cluj.signing.on_token and cluj.signing.pkcs11 is not None
    assert (str(cluj.signing.pkcs11.module), str(cluj.signing.pkcs11.pin_file)) == (
        "/usr/lib/softhsm/libsofthsm2.so",
        "/etc/intake/hsm-pin",
    )
    assert (cluj.signing.pkcs11.token_label, cluj.signing.pkcs11.key_label) == ("hsm", "sigiliu-cj")
    # An office with its own PKCS#12 file does not also inherit the shared token.
    assert not bihor.signing.on_token and str(bihor.signing.pkcs12_path) == "/etc/intake/bihor.p12"
