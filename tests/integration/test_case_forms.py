"""Issue 9 points 2, 3, 4 and 11 through the pipeline (Dovecot → `intake poll --once` → `intake submissions
--json`), with the test PKI: the benefit category's documents (001 Art. 5(4)), every form the checklists name
recognised (001 Art. 20, 22; 003 Art. 40-45), the employers' requests and the three laws (003 Art. 48-62; 000),
and territorial competence (001 Art. 1, 16^1). Every rule is sent together with its control, from different
senders, in one poll.

All the tests' e-mails (every sender appears in one scenario only) are dealt, a scenario's e-mails together, to two
intakes (each its own Dovecot, SMTP sink and database) polled side by side: one `poll --once` and one
`submissions --json` each for the whole file, and each test reads its own senders. The one scenario with a follow-up
gets it in a second poll.

The forms are generated at test time (tests/forms.py); the benefit application is signed with the applicant's
qualified certificate of the test PKI, and the declaration is the PKI's `declaration_qes`, so no signature
finding gets in the way.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from tests import forms, mailfactory
from tests.integration.conftest import KEY_PASSWORD, sent_during
from tests.integration.harness import Intake, intake_for
from tests.integration.receipts import Reply, replies

pytestmark = pytest.mark.integration

T0 = datetime(2026, 11, 23, 9, 0, tzinfo=ZoneInfo("Europe/Bucharest"))
PDF = "application/pdf"
Attachment = tuple[str, bytes, str]


@dataclass(frozen=True)
class Mail:
    """One e-mail of a scenario; the default body consents."""

    sender: str
    subject: str
    attachments: list[Attachment]
    body: str | None = None


SCENARIOS: list[Callable[[Any], list[Mail]]] = []  # each takes the test PKI


def _scenario(mails: Callable[[Any], list[Mail]]) -> Callable[[Any], list[Mail]]:
    """Register the e-mails of one test for the shared mailbox."""
    SCENARIOS.append(mails)
    return mails


@dataclass
class Outcome:
    submissions: dict[str, dict[str, Any]]  # sender: its submission after the first poll
    mail: list[Reply]  # what the first poll sent
    follow_up: list[dict[str, Any]]  # the follow-up scenario's submissions after the second poll


FOLLOW_UP_SENDER = "caz@example.ro"


@dataclass
class Lane:
    """One intake with its own Dovecot and SMTP sink, and the e-mails it gets."""

    intake: Intake
    dovecot: Any
    sink: Any
    mails: list[Mail]


LANES = 2  # the scenarios are dealt to two intakes polled side by side (CI has 2 cores)


@pytest.fixture(scope="module")
def outcome(tmp_path_factory, module_dovecot_factory, module_smtp_sink_factory, signing_key, test_pki) -> Outcome:  # type: ignore[no-untyped-def]
    trust = f'[trust]\nlists = [{{source = "{test_pki.trusted_list}", signer = "{test_pki.tl_operator_cert}"}}]\n'
    scenarios = [scenario(test_pki) for scenario in SCENARIOS]
    senders = [mail.sender for mails in scenarios for mail in mails]
    assert len(set(senders)) == len(senders), "every scenario needs senders of its own"
    lanes = []
    for number in range(LANES):
        dovecot, sink = module_dovecot_factory(), module_smtp_sink_factory()
        intake = intake_for(
            tmp_path_factory.mktemp(f"case-forms-{number}") / "intake",
            dovecot=dovecot,
            smtp_sink=sink,
            pkcs12=signing_key[0],
            password=KEY_PASSWORD,
            extra_config=trust,
        )
        # A scenario's e-mails (a case and its control) stay together, in one mailbox.
        lanes.append(Lane(intake, dovecot, sink, [mail for mails in scenarios[number::LANES] for mail in mails]))

    def first_poll(lane: Lane) -> tuple[list[Reply], list[dict[str, Any]]]:
        # Each as one e-mail, a minute apart.
        for index, mail in enumerate(lane.mails):
            message = mailfactory.submission(
                sender=mail.sender, subject=mail.subject, body=mail.body, attachments=mail.attachments
            )
            lane.dovecot.append(message.as_bytes(), internaldate=T0 + timedelta(minutes=index))
        sent = replies(sent_during(lane.sink, lane.intake.poll))
        submissions = lane.intake.json("submissions")
        assert len(submissions) == len(lane.mails), [s["sender"] for s in submissions]
        return sent, submissions

    with ThreadPoolExecutor(max_workers=LANES) as pool:
        polled = list(pool.map(first_poll, lanes))
    sent = [reply for lane_sent, _submissions in polled for reply in lane_sent]
    submissions = [submission for _sent, lane_submissions in polled for submission in lane_submissions]
    # Sharing a mailbox must not change what any scenario gets: stay under the ceiling of automatic bookings
    # (appointments.max_automatic_per_hour, 30 by default), or some cases would wait for a clerk instead.
    held = [s["sender"] for s in submissions if "appointment_held" in _codes(s)]
    assert not held, f"a shared poll hit the ceiling of automatic bookings for {held}: split the mailbox further"
    outcome = Outcome({s["sender"]: s for s in submissions}, sent, [])

    # test_001_art5_4_a_later_application_that_tells_the_category_settles_the_question: the follow-up replies to
    # the case's recipisă (when there is exactly one; otherwise the test says so).
    receipts = [reply for reply in sent if reply.is_receipt and reply.recipient == FOLLOW_UP_SENDER]
    if len(receipts) == 1:
        (receipt,) = receipts
        (lane,) = [lane for lane in lanes if FOLLOW_UP_SENDER in {mail.sender for mail in lane.mails}]
        told = forms.benefit_application(ticked=[forms.BOX_AB], situation=FROM_WORK)
        follow_up = mailfactory.submission(
            sender=FOLLOW_UP_SENDER,
            subject=f"Re: {receipt.subject}",
            attachments=[_pdf("cerere-corectata.pdf", _sign(told, test_pki))],
            extra_headers={"In-Reply-To": str(receipt.message["Message-ID"])},
        )
        lane.dovecot.append(follow_up.as_bytes(), internaldate=T0 + timedelta(hours=2))
        lane.intake.poll()
        outcome.follow_up = [s for s in lane.intake.json("submissions") if s["sender"] == FOLLOW_UP_SENDER]
    return outcome


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


_SIGNED: dict[bytes, bytes] = {}


def _sign(data: bytes, test_pki: Any) -> bytes:
    """forms.sign, once per distinct PDF: the scenarios share the same applications."""
    if data not in _SIGNED:
        _SIGNED[data] = forms.sign(data, test_pki)
    return _SIGNED[data]


@cache
def _jpeg(color: tuple[int, int, int] = (245, 245, 240)) -> bytes:
    return mailfactory.jpeg_image(color=color)


def _id_card() -> Attachment:
    return ("buletin.jpg", _jpeg(), "image/jpeg")


def _benefit_file(test_pki: Any, application: bytes, *extra: Attachment) -> list[Attachment]:
    """A benefit request complete in its general documents (001 Art. 5(3)): the signed application, the
    qualified declaration, the ID and the diploma; plus `extra`."""
    return [
        _pdf("cerere.pdf", _sign(application, test_pki)),
        _pdf("declaratie.pdf", test_pki.scenarios["declaration_qes"].path.read_bytes()),
        _id_card(),
        ("diploma.jpg", _jpeg(color=(240, 240, 200)), "image/jpeg"),
        *extra,
    ]


FROM_WORK = "Sunt persoană provenită din muncă: contractul individual de muncă a încetat prin concediere."
INVALIDITY = "Sunt pensionară de invaliditate și mi-am redobândit capacitatea de muncă (revizuire medicală)."


# --------------------------------------------------------------------------------------------------
# Point 2: the benefit category's documents (001 Art. 5(4) A-E)


@_scenario
def _from_employment(test_pki: Any) -> list[Mail]:
    application = forms.benefit_application(ticked=[forms.BOX_AB], situation=FROM_WORK)
    return [
        Mail("fara.adeverinta@example.ro", "Cerere indemnizație de șomaj", _benefit_file(test_pki, application)),
        Mail(
            "cu.adeverinta@example.ro",
            "Cerere indemnizație de șomaj",
            _benefit_file(test_pki, application, _pdf("adeverinta.pdf", forms.employer_certificate())),
        ),
    ]


def test_001_art5_4_A_employer_certificate_is_required_for_people_coming_from_employment(outcome: Outcome) -> None:
    case, control = outcome.submissions["fara.adeverinta@example.ro"], outcome.submissions["cu.adeverinta@example.ro"]
    assert case["request_type"] == "unemployment_benefit"
    assert _missing(case) == [
        "Lipsește adeverința angajatorului prevăzută la art. 18 din Normele metodologice (anexa nr. 26)."
    ]
    assert case["flagged"] is True
    assert not _staff(case, "benefit_category_unknown")  # the category is told: A
    assert _missing(control) == [] and "employer_certificate" in _kinds(control)
    assert control["flagged"] is False, control["findings"]


@_scenario
def _invalidity_pensioners(test_pki: Any) -> list[Mail]:
    application = forms.benefit_application(ticked=[forms.BOX_AB], situation=INVALIDITY)
    certificate = _pdf("adeverinta.pdf", forms.employer_certificate())
    return [
        Mail("pensionara@example.ro", "Cerere indemnizație", _benefit_file(test_pki, application, certificate)),
        Mail(
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
    ]


def test_001_art5_4_B_medical_review_decision_is_required_for_invalidity_pensioners(outcome: Outcome) -> None:
    case, control = outcome.submissions["pensionara@example.ro"], outcome.submissions["pensionara.completa@example.ro"]
    assert _missing(case) == [
        "Lipsește decizia de revizuire medicală din care rezultă redobândirea capacității de muncă.",
        "Lipsește adeverința ultimei unități din care rezultă că reîncadrarea nu este posibilă din lipsa unui post "
        "vacant.",
    ]
    assert _missing(control) == []
    assert {"medical_review_decision", "no_vacancy_certificate", "employer_certificate"} <= _kinds(control)


@_scenario
def _check_box_field(test_pki: Any) -> list[Mail]:
    ticked = forms.benefit_application(fields={"reluarea_activitatii_nu_mai_este_posibila": True})
    certificate = _pdf("adeverinta.pdf", forms.employer_certificate())
    return [
        Mail("suspendat@example.ro", "Cerere indemnizație", _benefit_file(test_pki, ticked, certificate)),
        Mail(
            "suspendat.complet@example.ro",
            "Cerere indemnizație",
            _benefit_file(test_pki, ticked, certificate, _pdf("incetare.pdf", forms.suspension_end_document())),
        ),
    ]


def test_001_art5_4_C_a_ticked_check_box_field_tells_the_category(outcome: Outcome) -> None:
    case, control = outcome.submissions["suspendat@example.ro"], outcome.submissions["suspendat.complet@example.ro"]
    assert _missing(case) == [
        "Lipsește actul din care rezultă data încetării motivului suspendării raporturilor de muncă."
    ]
    assert _missing(control) == [] and "suspension_end_document" in _kinds(control)


@_scenario
def _category_not_told(test_pki: Any) -> list[Mail]:
    return [
        Mail("nespus@example.ro", "Cerere indemnizație", _benefit_file(test_pki, forms.benefit_application())),
        Mail(
            "a.sau.b@example.ro",
            "Cerere indemnizație",
            _benefit_file(test_pki, forms.benefit_application(ticked=[forms.BOX_AB])),
        ),
        Mail(
            "absolventa@example.ro",
            "Cerere indemnizație",
            _benefit_file(
                test_pki, forms.benefit_application(ticked=[forms.BOX_DE], situation="Am absolvit în iunie 2026.")
            ),
        ),
    ]


def test_001_art5_4_a_category_the_form_does_not_tell_is_not_guessed_and_staff_confirm_it(outcome: Outcome) -> None:
    unknown, group, control = (
        outcome.submissions["nespus@example.ro"],
        outcome.submissions["a.sau.b@example.ro"],
        outcome.submissions["absolventa@example.ro"],
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


@_scenario
def _category_told_later(test_pki: Any) -> list[Mail]:
    # The follow-up (an application that tells the category, replying to the recipisă) is sent by the fixture.
    return [Mail(FOLLOW_UP_SENDER, "Cerere indemnizație", _benefit_file(test_pki, forms.benefit_application()))]


def test_001_art5_4_a_later_application_that_tells_the_category_settles_the_question(outcome: Outcome) -> None:
    """The question is about the application: asked once for the case, and closed when a follow-up brings an
    application that tells the category (the later form replaces the earlier one), which then asks for its
    documents."""
    receipts = [reply for reply in outcome.mail if reply.is_receipt and reply.recipient == FOLLOW_UP_SENDER]
    assert len(receipts) == 1, [reply.subject for reply in receipts]
    first = outcome.submissions[FOLLOW_UP_SENDER]
    assert len(_staff(first, "benefit_category_unknown")) == 1
    assert len(outcome.follow_up) == 2  # the first e-mail and the follow-up with the corrected application
    for submission in outcome.follow_up:  # every e-mail of the case shows the case
        assert not _staff(submission, "benefit_category_unknown"), submission["findings"]
        assert _missing(submission) == [
            "Lipsește adeverința angajatorului prevăzută la art. 18 din Normele metodologice (anexa nr. 26)."
        ]


# --------------------------------------------------------------------------------------------------
# Point 3: every form the checklists name is recognised, so "missing" means missing


@_scenario
def _reinstatement(test_pki: Any) -> list[Mail]:
    return [
        Mail("repunere@example.ro", "Cerere repunere în plată", [_pdf("anexa.pdf", forms.reinstatement_request())]),
        Mail("fara.cerere@example.ro", "Repunere în plată", [_id_card()]),
    ]


def test_001_art20_the_reinstatement_request_anexa_9_is_recognised(outcome: Outcome) -> None:
    case, control = outcome.submissions["repunere@example.ro"], outcome.submissions["fara.cerere@example.ro"]
    assert case["request_type"] == "payment_reinstatement"
    assert _kinds(case) == {"reinstatement_request"}
    assert _missing(case) == []
    assert control["request_type"] == "payment_reinstatement"
    assert _missing(control) == ["Lipsește cererea de repunere în plată a indemnizației de șomaj (anexa nr. 9)."]


@_scenario
def _transfer(test_pki: Any) -> list[Mail]:
    return [
        Mail("transfer@example.ro", "Mutare", [_pdf("scrisoare.pdf", forms.transfer_request()), _id_card()]),
        Mail("transfer.fara.cerere@example.ro", "Transfer dosar", [_id_card()]),
    ]


def test_001_art22_the_transfer_request_is_recognised(outcome: Outcome) -> None:
    case, control = outcome.submissions["transfer@example.ro"], outcome.submissions["transfer.fara.cerere@example.ro"]
    assert case["request_type"] == "file_transfer"  # the request alone says it: the subject does not
    assert _missing(case) == [] and "transfer_request" in _kinds(case)
    assert _missing(control) == ["Lipsește cererea de transfer al dosarului."]
    # The new domicile in Sibiu is the point of the request: no territorial finding.
    assert not _staff(case, "territorial_competence")


@_scenario
def _art72_allowance(test_pki: Any) -> list[Mail]:
    full = [
        _pdf("cerere.pdf", forms.allowance_application()),
        _pdf("instiintare.pdf", forms.employment_notice()),
        _pdf("contract.pdf", forms.employment_contract()),
        _pdf("declaratie.pdf", forms.employer_statement()),
    ]
    return [
        Mail("art72@example.ro", "Cerere", full),
        Mail("art72.fara.instiintare@example.ro", "Cerere", [full[0], *full[2:]]),
    ]


def test_003_art40_the_art72_allowance_and_its_documents_are_told_apart(outcome: Outcome) -> None:
    case, control = outcome.submissions["art72@example.ro"], outcome.submissions["art72.fara.instiintare@example.ro"]
    assert case["request_type"] == control["request_type"] == "early_employment_allowance"
    assert _kinds(case) == {"allowance_application", "employment_notice", "employment_contract", "employer_statement"}
    assert _missing(case) == []
    assert _missing(control) == ["Lipsește înștiințarea angajatorului privind încadrarea în muncă."]


@_scenario
def _graduate_bonus(test_pki: Any) -> list[Mail]:
    full = [
        _pdf("anexa23.pdf", forms.graduate_bonus_application()),
        ("ci.jpg", _jpeg(), "image/jpeg"),
        ("diploma.jpg", _jpeg(color=(240, 240, 200)), "image/jpeg"),
        _pdf("instiintare.pdf", forms.employment_notice()),
        _pdf("cim.pdf", forms.employment_contract()),
        _pdf("declaratie1.pdf", forms.graduate_statement()),
        _pdf("declaratie2.pdf", forms.employer_statement()),
        _pdf("angajament.pdf", forms.undertaking()),
    ]
    return [Mail("prima.absolvent@example.ro", "Cerere", full), Mail("prima.incompleta@example.ro", "Cerere", full[:6])]


def test_003_art43_1_the_graduate_bonus_needs_both_sworn_statements_and_the_anexa_13_undertaking(
    outcome: Outcome,
) -> None:
    case = outcome.submissions["prima.incompleta@example.ro"]
    control = outcome.submissions["prima.absolvent@example.ro"]
    assert case["request_type"] == control["request_type"] == "graduate_bonus"
    assert _missing(case) == [
        "Lipsește declarația pe propria răspundere a angajatorului (fără raporturi de muncă în ultimii 2 ani, fără "
        "obligația legală de încadrare).",
        "Lipsește angajamentul privind respectarea art. 76 alin. (1) din Lege (anexa nr. 13 la Normele metodologice).",
    ]
    assert _missing(control) == []
    assert {"graduate_statement", "employer_statement", "undertaking"} <= _kinds(control)


@_scenario
def _hiring_and_installation_bonus(test_pki: Any) -> list[Mail]:
    common = [
        ("ci.jpg", _jpeg(), "image/jpeg"),
        _pdf("instiintare.pdf", forms.employment_notice()),
        _pdf("angajament.pdf", forms.undertaking()),
    ]
    return [
        Mail("incadrare@example.ro", "Cerere prima", [_pdf("cerere.pdf", forms.hiring_bonus_application()), *common]),
        Mail(
            "instalare@example.ro",
            "Cerere prima",
            [_pdf("cerere.pdf", forms.installation_bonus_application()), *common],
        ),
    ]


def test_003_art45_the_hiring_and_the_installation_bonus_are_told_apart_by_their_form(outcome: Outcome) -> None:
    submissions = outcome.submissions
    assert submissions["incadrare@example.ro"]["request_type"] == "hiring_bonus"
    assert submissions["instalare@example.ro"]["request_type"] == "installation_bonus"
    assert _missing(submissions["incadrare@example.ro"]) == _missing(submissions["instalare@example.ro"]) == []


# --------------------------------------------------------------------------------------------------
# Point 4: employers (003 Art. 48-62) and the three laws of 000


@_scenario
def _graduate_convention(test_pki: Any) -> list[Mail]:
    body = (
        "Bună ziua,\n\nVă transmitem convenția pentru absolventul angajat, fost beneficiar de indemnizație de "
        f"șomaj.\n{mailfactory.CONSENT}\n\nExemplu Construct SRL\n"
    )
    convention = _pdf("conventie.pdf", forms.graduate_convention())
    return [
        Mail(
            "hr@exemplu-construct.ro",
            "Convenție absolvenți",
            [convention, ("diploma.jpg", _jpeg(), "image/jpeg"), _pdf("cim.pdf", forms.employment_contract())],
            body,
        ),
        Mail("contabil@exemplu-construct.ro", "Convenție absolvenți", [convention], body),
    ]


def test_003_art52_the_graduate_convention_is_an_employers_request_not_a_citizens_benefit(outcome: Outcome) -> None:
    case = outcome.submissions["hr@exemplu-construct.ro"]
    control = outcome.submissions["contabil@exemplu-construct.ro"]
    assert case["request_type"] == control["request_type"] == "graduate_hiring_convention"
    assert _missing(case) == []
    assert not _codes(case) & {"benefit_category_unknown", "territorial_competence", "signature_missing"}
    assert _missing(control) == [
        "Lipsește copia actului de absolvire (diplomă sau certificat de studii) al fiecărui absolvent.",
        "Lipsește copia contractului individual de muncă pe durată nedeterminată al fiecărui absolvent.",
    ]


@_scenario
def _monthly_package(test_pki: Any) -> list[Mail]:
    table = _pdf("anexa16.pdf", forms.graduate_monthly_table())
    return [
        Mail("lunar@exemplu-construct.ro", "Documente octombrie", [table, _pdf("pontaj.pdf", forms.timesheet())]),
        Mail(
            "lunar.complet@exemplu-construct.ro",
            "Documente octombrie",
            [table, _pdf("pontaj.pdf", forms.timesheet()), _pdf("stat.pdf", forms.payroll())],
        ),
    ]


def test_003_art54_4_the_monthly_package_needs_the_timesheet_and_the_payroll(outcome: Outcome) -> None:
    case = outcome.submissions["lunar@exemplu-construct.ro"]
    control = outcome.submissions["lunar.complet@exemplu-construct.ro"]
    assert case["request_type"] == "graduate_monthly_package"
    assert _missing(case) == ["Lipsește copia statului de plată pentru luna respectivă."]
    assert _missing(control) == []


@_scenario
def _disadvantaged_convention(test_pki: Any) -> list[Mail]:
    common = [
        _pdf("declaratie.pdf", forms.employer_statement("persoanele angajate")),
        ("ci.jpg", _jpeg(), "image/jpeg"),
        _pdf("cim.pdf", forms.employment_contract("Radu Marin")),
    ]
    disability = _pdf("conventie.pdf", forms.disadvantaged_convention(ticked=["persoane cu handicap"]))
    over45 = _pdf("conventie.pdf", forms.disadvantaged_convention(ticked=["șomeri în vârstă de peste 45 de ani"]))
    return [
        Mail("handicap@exemplu-construct.ro", "Convenție art. 85", [disability, *common]),
        Mail("peste45@exemplu-construct.ro", "Convenție art. 85", [over45, *common]),
        Mail(
            "nebifat@exemplu-construct.ro",
            "Convenție art. 85",
            [_pdf("c.pdf", forms.disadvantaged_convention()), *common],
        ),
    ]


def test_003_art59_3_A_a_convention_for_people_with_disabilities_needs_their_documents(outcome: Outcome) -> None:
    case = outcome.submissions["handicap@exemplu-construct.ro"]
    control = outcome.submissions["peste45@exemplu-construct.ro"]
    assert case["request_type"] == "disadvantaged_hiring_convention"
    assert _missing(case) == [
        "Lipsește copia certificatului eliberat de comisia de expertiză medicală a persoanelor cu handicap.",
        "Lipsește declarația reprezentantului legal al angajatorului privind obligația legală de a angaja persoane "
        "cu handicap.",
    ]
    assert _missing(control) == []
    unticked = outcome.submissions["nebifat@exemplu-construct.ro"]
    assert _missing(unticked) == []  # the ID and the contract, asked for in every category, are there
    (question,) = _staff(unticked, "benefit_category_unknown")
    assert "confirmați categoriile" in question["message"]


@_scenario
def _contribution_reduction(test_pki: Any) -> list[Mail]:
    application = _pdf("anexa21.pdf", forms.contribution_reduction_application())
    return [
        Mail("reducere@exemplu-construct.ro", "Cerere", [application]),
        Mail(
            "reducere.completa@exemplu-construct.ro",
            "Cerere",
            [application, _pdf("tabel.pdf", forms.hires_table()), _pdf("cim.pdf", forms.employment_contract())],
        ),
    ]


def test_003_art62_the_contribution_reduction_needs_the_table_and_the_contracts(outcome: Outcome) -> None:
    case = outcome.submissions["reducere@exemplu-construct.ro"]
    control = outcome.submissions["reducere.completa@exemplu-construct.ro"]
    assert case["request_type"] == "contribution_reduction"
    assert _missing(case) == [
        "Lipsește tabelul nominal cu persoanele încadrate din rândul șomerilor și menținute în activitate cel "
        "puțin 6 luni.",
        "Lipsesc copiile contractelor individuale de muncă ale persoanelor din tabelul nominal.",
    ]
    assert _missing(control) == []


LAW_REQUESTS = {
    "ucenicie@example.ro": ("279/2005", "acordarea sumelor pentru ucenicii încadrați cu contract de ucenicie"),
    "stagiu@example.ro": ("335/2013", "acordarea sumelor pentru stagiarii care efectuează stagiul"),
    "elevi@example.ro": ("72/2007", "subvenția pentru încadrarea elevilor și studenților în vacanță"),
}


@_scenario
def _three_laws(test_pki: Any) -> list[Mail]:
    return [
        Mail(sender, "Cerere", [_pdf("cerere.pdf", forms.law_request(*request))])
        for sender, request in LAW_REQUESTS.items()
    ] + [Mail("fara.formular@example.ro", "Cerere ucenicie", [("ci.jpg", _jpeg(), "image/jpeg")])]


def test_000_the_requests_under_laws_279_2005_335_2013_and_72_2007_are_recognised(outcome: Outcome) -> None:
    submissions = outcome.submissions
    assert submissions["ucenicie@example.ro"]["request_type"] == "apprenticeship"
    assert submissions["stagiu@example.ro"]["request_type"] == "traineeship"
    assert submissions["elevi@example.ro"]["request_type"] == "student_employment"
    for sender in LAW_REQUESTS:
        assert _missing(submissions[sender]) == [], submissions[sender]["findings"]
    # Control: the request named in the subject, without the agency's form.
    assert _missing(submissions["fara.formular@example.ro"]) == [
        "Lipsește cererea angajatorului pentru ucenicie, pe formularul publicat de AJOFM Cluj."
    ]


@_scenario
def _power_of_attorney(test_pki: Any) -> list[Mail]:
    documents = [("diploma.jpg", _jpeg(), "image/jpeg"), _pdf("cim.pdf", forms.employment_contract())]
    by_proxy = _pdf("conventie.pdf", forms.graduate_convention(signer=forms.PROXY))
    return [
        Mail("imputernicit@example.ro", "Convenție absolvenți", [by_proxy, *documents]),
        Mail(
            "imputernicit.cu.procura@example.ro",
            "Convenție absolvenți",
            [by_proxy, *documents, _pdf("imputernicire.pdf", forms.power_of_attorney())],
        ),
        Mail(
            "administrator@example.ro",
            "Convenție absolvenți",
            [_pdf("c.pdf", forms.graduate_convention()), *documents],
        ),
    ]


def test_000_the_power_of_attorney_is_required_when_a_proxy_signs_for_the_employer(outcome: Outcome) -> None:
    submissions = outcome.submissions
    assert _missing(submissions["imputernicit@example.ro"]) == [
        "Lipsește împuternicirea persoanei care semnează în numele angajatorului, dacă nu este reprezentantul legal."
    ]
    assert _missing(submissions["imputernicit.cu.procura@example.ro"]) == []
    assert _missing(submissions["administrator@example.ro"]) == []


# --------------------------------------------------------------------------------------------------
# Point 11: territorial competence (001 Art. 1, 16^1)

GRADUATE = "Am absolvit în iunie 2026."  # the category is told, so only the territory is in question


@_scenario
def _another_county(test_pki: Any) -> list[Mail]:
    alba = forms.benefit_application(ticked=[forms.BOX_DE], situation=GRADUATE, locality="Alba Iulia", county="Alba")
    cluj = forms.benefit_application(ticked=[forms.BOX_DE], situation=GRADUATE, locality="Turda", county="Cluj")
    return [
        Mail("alba@example.ro", "Cerere indemnizație", _benefit_file(test_pki, alba)),
        Mail("turda@example.ro", "Cerere indemnizație", _benefit_file(test_pki, cluj)),
    ]


def test_001_art1_a_domicile_in_another_county_belongs_to_that_countys_agency(outcome: Outcome) -> None:
    case, control = outcome.submissions["alba@example.ro"], outcome.submissions["turda@example.ro"]
    (finding,) = _staff(case, "territorial_competence")
    assert "județul Alba" in finding["message"]
    assert "Agenției Județene pentru Ocuparea Forței de Muncă Alba" in finding["message"]
    assert case["flagged"] is False, case["findings"]  # staff-only: the citizen is not called over it
    assert not _staff(control, "territorial_competence")


@_scenario
def _residence_in_cluj(test_pki: Any) -> list[Mail]:
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
    return [
        Mail("resedinta@example.ro", "Cerere indemnizație", _benefit_file(test_pki, resident)),
        Mail("necunoscut@example.ro", "Cerere indemnizație", _benefit_file(test_pki, unknown)),
    ]


def test_001_art1_a_residence_in_cluj_with_the_domicile_elsewhere_is_to_be_checked(outcome: Outcome) -> None:
    (finding,) = _staff(outcome.submissions["resedinta@example.ro"], "territorial_competence")
    assert "de verificat" in finding["message"] and "ultimul loc de muncă" in finding["message"]
    unknown = outcome.submissions["necunoscut@example.ro"]
    assert not _staff(unknown, "territorial_competence")  # unknown county: no opinion
