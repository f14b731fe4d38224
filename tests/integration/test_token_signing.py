"""The recipisă sealed with the agency's key on a PKCS#11 token (SoftHSM2, tests/servers/softhsm.py), through the real
pipeline: Dovecot, the SMTP sink, `intake check` and `intake poll --once` as separate processes, the receipts signed
in the forked worker children, two at a time. One Dovecot, one SMTP sink and one token for the module."""

from __future__ import annotations

import pytest

from tests import mailfactory
from tests.integration.harness import Intake, intake_for
from tests.integration.receipts import check_signature, replies
from tests.servers.softhsm import PASSWORD, SoftHsmToken

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def intake(tmp_path_factory: pytest.TempPathFactory, module_dovecot, module_smtp_sink, softhsm: SoftHsmToken) -> Intake:  # type: ignore[no-untyped-def]
    # The harness's [signing] names a PKCS#12 file (and takes the test CA from it): the same key, now on the token.
    intake = intake_for(
        tmp_path_factory.mktemp("token") / "intake",
        dovecot=module_dovecot,
        smtp_sink=module_smtp_sink,
        pkcs12=softhsm.pkcs12,
        password=PASSWORD,
    )
    config = intake.workdir / "intake.toml"
    text = config.read_text(encoding="utf-8").replace(f'pkcs12_path = "{softhsm.pkcs12}"\n', "")
    config.write_text(text + "\n" + softhsm.toml() + "[worker]\nprocesses = 2\n", encoding="utf-8")
    return intake


def test_check_refuses_a_wrong_pin_without_showing_it(intake: Intake) -> None:
    # The token opening with the right PIN, and every other way it fails, are in tests/unit/test_receipt_token.py.
    wrong = intake.workdir / "wrong-pin"
    wrong.write_text("135790\n", encoding="utf-8")
    refused = intake.run("check", check=False, INTAKE_SIGNING__PKCS11__PIN_FILE=str(wrong))
    assert refused.returncode == 1
    (line,) = [line for line in refused.stdout.splitlines() if "receipt_key" in line]
    assert line.startswith("PROBLEM") and "refused the PIN" in line and line.endswith("(set signing.pkcs11.pin_file)")
    assert "135790" not in refused.stdout + refused.stderr


def test_receipts_are_sealed_on_the_token(intake: Intake, module_dovecot, module_smtp_sink, softhsm) -> None:  # type: ignore[no-untyped-def]
    senders = ["ana.pop@example.ro", "ion.popescu@example.ro"]
    for sender in senders:
        module_dovecot.append(mailfactory.good_submission(sender=sender).as_bytes())
    intake.poll()

    receipts = [reply for reply in replies(module_smtp_sink.wait_for(4)) if reply.is_receipt]
    assert sorted(reply.recipient for reply in receipts) == senders
    for reply in receipts:
        assert reply.pdf is not None
        signature = check_signature(reply.pdf, softhsm.ca_pem)
        assert signature.intact and signature.valid and signature.trusted, signature
        assert "Registratura AJOFM Cluj (test)" in signature.signer_subject
