"""Issue 9 points 2, 3, 4 and 11 through the pipeline (Dovecot → `intake poll --once` → `intake submissions
--json`), with the test PKI: the benefit category's documents (001 Art. 5(4)), every form the checklists name
recognised (001 Art. 20, 22; 003 Art. 40-45), the employers' requests and the three laws (003 Art. 48-62; 000),
and territorial competence (001 Art. 1, 16^1). Every rule is sent together with its control, from different
senders, in one poll.

The forms are generated at test time (tests/forms.py); the benefit application is signed with the applicant's
qualified certificate of the test PKI, and the declaration is the PKI's `declaration_qes`, so no signature
finding gets in the way.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from tests import forms, mailfactory
from tests.integration.conftest import KEY_PASSWORD
from tests.integration.harness import Intake, intake_for
from tests.integration.receipts import replies

pytestmark = pytest.mark.integration

T0 = datetime(2026, 11, 23, 9, 0, tzinfo=ZoneInfo("Europe/Bucharest"))
PDF = "application/pdf"
Attachment = tuple[str, bytes, str]


@pytest.fixture
def intake(tmp_path: Path, dovecot, smtp_sink, signing_key, test_pki) -> Intake:  # type: ignore[no-untyped-def]
    trust = f'[trust]\nlists = [{{source = "{test_pki.trusted_list}", signer = "{test_pki.tl_operator_cert}"}}]\n'
    return intake_for(
        tmp_path / "intake",
        dovecot=dovecot,
        smtp_sink=smtp_sink,
        pkcs12=signing_key[0],
        password=KEY_PASSWORD,
        extra_config=trust,
    )


def _send(dovecot, messages: Sequence[tuple[str, str, list[Attachment]]], body: str | None = None) -> None:  # type: ignore[no-untyped-def]
    """(sender, subject, attachments) each as one e-mail, a minute apart; the default body consents."""
    for index, (sender, subject, attachments) in enumerate(messages):
        message = mailfactory.submission(sender=sender, subject=subject, body=body, attachments=attachments)
        dovecot.append(message.as_bytes(), internaldate=T0 + timedelta(minutes=index))


def _outcome(intake: Intake) -> dict[str, dict[str, Any]]:
    intake.poll()
    return {submission["sender"]: submission for submission in intake.json("submissions")}


def _codes(submission: dict[str, Any]) -> set[str]:
    return {finding["code"] for finding in submission["findings"]}


def _missing(submission: dict[str, Any]) -> list[str]:
    return [finding["message"] for finding in submission["findings"] if finding["code"] == "missing_document"]


def _staff(submission: dict[str, Any], code: str) -> list[dict[str, Any]]:
    found = [finding for finding in submission["findings"] if finding["code"] == code]
    assert all(finding["staff_only"] for finding in found), found
    return found


def _kinds(submission: dict[str, Any]) -> set[str]:
    return {document["kind"] for document in submission["documents"]}


def _pdf(name: str, data: bytes) -> Attachment:
    return (name, data, PDF)


def _benefit_file(test_pki: Any, application: bytes, *extra: Attachment) -> list[Attachment]:
    """A benefit request complete in its general documents (001 Art. 5(3)): the signed application, the
    qualified declaration, the ID and the diploma; plus `extra`."""
    return [
        _pdf("cerere.pdf", forms.sign(application, test_pki)),
        _pdf("declaratie.pdf", test_pki.scenarios["declaration_qes"].path.read_bytes()),
        ("buletin.jpg", mailfactory.jpeg_image(), "image/jpeg"),
        ("diploma.jpg", mailfactory.jpeg_image(color=(240, 240, 200)), "image/jpeg"),
        *extra,
    ]


FROM_WORK = "Sunt persoană provenită din muncă: contractul individual de muncă a încetat prin concediere."
INVALIDITY = "Sunt pensionară de invaliditate și mi-am redobândit capacitatea de muncă (revizuire medicală)."


# --------------------------------------------------------------------------------------------------
# Point 2: the benefit category's documents (001 Art. 5(4) A-E)


def test_001_art5_4_A_employer_certificate_is_required_for_people_coming_from_employment(
    intake, dovecot, test_pki
) -> None:  # type: ignore[no-untyped-def]
    application = forms.benefit_application(ticked=[forms.BOX_AB], situation=FROM_WORK)
    _send(
        dovecot,
        [
            ("fara.adeverinta@example.ro", "Cerere indemnizație de șomaj", _benefit_file(test_pki, application)),
            (
                "cu.adeverinta@example.ro",
                "Cerere indemnizație de șomaj",
                _benefit_file(test_pki, application, _pdf("adeverinta.pdf", forms.employer_certificate())),
            ),
        ],
    )
    outcome = _outcome(intake)
    case, control = outcome["fara.adeverinta@example.ro"], outcome["cu.adeverinta@example.ro"]
    assert case["request_type"] == "unemployment_benefit"
    assert _missing(case) == [
        "Lipsește adeverința angajatorului prevăzută la art. 18 din Normele metodologice (anexa nr. 26)."
    ]
    assert case["flagged"] is True
    assert not _staff(case, "benefit_category_unknown")  # the category is told: A
    assert _missing(control) == [] and "employer_certificate" in _kinds(control)
    assert control["flagged"] is False, control["findings"]


def test_001_art5_4_B_medical_review_decision_is_required_for_invalidity_pensioners(
    intake, dovecot, test_pki
) -> None:  # type: ignore[no-untyped-def]
    application = forms.benefit_application(ticked=[forms.BOX_AB], situation=INVALIDITY)
    certificate = _pdf("adeverinta.pdf", forms.employer_certificate())
    _send(
        dovecot,
        [
            ("pensionara@example.ro", "Cerere indemnizație", _benefit_file(test_pki, application, certificate)),
            (
                "pensionara.completa@example.ro",
                "Cerere indemnizație",
                _benefit_file(
                    test_pki,
                    application,
                    certificate,
                    _pdf("decizie_revizuire.pdf", forms.medical_review_decision()),
                    _pdf("adeverinta_post.pdf", forms.no_vacancy_certificate()),
                ),
            ),
        ],
    )
    outcome = _outcome(intake)
    case, control = outcome["pensionara@example.ro"], outcome["pensionara.completa@example.ro"]
    assert _missing(case) == [
        "Lipsește decizia de revizuire medicală din care rezultă redobândirea capacității de muncă.",
        "Lipsește adeverința ultimei unități din care rezultă că reîncadrarea nu este posibilă din lipsa unui post "
        "vacant.",
    ]
    assert _missing(control) == []
    assert {"medical_review_decision", "no_vacancy_certificate", "employer_certificate"} <= _kinds(control)


def test_001_art5_4_C_a_ticked_check_box_field_tells_the_category(intake, dovecot, test_pki) -> None:  # type: ignore[no-untyped-def]
    ticked = forms.benefit_application(fields={"reluarea_activitatii_nu_mai_este_posibila": True})
    certificate = _pdf("adeverinta.pdf", forms.employer_certificate())
    _send(
        dovecot,
        [
            ("suspendat@example.ro", "Cerere indemnizație", _benefit_file(test_pki, ticked, certificate)),
            (
                "suspendat.complet@example.ro",
                "Cerere indemnizație",
                _benefit_file(test_pki, ticked, certificate, _pdf("incetare.pdf", forms.suspension_end_document())),
            ),
        ],
    )
    outcome = _outcome(intake)
    case, control = outcome["suspendat@example.ro"], outcome["suspendat.complet@example.ro"]
    assert _missing(case) == [
        "Lipsește actul din care rezultă data încetării motivului suspendării raporturilor de muncă."
    ]
    assert _missing(control) == [] and "suspension_end_document" in _kinds(control)


def test_001_art5_4_a_category_the_form_does_not_tell_is_not_guessed_and_staff_confirm_it(
    intake, dovecot, test_pki
) -> None:  # type: ignore[no-untyped-def]
    _send(
        dovecot,
        [
            ("nespus@example.ro", "Cerere indemnizație", _benefit_file(test_pki, forms.benefit_application())),
            (
                "a.sau.b@example.ro",
                "Cerere indemnizație",
                _benefit_file(test_pki, forms.benefit_application(ticked=[forms.BOX_AB])),
            ),
            (
                "absolventa@example.ro",
                "Cerere indemnizație",
                _benefit_file(
                    test_pki, forms.benefit_application(ticked=[forms.BOX_DE], situation="Am absolvit în iunie 2026.")
                ),
            ),
        ],
    )
    outcome = _outcome(intake)
    unknown, group, control = (
        outcome["nespus@example.ro"],
        outcome["a.sau.b@example.ro"],
        outcome["absolventa@example.ro"],
    )
    # Nothing said: no category document is asked for, the file is not flagged, a clerk confirms the category.
    assert _missing(unknown) == []
    (question,) = _staff(unknown, "benefit_category_unknown")
    assert "confirmați categoria" in question["message"] and "dacă este cazul" in question["message"]
    assert unknown["flagged"] is False, unknown["findings"]
    # The A/B box alone: what both A and B require is asked for; which of the two, a clerk confirms.
    assert _missing(group) == [
        "Lipsește adeverința angajatorului prevăzută la art. 18 din Normele metodologice (anexa nr. 26)."
    ]
    (question,) = _staff(group, "benefit_category_unknown")
    assert "A – persoane provenite din muncă" in question["message"] and "B – pensionari" in question["message"]
    # Control: D told by the box and the applicant's words; the diploma is there; nothing to confirm.
    assert _missing(control) == [] and not _staff(control, "benefit_category_unknown")
    assert control["flagged"] is False, control["findings"]


def test_001_art5_4_a_later_application_that_tells_the_category_settles_the_question(
    intake, dovecot, smtp_sink, test_pki
) -> None:  # type: ignore[no-untyped-def]
    """The question is about the application: asked once for the case, and closed when a follow-up brings an
    application that tells the category (the later form replaces the earlier one), which then asks for its
    documents."""
    _send(dovecot, [("caz@example.ro", "Cerere indemnizație", _benefit_file(test_pki, forms.benefit_application()))])
    intake.poll()
    (receipt,) = [reply for reply in replies(smtp_sink.wait_for(2)) if reply.is_receipt]
    smtp_sink.clear()
    (first,) = intake.json("submissions")
    assert len(_staff(first, "benefit_category_unknown")) == 1
    told = forms.benefit_application(ticked=[forms.BOX_AB], situation=FROM_WORK)
    follow_up = mailfactory.submission(
        sender="caz@example.ro",
        subject=f"Re: {receipt.subject}",
        attachments=[_pdf("cerere-corectata.pdf", forms.sign(told, test_pki))],
        extra_headers={"In-Reply-To": str(receipt.message["Message-ID"])},
    )
    dovecot.append(follow_up.as_bytes(), internaldate=T0 + timedelta(hours=2))
    intake.poll()
    for submission in intake.json("submissions"):  # every e-mail of the case shows the case
        assert not _staff(submission, "benefit_category_unknown"), submission["findings"]
        assert _missing(submission) == [
            "Lipsește adeverința angajatorului prevăzută la art. 18 din Normele metodologice (anexa nr. 26)."
        ]


# --------------------------------------------------------------------------------------------------
# Point 3: every form the checklists name is recognised, so "missing" means missing


def test_001_art20_the_reinstatement_request_anexa_9_is_recognised(intake, dovecot) -> None:  # type: ignore[no-untyped-def]
    _send(
        dovecot,
        [
            ("repunere@example.ro", "Cerere repunere în plată", [_pdf("anexa.pdf", forms.reinstatement_request())]),
            ("fara.cerere@example.ro", "Repunere în plată", [("buletin.jpg", mailfactory.jpeg_image(), "image/jpeg")]),
        ],
    )
    outcome = _outcome(intake)
    case, control = outcome["repunere@example.ro"], outcome["fara.cerere@example.ro"]
    assert case["request_type"] == "payment_reinstatement"
    assert _kinds(case) == {"reinstatement_request"}
    assert _missing(case) == []
    assert control["request_type"] == "payment_reinstatement"
    assert _missing(control) == ["Lipsește cererea de repunere în plată a indemnizației de șomaj (anexa nr. 9)."]


def test_001_art22_the_transfer_request_is_recognised(intake, dovecot) -> None:  # type: ignore[no-untyped-def]
    identity = ("buletin.jpg", mailfactory.jpeg_image(), "image/jpeg")
    _send(
        dovecot,
        [
            ("transfer@example.ro", "Mutare", [_pdf("scrisoare.pdf", forms.transfer_request()), identity]),
            ("transfer.fara.cerere@example.ro", "Transfer dosar", [identity]),
        ],
    )
    outcome = _outcome(intake)
    case, control = outcome["transfer@example.ro"], outcome["transfer.fara.cerere@example.ro"]
    assert case["request_type"] == "file_transfer"  # the request alone says it: the subject does not
    assert _missing(case) == [] and "transfer_request" in _kinds(case)
    assert _missing(control) == ["Lipsește cererea de transfer al dosarului."]
    # The new domicile in Sibiu is the point of the request: no territorial finding.
    assert not _staff(case, "territorial_competence")


def test_003_art40_the_art72_allowance_and_its_documents_are_told_apart(intake, dovecot) -> None:  # type: ignore[no-untyped-def]
    full = [
        _pdf("cerere.pdf", forms.allowance_application()),
        _pdf("instiintare.pdf", forms.employment_notice()),
        _pdf("contract.pdf", forms.employment_contract()),
        _pdf("declaratie.pdf", forms.employer_statement()),
    ]
    _send(
        dovecot,
        [
            ("art72@example.ro", "Cerere", full),
            ("art72.fara.instiintare@example.ro", "Cerere", [full[0], *full[2:]]),
        ],
    )
    outcome = _outcome(intake)
    case, control = outcome["art72@example.ro"], outcome["art72.fara.instiintare@example.ro"]
    assert case["request_type"] == control["request_type"] == "early_employment_allowance"
    assert _kinds(case) == {"allowance_application", "employment_notice", "employment_contract", "employer_statement"}
    assert _missing(case) == []
    assert _missing(control) == ["Lipsește înștiințarea angajatorului privind încadrarea în muncă."]


def test_003_art43_1_the_graduate_bonus_needs_both_sworn_statements_and_the_anexa_13_undertaking(
    intake, dovecot
) -> None:  # type: ignore[no-untyped-def]
    full = [
        _pdf("anexa23.pdf", forms.graduate_bonus_application()),
        ("ci.jpg", mailfactory.jpeg_image(), "image/jpeg"),
        ("diploma.jpg", mailfactory.jpeg_image(color=(240, 240, 200)), "image/jpeg"),
        _pdf("instiintare.pdf", forms.employment_notice()),
        _pdf("cim.pdf", forms.employment_contract()),
        _pdf("declaratie1.pdf", forms.graduate_statement()),
        _pdf("declaratie2.pdf", forms.employer_statement()),
        _pdf("angajament.pdf", forms.undertaking()),
    ]
    _send(
        dovecot,
        [("prima.absolvent@example.ro", "Cerere", full), ("prima.incompleta@example.ro", "Cerere", full[:6])],
    )
    outcome = _outcome(intake)
    case, control = outcome["prima.incompleta@example.ro"], outcome["prima.absolvent@example.ro"]
    assert case["request_type"] == control["request_type"] == "graduate_bonus"
    assert _missing(case) == [
        "Lipsește declarația pe propria răspundere a angajatorului (fără raporturi de muncă în ultimii 2 ani, fără "
        "obligația legală de încadrare).",
        "Lipsește angajamentul privind respectarea art. 76 alin. (1) din Lege (anexa nr. 13 la Normele metodologice).",
    ]
    assert _missing(control) == []
    assert {"graduate_statement", "employer_statement", "undertaking"} <= _kinds(control)


def test_003_art45_the_hiring_and_the_installation_bonus_are_told_apart_by_their_form(intake, dovecot) -> None:  # type: ignore[no-untyped-def]
    common = [
        ("ci.jpg", mailfactory.jpeg_image(), "image/jpeg"),
        _pdf("instiintare.pdf", forms.employment_notice()),
        _pdf("angajament.pdf", forms.undertaking()),
    ]
    _send(
        dovecot,
        [
            ("incadrare@example.ro", "Cerere prima", [_pdf("cerere.pdf", forms.hiring_bonus_application()), *common]),
            (
                "instalare@example.ro",
                "Cerere prima",
                [_pdf("cerere.pdf", forms.installation_bonus_application()), *common],
            ),
        ],
    )
    outcome = _outcome(intake)
    assert outcome["incadrare@example.ro"]["request_type"] == "hiring_bonus"
    assert outcome["instalare@example.ro"]["request_type"] == "installation_bonus"
    assert _missing(outcome["incadrare@example.ro"]) == _missing(outcome["instalare@example.ro"]) == []


# --------------------------------------------------------------------------------------------------
# Point 4: employers (003 Art. 48-62) and the three laws of 000


def test_003_art52_the_graduate_convention_is_an_employers_request_not_a_citizens_benefit(intake, dovecot) -> None:  # type: ignore[no-untyped-def]
    body = (
        "Bună ziua,\n\nVă transmitem convenția pentru absolventul angajat, fost beneficiar de indemnizație de "
        f"șomaj.\n{mailfactory.CONSENT}\n\nExemplu Construct SRL\n"
    )
    convention = _pdf("conventie.pdf", forms.graduate_convention())
    _send(
        dovecot,
        [
            (
                "hr@exemplu-construct.ro",
                "Convenție absolvenți",
                [
                    convention,
                    ("diploma.jpg", mailfactory.jpeg_image(), "image/jpeg"),
                    _pdf("cim.pdf", forms.employment_contract()),
                ],
            ),
            ("contabil@exemplu-construct.ro", "Convenție absolvenți", [convention]),
        ],
        body=body,
    )
    outcome = _outcome(intake)
    case, control = outcome["hr@exemplu-construct.ro"], outcome["contabil@exemplu-construct.ro"]
    assert case["request_type"] == control["request_type"] == "graduate_hiring_convention"
    assert _missing(case) == []
    assert not _codes(case) & {"benefit_category_unknown", "territorial_competence", "signature_missing"}
    assert _missing(control) == [
        "Lipsește copia actului de absolvire (diplomă sau certificat de studii) al fiecărui absolvent.",
        "Lipsește copia contractului individual de muncă pe durată nedeterminată al fiecărui absolvent.",
    ]


def test_003_art54_4_the_monthly_package_needs_the_timesheet_and_the_payroll(intake, dovecot) -> None:  # type: ignore[no-untyped-def]
    table = _pdf("anexa16.pdf", forms.graduate_monthly_table())
    _send(
        dovecot,
        [
            ("lunar@exemplu-construct.ro", "Documente octombrie", [table, _pdf("pontaj.pdf", forms.timesheet())]),
            (
                "lunar.complet@exemplu-construct.ro",
                "Documente octombrie",
                [table, _pdf("pontaj.pdf", forms.timesheet()), _pdf("stat.pdf", forms.payroll())],
            ),
        ],
    )
    outcome = _outcome(intake)
    case, control = outcome["lunar@exemplu-construct.ro"], outcome["lunar.complet@exemplu-construct.ro"]
    assert case["request_type"] == "graduate_monthly_package"
    assert _missing(case) == ["Lipsește copia statului de plată pentru luna respectivă."]
    assert _missing(control) == []


def test_003_art59_3_A_a_convention_for_people_with_disabilities_needs_their_documents(intake, dovecot) -> None:  # type: ignore[no-untyped-def]
    common = [
        _pdf("declaratie.pdf", forms.employer_statement("persoanele angajate")),
        ("ci.jpg", mailfactory.jpeg_image(), "image/jpeg"),
        _pdf("cim.pdf", forms.employment_contract("Radu Marin")),
    ]
    disability = _pdf("conventie.pdf", forms.disadvantaged_convention(ticked=["persoane cu handicap"]))
    over45 = _pdf("conventie.pdf", forms.disadvantaged_convention(ticked=["șomeri în vârstă de peste 45 de ani"]))
    _send(
        dovecot,
        [
            ("handicap@exemplu-construct.ro", "Convenție art. 85", [disability, *common]),
            ("peste45@exemplu-construct.ro", "Convenție art. 85", [over45, *common]),
            (
                "nebifat@exemplu-construct.ro",
                "Convenție art. 85",
                [_pdf("c.pdf", forms.disadvantaged_convention()), *common],
            ),
        ],
    )
    outcome = _outcome(intake)
    case, control = outcome["handicap@exemplu-construct.ro"], outcome["peste45@exemplu-construct.ro"]
    assert case["request_type"] == "disadvantaged_hiring_convention"
    assert _missing(case) == [
        "Lipsește copia certificatului eliberat de comisia de expertiză medicală a persoanelor cu handicap.",
        "Lipsește declarația reprezentantului legal al angajatorului privind obligația legală de a angaja persoane "
        "cu handicap.",
    ]
    assert _missing(control) == []
    unticked = outcome["nebifat@exemplu-construct.ro"]
    assert _missing(unticked) == []  # the ID and the contract, asked for in every category, are there
    (question,) = _staff(unticked, "benefit_category_unknown")
    assert "confirmați categoriile" in question["message"]


def test_003_art62_the_contribution_reduction_needs_the_table_and_the_contracts(intake, dovecot) -> None:  # type: ignore[no-untyped-def]
    application = _pdf("anexa21.pdf", forms.contribution_reduction_application())
    _send(
        dovecot,
        [
            ("reducere@exemplu-construct.ro", "Cerere", [application]),
            (
                "reducere.completa@exemplu-construct.ro",
                "Cerere",
                [application, _pdf("tabel.pdf", forms.hires_table()), _pdf("cim.pdf", forms.employment_contract())],
            ),
        ],
    )
    outcome = _outcome(intake)
    case, control = outcome["reducere@exemplu-construct.ro"], outcome["reducere.completa@exemplu-construct.ro"]
    assert case["request_type"] == "contribution_reduction"
    assert _missing(case) == [
        "Lipsește tabelul nominal cu persoanele încadrate din rândul șomerilor și menținute în activitate cel "
        "puțin 6 luni.",
        "Lipsesc copiile contractelor individuale de muncă ale persoanelor din tabelul nominal.",
    ]
    assert _missing(control) == []


def test_000_the_requests_under_laws_279_2005_335_2013_and_72_2007_are_recognised(intake, dovecot) -> None:  # type: ignore[no-untyped-def]
    requests = {
        "ucenicie@example.ro": ("279/2005", "acordarea sumelor pentru ucenicii încadrați cu contract de ucenicie"),
        "stagiu@example.ro": ("335/2013", "acordarea sumelor pentru stagiarii care efectuează stagiul"),
        "elevi@example.ro": ("72/2007", "subvenția pentru încadrarea elevilor și studenților în vacanță"),
    }
    _send(
        dovecot,
        [(sender, "Cerere", [_pdf("cerere.pdf", forms.law_request(*request))]) for sender, request in requests.items()]
        + [("fara.formular@example.ro", "Cerere ucenicie", [("ci.jpg", mailfactory.jpeg_image(), "image/jpeg")])],
    )
    outcome = _outcome(intake)
    assert outcome["ucenicie@example.ro"]["request_type"] == "apprenticeship"
    assert outcome["stagiu@example.ro"]["request_type"] == "traineeship"
    assert outcome["elevi@example.ro"]["request_type"] == "student_employment"
    for sender in requests:
        assert _missing(outcome[sender]) == [], outcome[sender]["findings"]
    # Control: the request named in the subject, without the agency's form.
    assert _missing(outcome["fara.formular@example.ro"]) == [
        "Lipsește cererea angajatorului pentru ucenicie, pe formularul publicat de AJOFM Cluj."
    ]


def test_000_the_power_of_attorney_is_required_when_a_proxy_signs_for_the_employer(intake, dovecot) -> None:  # type: ignore[no-untyped-def]
    documents = [("diploma.jpg", mailfactory.jpeg_image(), "image/jpeg"), _pdf("cim.pdf", forms.employment_contract())]
    by_proxy = _pdf("conventie.pdf", forms.graduate_convention(signer=forms.PROXY))
    _send(
        dovecot,
        [
            ("imputernicit@example.ro", "Convenție absolvenți", [by_proxy, *documents]),
            (
                "imputernicit.cu.procura@example.ro",
                "Convenție absolvenți",
                [by_proxy, *documents, _pdf("imputernicire.pdf", forms.power_of_attorney())],
            ),
            (
                "administrator@example.ro",
                "Convenție absolvenți",
                [_pdf("c.pdf", forms.graduate_convention()), *documents],
            ),
        ],
    )
    outcome = _outcome(intake)
    assert _missing(outcome["imputernicit@example.ro"]) == [
        "Lipsește împuternicirea persoanei care semnează în numele angajatorului, dacă nu este reprezentantul legal."
    ]
    assert _missing(outcome["imputernicit.cu.procura@example.ro"]) == []
    assert _missing(outcome["administrator@example.ro"]) == []


# --------------------------------------------------------------------------------------------------
# Point 11: territorial competence (001 Art. 1, 16^1)

GRADUATE = "Am absolvit în iunie 2026."  # the category is told, so only the territory is in question


def test_001_art1_a_domicile_in_another_county_belongs_to_that_countys_agency(intake, dovecot, test_pki) -> None:  # type: ignore[no-untyped-def]
    alba = forms.benefit_application(ticked=[forms.BOX_DE], situation=GRADUATE, locality="Alba Iulia", county="Alba")
    cluj = forms.benefit_application(ticked=[forms.BOX_DE], situation=GRADUATE, locality="Turda", county="Cluj")
    _send(
        dovecot,
        [
            ("alba@example.ro", "Cerere indemnizație", _benefit_file(test_pki, alba)),
            ("turda@example.ro", "Cerere indemnizație", _benefit_file(test_pki, cluj)),
        ],
    )
    outcome = _outcome(intake)
    case, control = outcome["alba@example.ro"], outcome["turda@example.ro"]
    (finding,) = _staff(case, "territorial_competence")
    assert "județul Alba" in finding["message"]
    assert "Agenției Județene pentru Ocuparea Forței de Muncă Alba" in finding["message"]
    assert case["flagged"] is False, case["findings"]  # staff-only: the citizen is not called over it
    assert not _staff(control, "territorial_competence")


def test_001_art1_a_residence_in_cluj_with_the_domicile_elsewhere_is_to_be_checked(intake, dovecot, test_pki) -> None:  # type: ignore[no-untyped-def]
    resident = forms.benefit_application(
        ticked=[forms.BOX_DE],
        situation=GRADUATE,
        locality="Sibiu",
        county="Sibiu",
        residence="Cluj-Napoca, str. Horea nr. 1, jud. Cluj",
    )
    unknown = forms.benefit_application(
        ticked=[forms.BOX_DE], situation=GRADUATE, locality="................", county="............"
    )
    _send(
        dovecot,
        [
            ("resedinta@example.ro", "Cerere indemnizație", _benefit_file(test_pki, resident)),
            ("necunoscut@example.ro", "Cerere indemnizație", _benefit_file(test_pki, unknown)),
        ],
    )
    outcome = _outcome(intake)
    (finding,) = _staff(outcome["resedinta@example.ro"], "territorial_competence")
    assert "de verificat" in finding["message"] and "ultimul loc de muncă" in finding["message"]
    assert not _staff(outcome["necunoscut@example.ro"], "territorial_competence")  # unknown county: no opinion
