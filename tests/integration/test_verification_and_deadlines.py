"""Issue 9 points 6, 9, 10 and the appointment side of point 1, through the real pipeline: Dovecot → the real
`intake` command (`poll --once --now`, `confirm`, `submissions --json`) → the SMTP sink; staff act through the web
app on the same database, as a clerk's browser would.

Procedure 000 (section a, steps 7-8, "Programarea prealabilă"): a clarification visit "nu mai târziu de 5 zile
lucrătoare de la primirea documentelor"; a decision visit once the file is complete *and* correct, correctness
including the clerk's cross-checks.

Dates: February 2027 has no public holiday. Sunday 7, Monday 8 ... Friday 12, Monday 15, Tuesday 16 February.

How the scenarios run: every scenario is a case of its own (its own sender), and the scenarios that share a
configuration and whose clocks fit one timeline share one intake (one database, one calendar, its own Dovecot and
SMTP sink) and its polls: the module fixture `run` plays each such timeline once, recording what every scenario's test
reads (the `submissions --json` rows of its sender, the e-mails sent to it during each poll, what the clerk's browser
got), and the tests assert on their own part. A scenario whose result depends on the calendar being empty (an exact
appointment time) or on a configuration of its own gets an intake of its own. Independent intakes are played two at a
time (their own servers, so nothing is shared).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from email.message import EmailMessage
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from icalendar import Calendar

from tests import mailfactory
from tests.integration.conftest import KEY_PASSWORD, sent_during
from tests.integration.harness import Intake, intake_for
from tests.integration.receipts import Reply, pdf_text, replies

pytestmark = pytest.mark.integration

BUCHAREST = ZoneInfo("Europe/Bucharest")
SUNDAY = datetime(2027, 2, 7, 11, 0, tzinfo=BUCHAREST)
MONDAY = datetime(2027, 2, 8, 10, 0, tzinfo=BUCHAREST)
NO_CONSENT = "Bună ziua,\n\nVă trimit documentele pentru dosar.\n\nIon Popescu\n"
REGISTRATION_SUBJECT = "Înregistrare ca persoană în căutarea unui loc de muncă"
PASSWORD = "parola-foarte-lunga"
CSRF_FIELD = re.compile(r'name="csrf_token" value="([^"]+)"')
RECEIVED_MONDAY = re.compile(r"\d+/08\.02\.2027")  # the registration number of an e-mail received on Monday 8


# --- building blocks ---------------------------------------------------------------------------------------


def _registration_documents() -> list[tuple[str, bytes, str]]:
    """A complete job-seeker registration (001 Art. 1-2): every document may be a scan, no e-signature rule."""
    return [
        (
            "fisa-inregistrare.pdf",
            mailfactory.pdf_document("FIȘA DE ÎNREGISTRARE a persoanei în căutarea unui loc de muncă"),
            "application/pdf",
        ),
        ("buletin.jpg", mailfactory.jpeg_image(), "image/jpeg"),
        ("diploma.jpg", mailfactory.jpeg_image(color=(240, 240, 200)), "image/jpeg"),
        ("cv-europass.pdf", mailfactory.pdf_document("CURRICULUM VITAE Europass"), "application/pdf"),
        (
            "declaratie.pdf",
            mailfactory.pdf_document("DECLARAȚIE pe propria răspundere privind restricțiile medicale"),
            "application/pdf",
        ),
    ]


def _complete_registration(**kwargs: Any) -> EmailMessage:
    return mailfactory.submission(subject=REGISTRATION_SUBJECT, attachments=_registration_documents(), **kwargs)


def _local(iso: str) -> datetime:
    return datetime.fromisoformat(iso).astimezone(BUCHAREST)


def _at(when: datetime, **delta: float) -> datetime:
    return when + timedelta(**delta)


def _text(reply: Reply) -> str:
    return reply.message.get_body(("plain",)).get_content()


def _invite(reply: Reply) -> tuple[str, Any] | None:
    """(METHOD, VEVENT) of the calendar alternative of an e-mail, or None."""
    for part in reply.message.walk():
        if part.get_content_type() == "text/calendar":
            calendar = Calendar.from_ical(part.get_payload(decode=True))
            return str(calendar["METHOD"]), calendar.walk("VEVENT")[0]
    return None


def _only_receipt(mail: list[Reply]) -> Reply:
    """The one recipisă among `mail` (what one poll sent to one scenario's sender)."""
    found = [r for r in mail if r.is_receipt]
    assert len(found) == 1, [r.subject for r in mail]
    return found[0]


def _only(mail: list[Reply], kind_in_subject: str) -> Reply:
    found = [r for r in mail if kind_in_subject in r.subject]
    assert len(found) == 1, [r.subject for r in mail]
    return found[0]


class Staff:
    """A clerk's browser on the same database as the `intake` command, with the clock fixed at `now`."""

    def __init__(self, intake: Intake, now: datetime) -> None:
        from fastapi.testclient import TestClient
        from sqlmodel import select

        from intake.clock import Clock
        from intake.db import transaction
        from intake.models import StaffUser
        from intake.runtime import Runtime
        from intake.settings import load_settings
        from intake.web import auth
        from intake.web.app import create_app

        self.rt = Runtime.from_settings(load_settings(intake.workdir / "intake.toml"), Clock(now))
        with transaction(self.rt.engine) as session:
            if session.exec(select(StaffUser).where(StaffUser.name == "ana")).first() is None:
                auth.create_user(session, self.rt.office, "ana", "registry", PASSWORD)
        self.client = TestClient(create_app(self.rt), headers={"accept": "text/html"})
        page = self.client.get("/login")
        token = CSRF_FIELD.search(page.text)
        assert token is not None
        response = self.client.post(
            "/login", data={"name": "ana", "password": PASSWORD, "csrf_token": token.group(1)}, follow_redirects=False
        )
        assert response.status_code == 303, response.text
        found = CSRF_FIELD.search(self.client.get("/cazuri").text)
        assert found is not None
        self.csrf = found.group(1)

    def post(self, path: str, data: dict[str, str] | None = None) -> str:
        response = self.client.post(path, data={**(data or {}), "csrf_token": self.csrf}, follow_redirects=False)
        assert response.status_code == 303, response.text
        return str(response.headers["location"])

    def add_finding(self, case_id: int, code: str, message: str) -> str:
        """Where the web app sends the clerk after adding the finding (the test checks it says ok)."""
        return self.post(f"/cazuri/{case_id}/constatari", {"cod": code, "mesaj": message})


@dataclass
class Scenario:
    """What one scenario's test reads: its sender's rows after each snapshot, its mail per poll, anything else."""

    sender: str
    rows: dict[str, list[dict[str, Any]]] = field(default_factory=dict)  # snapshot name: rows, oldest first
    mail: dict[str, list[Reply]] = field(default_factory=dict)  # poll name: what was sent to `sender`
    data: dict[str, Any] = field(default_factory=dict)

    def first(self, snapshot: str) -> dict[str, Any]:
        """The case's first e-mail (its root) as `snapshot` showed it."""
        return self.rows[snapshot][0]


class Box:
    """One intake with its own Dovecot and SMTP sink, shared by the scenarios of one timeline."""

    def __init__(self, workdir: Path, dovecot, smtp_sink, signing_key, extra: str = "") -> None:  # type: ignore[no-untyped-def]
        self.dovecot, self.sink = dovecot, smtp_sink
        self.intake = intake_for(
            workdir, dovecot=dovecot, smtp_sink=smtp_sink, pkcs12=signing_key[0], password=KEY_PASSWORD,
            extra_config=extra,
        )  # fmt: skip
        self.scenarios: dict[str, Scenario] = {}
        self.unaddressed: dict[str, list[Reply]] = {}  # poll name: what was sent to nobody's sender (ops)
        self._clerk = False

    def scenario(self, name: str, sender: str) -> Scenario:
        assert name not in self.scenarios and sender not in {s.sender for s in self.scenarios.values()}
        self.scenarios[name] = Scenario(sender)
        return self.scenarios[name]

    def append(self, message: EmailMessage, received: datetime) -> None:
        self.dovecot.append(message.as_bytes(), internaldate=received)

    def poll(self, name: str, now: datetime) -> None:
        """`intake poll --once --now NOW`; every scenario gets what was sent to its sender, under `name`."""
        mail = replies(sent_during(self.sink, lambda: self.intake.poll(now=now.isoformat())))
        for scenario in self.scenarios.values():
            scenario.mail[name] = [r for r in mail if r.recipient == scenario.sender]
        self.unaddressed[name] = [r for r in mail if r.recipient not in {s.sender for s in self.scenarios.values()}]

    def snapshot(self, name: str) -> None:
        """One `intake submissions --json`; every scenario gets its sender's rows, oldest first, under `name`."""
        rows = self.intake.json("submissions")
        for scenario in self.scenarios.values():
            mine = [row for row in rows if row["sender"] == scenario.sender]
            scenario.rows[name] = sorted(mine, key=lambda row: row["number"] or 0)

    def staff(self, now: datetime) -> Staff:
        self._clerk = True
        return Staff(self.intake, now)

    def confirm(self, scenario: Scenario, now: datetime, snapshot: str) -> str:
        """`intake confirm` the scenario's case as clerk ana at `now`; its stdout."""
        if not self._clerk:
            self.staff(now)  # makes the clerk's account
        number = str(scenario.first(snapshot)["number"])
        return self.intake.run("confirm", number, "--by", "ana", "--now", now.isoformat()).stdout

    def follow_up(self, scenario: Scenario, poll: str, when: datetime, **kwargs: Any) -> None:
        """A reply to the recipisă the scenario got in `poll` (when it got exactly one: else its test says so)."""
        receipts = [r for r in scenario.mail[poll] if r.is_receipt]
        if len(receipts) != 1:
            return
        (receipt,) = receipts
        message = mailfactory.submission(
            sender=scenario.sender,
            subject=f"Re: {receipt.subject}",
            extra_headers={"In-Reply-To": str(receipt.message["Message-ID"])},
            **kwargs,
        )
        self.append(message, when)


REASON = "Datele din fișă diferă de cele din evidența persoanelor (DEPABD): vă rugăm să aduceți actul de identitate."
LATE_EVENING = MONDAY.replace(hour=22, minute=30)  # the office closed at 16:00
AFTER_MIDNIGHT = datetime(2027, 2, 9, 0, 30, tzinfo=BUCHAREST)
NIGHT = MONDAY.replace(hour=23, minute=40)
TUESDAY_AFTER = datetime(2027, 2, 16, 10, 0, tzinfo=BUCHAREST)  # the deadline of a Monday 8 e-mail was Monday 15
BROKEN = [("acte.pdf", b"%PDF-1.7\n% truncated, nothing else", "application/pdf")]


def _monday(box: Box) -> None:
    """Default configuration. Monday 10:00 the files arrive (and one on Sunday); 11:00 a clerk confirms some and fails
    to confirm one with a finding; 13:00 follow-ups; Monday 22:30 and Tuesday 00:30 two late e-mails, polled with
    Tuesday's work at 10:05 (their deadlines count from the day they were received, whenever they are read);
    Tuesday 10:00 and Wednesday 10:00 clerks confirm and raise findings; a month later, what still waits."""
    sunday = box.scenario("sunday", "duminica@example.ro")
    monday = box.scenario("sunday_control", "luni@example.ro")
    late_evening = box.scenario("late_evening", "seara@example.ro")
    after_midnight = box.scenario("after_midnight", "dupa.miezul.noptii@example.ro")
    waits = box.scenario("waits_for_clerk", "verificare@example.ro")
    cannot = box.scenario("cannot_confirm", "cu.constatare@example.ro")
    registration = box.scenario("no_decision_promised", "inregistrare@example.ro")
    no_auto = box.scenario("no_auto_confirmation", "fara.confirmare.automata@example.ro")
    staff_finding = box.scenario("staff_finding", "constatare.personal@example.ro")
    replaced = box.scenario("finding_replaces_decision", "constatare.dupa.invitatie@example.ro")
    settles = box.scenario("follow_up_settles", "acord.ulterior@example.ro")
    new_finding = box.scenario("follow_up_new_finding", "document.stricat@example.ro")
    good_document = box.scenario("follow_up_good_document", "document.bun@example.ro")

    box.append(mailfactory.good_submission(sender=sunday.sender, body=NO_CONSENT), SUNDAY)
    box.append(mailfactory.good_submission(sender=monday.sender, body=NO_CONSENT), MONDAY)
    box.append(mailfactory.good_submission(sender=cannot.sender, body=NO_CONSENT), MONDAY)
    box.append(_complete_registration(sender=settles.sender, body=NO_CONSENT), MONDAY)
    for scenario in (waits, registration, no_auto, staff_finding, replaced, new_finding, good_document):
        box.append(_complete_registration(sender=scenario.sender), MONDAY)
    box.poll("monday", _at(MONDAY, minutes=5))
    box.snapshot("monday")

    box.staff(MONDAY)  # the clerk's account
    number = str(cannot.first("monday")["number"])
    cannot.data["refused"] = box.intake.run(
        "confirm", number, "--by", "ana", "--now", _at(MONDAY, hours=1).isoformat(), check=False
    )
    cannot.data["nobody"] = box.intake.run("confirm", number, "--by", "nobody", check=False)
    for scenario in (new_finding, good_document):
        scenario.data["confirm"] = box.confirm(scenario, _at(MONDAY, hours=1), "monday")
    box.poll("monday_11", _at(MONDAY, hours=1, minutes=5))

    box.follow_up(settles, "monday", _at(MONDAY, hours=3), body=mailfactory.CONSENT)
    box.follow_up(new_finding, "monday", _at(MONDAY, hours=3), attachments=BROKEN)
    extra = [("diploma-master.jpg", mailfactory.jpeg_image(color=(230, 240, 250)), "image/jpeg")]
    box.follow_up(good_document, "monday", _at(MONDAY, hours=3), attachments=extra)
    box.poll("monday_13", _at(MONDAY, hours=3, minutes=5))
    box.snapshot("monday_13")

    box.append(mailfactory.good_submission(sender=late_evening.sender, body=NO_CONSENT), LATE_EVENING)
    box.append(mailfactory.good_submission(sender=after_midnight.sender, body=NO_CONSENT), AFTER_MIDNIGHT)

    tuesday = _at(MONDAY, days=1)
    for scenario in (waits, registration, replaced):
        scenario.data["confirm"] = box.confirm(scenario, tuesday, "monday")
    staff_finding.data["added"] = box.staff(tuesday).add_finding(
        staff_finding.first("monday")["id"], "identity_mismatch", REASON
    )
    box.poll("tuesday", _at(tuesday, minutes=5))
    box.snapshot("tuesday")

    wednesday = _at(MONDAY, days=2)
    replaced.data["added"] = box.staff(wednesday).add_finding(
        replaced.first("monday")["id"], "identity_mismatch", "CNP-ul diferă."
    )
    box.poll("wednesday", _at(wednesday, minutes=5))
    box.snapshot("wednesday")

    box.poll("a_month_later", _at(MONDAY, days=30))
    box.snapshot("a_month_later")


def _link_and_night(box: Box) -> None:
    """Default configuration, an empty calendar: Sunday 11:00 an e-mail whose citizen tries to move the visit past
    the deadline; Monday 23:40 an e-mail sent at night, the first to book in the calendar (its time is exact)."""
    link = box.scenario("reschedule_link", "programare@example.ro")
    night = box.scenario("night", "noaptea@example.ro")
    box.append(mailfactory.good_submission(sender=link.sender, body=NO_CONSENT), SUNDAY)
    box.poll("sunday", _at(SUNDAY, minutes=5))
    receipts = [r for r in link.mail["sunday"] if r.is_receipt]
    found = re.search(r"https?://\S+/programare/([\w.~-]+)", _text(receipts[0])) if len(receipts) == 1 else None
    if found:  # else the test says so
        staff = box.staff(_at(SUNDAY, hours=1))
        link.data["page"] = staff.client.get(f"/programare/{found.group(1)}")
        past = datetime(2027, 2, 15, 9, 0, tzinfo=BUCHAREST).isoformat()  # a free slot, but past the deadline
        link.data["refused"] = staff.client.post(
            f"/programare/{found.group(1)}/muta", data={"start": past}, follow_redirects=False
        )
    box.snapshot("sunday")

    box.append(mailfactory.good_submission(sender=night.sender, body=NO_CONSENT), NIGHT)
    box.poll("night", _at(NIGHT, minutes=5))
    box.snapshot("night")


SENDER = "ion.popescu@example.ro"  # the one scenario of an intake of its own


def _no_next_day_limit(box: Box) -> None:
    box.scenario("no_next_day_limit", SENDER)
    box.append(mailfactory.good_submission(body=NO_CONSENT), NIGHT)
    box.poll("night", _at(NIGHT, minutes=5))
    box.snapshot("night")


def _one_monday_e_mail(box: Box) -> None:
    box.scenario("notice", SENDER)
    box.append(mailfactory.good_submission(body=NO_CONSENT), MONDAY)
    box.poll("monday", _at(MONDAY, minutes=5))
    box.snapshot("monday")


def _auto_confirmation(box: Box) -> None:
    box.scenario("auto_confirmation", SENDER)
    box.append(_complete_registration(), MONDAY)
    box.poll("monday", _at(MONDAY, minutes=5))
    box.poll("tuesday", _at(MONDAY, days=1))  # one working day
    box.snapshot("tuesday")
    box.poll("wednesday", _at(MONDAY, days=2))  # two working days, nobody raised a finding
    box.snapshot("wednesday")


def _finding_after_the_deadline(box: Box) -> None:
    late = box.scenario("finding_after_deadline", SENDER)
    box.append(_complete_registration(), MONDAY)
    box.poll("monday", _at(MONDAY, minutes=5))
    box.snapshot("monday")
    late.data["added"] = box.staff(TUESDAY_AFTER).add_finding(
        late.first("monday")["id"], "identity_mismatch", "Adresa diferă de cea din evidență."
    )
    box.poll("tuesday_after", _at(TUESDAY_AFTER, minutes=5))
    box.snapshot("tuesday_after")
    late.data["status"] = box.intake.json("status")


# (name, extra configuration, timeline); the names are the keys of the `run` fixture.
TIMELINES: list[tuple[str, str, Callable[[Box], None]]] = [
    ("monday", "", _monday),
    ("link_and_night", "", _link_and_night),
    ("no_next_day_limit", '[appointments]\nnext_day_not_before = ""\n', _no_next_day_limit),
    ("notice_240", "[appointments]\nminimum_notice_hours = 240\n", _one_monday_e_mail),
    ("notice_48", "[appointments]\nminimum_notice_hours = 48\n", _one_monday_e_mail),
    ("auto_confirmation", "[appointments]\ndecision_auto_confirm_days = 2\n", _auto_confirmation),
    ("ops", '[alerts]\nops_address = "ops@example.ro"\n', _finding_after_the_deadline),
]


@pytest.fixture(scope="module")
def run(tmp_path_factory, module_dovecot_factory, module_smtp_sink_factory, signing_key) -> dict[str, Box]:  # type: ignore[no-untyped-def]
    """Every timeline played once, on intakes of their own; the longest (`monday`) next to all the others."""
    boxes = {
        name: Box(
            tmp_path_factory.mktemp(name) / "intake",
            module_dovecot_factory(),
            module_smtp_sink_factory(),
            signing_key,
            extra,
        )
        for name, extra, _timeline in TIMELINES
    }
    plays = {name: timeline for name, _extra, timeline in TIMELINES}

    def play(names: list[str]) -> None:
        for name in names:
            plays[name](boxes[name])

    others = [name for name in plays if name != "monday"]
    with ThreadPoolExecutor(max_workers=2) as pool:
        for done in [pool.submit(play, ["monday"]), pool.submit(play, others)]:
            done.result()
    return boxes


def _scenario(run: dict[str, Box], timeline: str, name: str) -> Scenario:
    return run[timeline].scenarios[name]


# --- point 10: the deadline, counted strictly, and the notice --------------------------------------------------


def test_000_programare_5_working_days_counted_from_the_calendar_day_of_receipt_sunday_by_friday(run) -> None:  # type: ignore[no-untyped-def]
    sunday, monday = _scenario(run, "monday", "sunday"), _scenario(run, "monday", "sunday_control")
    # The control: the same message received on Monday counts to the next Monday.
    sunday_case, monday_case = sunday.first("monday"), monday.first("monday")
    assert _local(sunday_case["received_at"]) == SUNDAY
    assert sunday_case["appointment"]["purpose"] == "clarification"
    assert sunday_case["appointment"]["deadline"] == "2027-02-12"  # Mon 8, Tue 9, Wed 10, Thu 11, Fri 12
    assert _local(sunday_case["appointment"]["start"]).date() <= date(2027, 2, 12)
    assert _local(monday_case["received_at"]) == MONDAY
    assert monday_case["appointment"]["deadline"] == "2027-02-15"
    texts = [_text(r) for r in sunday.mail["monday"] if r.is_receipt]
    assert len(texts) == 1 and "cel târziu vineri, 12 februarie 2027" in texts[0]


def test_000_programare_a_message_after_closing_time_counts_from_its_own_day(run) -> None:  # type: ignore[no-untyped-def]
    # Received Monday 22:30 (the office closed at 16:00) and, the control, Tuesday 00:30: after midnight it is the
    # next calendar day, and the count starts one day later. Both read by the same poll, on Tuesday.
    late_evening = _scenario(run, "monday", "late_evening").first("tuesday")
    after_midnight = _scenario(run, "monday", "after_midnight").first("tuesday")
    assert _local(late_evening["received_at"]) == LATE_EVENING
    assert late_evening["appointment"]["deadline"] == "2027-02-15"  # as for the morning
    assert _local(after_midnight["received_at"]) == AFTER_MIDNIGHT
    assert after_midnight["appointment"]["deadline"] == "2027-02-16"


def test_000_programare_a_message_sent_at_night_is_not_booked_for_08_30_next_morning(run) -> None:  # type: ignore[no-untyped-def]
    night = _scenario(run, "link_and_night", "night")
    start = _local(night.first("night")["appointment"]["start"])
    assert start == datetime(2027, 2, 9, 12, 0, tzinfo=BUCHAREST)  # the next working day's afternoon
    text = _text(_only_receipt(night.mail["night"]))
    assert "marți, 9 februarie 2027, la ora 12:00 (ora României)" in text
    assert "Ora a fost aleasă automat" in text and "puteți alege altă oră liberă" in text
    assert re.search(r"https?://\S+/programare/\S+", text)


def test_000_programare_control_without_the_notice_the_next_morning_is_booked(run) -> None:  # type: ignore[no-untyped-def]
    shown = _scenario(run, "no_next_day_limit", "no_next_day_limit").first("night")  # next_day_not_before = ""
    assert _local(shown["appointment"]["start"]) == datetime(2027, 2, 9, 8, 30, tzinfo=BUCHAREST)


def test_000_programare_when_notice_and_deadline_conflict_the_deadline_wins(run) -> None:  # type: ignore[no-untyped-def]
    # Ten days' notice cannot fit before the 5th working day: the visit is still booked within the deadline.
    appointment = _scenario(run, "notice_240", "notice").first("monday")["appointment"]  # minimum_notice_hours = 240
    assert appointment["deadline"] == "2027-02-15"
    assert date(2027, 2, 9) <= _local(appointment["start"]).date() <= date(2027, 2, 15)


def test_000_programare_control_a_notice_that_fits_is_kept(run) -> None:  # type: ignore[no-untyped-def]
    shown = _scenario(run, "notice_48", "notice").first("monday")  # minimum_notice_hours = 48
    start = _local(shown["appointment"]["start"])
    assert start >= MONDAY + timedelta(minutes=5, hours=48) and start.date() <= date(2027, 2, 15)


def test_000_programare_the_reschedule_link_never_offers_a_day_past_the_deadline(run) -> None:  # type: ignore[no-untyped-def]
    link = _scenario(run, "link_and_night", "reschedule_link")  # received Sunday 11:00, the clerk's clock 12:00
    assert re.search(r"https?://\S+/programare/([\w.~-]+)", _text(_only_receipt(link.mail["sunday"])))
    page = link.data["page"]
    assert page.status_code == 200
    offered = {datetime.fromisoformat(value).date() for value in re.findall(r'name="start" value="([^"]+)"', page.text)}
    assert offered and max(offered) == date(2027, 2, 12)  # the deadline day itself, and nothing after it
    assert link.data["refused"].status_code == 409  # a free slot on Monday 15, but past the deadline
    assert link.first("sunday")["appointment"]["sequence"] == 0  # unchanged


# --- point 9: decision visits only for a verified file -----------------------------------------------------------


def test_000_step8_a_complete_file_waits_for_the_clerk_who_confirms_it_and_books_the_visit(run) -> None:  # type: ignore[no-untyped-def]
    waits = _scenario(run, "monday", "waits_for_clerk")
    shown = waits.first("monday")
    assert [f for f in shown["findings"] if not f["staff_only"]] == [], shown["findings"]
    assert shown["verification"] == "pending" and shown["appointment"] is None
    assert shown["case"] == shown["registration_number"]
    receipt = _only_receipt(waits.mail["monday"])
    assert "se află acum în verificare" in _text(receipt) and _invite(receipt) is None
    assert "în verificare" in " ".join(pdf_text(receipt.pdf or b"").split())  # the recipisă says it too

    assert "confirmed by ana" in waits.data["confirm"]  # Tuesday 10:00
    shown = waits.first("tuesday")  # polled at 10:05
    assert shown["verification"] == "confirmed"
    assert shown["appointment"]["purpose"] == "decision" and shown["appointment"]["deadline"] is None
    invitation = _only(waits.mail["tuesday"], "Invitație")
    text = _text(invitation)
    number = shown["registration_number"]
    assert RECEIVED_MONDAY.fullmatch(number), number
    assert f"Am verificat dosarul cu numărul {number}: este complet și corect." in text
    method, event = _invite(invitation) or ("", None)
    assert method == "REQUEST" and int(event["SEQUENCE"]) == 0
    assert event.decoded("DTSTART") == _local(shown["appointment"]["start"])


def test_000_step8_control_a_file_with_a_finding_cannot_be_confirmed(run) -> None:  # type: ignore[no-untyped-def]
    cannot = _scenario(run, "monday", "cannot_confirm")
    shown = cannot.first("monday")
    assert shown["verification"] is None and shown["appointment"]["purpose"] == "clarification"
    refused = cannot.data["refused"]  # by ana, Monday 11:00
    assert refused.returncode == 1 and "constatari_deschise" in refused.stderr
    nobody = cannot.data["nobody"]
    assert nobody.returncode == 2 and "--by" in nobody.stderr  # an unknown clerk: a usage error naming the option
    assert cannot.first("monday_13")["appointment"]["purpose"] == "clarification"  # polled since: still


def test_000_step8_a_registration_ends_without_a_decision_so_no_text_promises_one(run) -> None:  # type: ignore[no-untyped-def]
    registration = _scenario(run, "monday", "no_decision_promised")
    receipt = _only_receipt(registration.mail["monday"])
    pending = _text(receipt)
    assert "finalizarea cererii privind înregistrarea ca persoană în căutarea unui loc de muncă" in pending
    assert "confirmed by ana" in registration.data["confirm"]  # Tuesday 10:00, polled at 10:05
    invitation = _only(registration.mail["tuesday"], "Invitație")
    _method, event = _invite(invitation) or ("", None)
    for text in (pending, " ".join(pdf_text(receipt.pdf or b"").split()), _text(invitation), str(event["SUMMARY"])):
        assert "decizi" not in text.lower()
    assert "pentru verificarea identității și finalizarea cererii" in _text(invitation)


def test_000_step8_a_complete_file_is_confirmed_automatically_after_n_working_days_without_findings(run) -> None:  # type: ignore[no-untyped-def]
    auto = _scenario(run, "auto_confirmation", "auto_confirmation")  # decision_auto_confirm_days = 2
    assert auto.first("tuesday")["verification"] == "pending"  # Tuesday: one working day
    shown = auto.first("wednesday")  # Wednesday: two working days, nobody raised a finding
    assert shown["verification"] == "confirmed" and shown["appointment"]["purpose"] == "decision"
    invitation = _only(auto.mail["wednesday"], "Invitație")
    assert (_invite(invitation) or ("",))[0] == "REQUEST"


def test_000_step8_control_without_auto_confirmation_the_file_waits_for_a_clerk(run) -> None:  # type: ignore[no-untyped-def]
    # decision_auto_confirm_days = 0: off. Polled 30 days after it arrived.
    shown = _scenario(run, "monday", "no_auto_confirmation").first("a_month_later")
    assert shown["verification"] == "pending" and shown["appointment"] is None


# --- point 6: a staff finding changes the citizen's case -----------------------------------------------------------


def test_000_step7_a_staff_finding_calls_the_citizen_to_clarification_within_the_deadline_and_says_why(run) -> None:  # type: ignore[no-untyped-def]
    case = _scenario(run, "monday", "staff_finding")
    assert case.data["added"].endswith("ok=constatare_adaugata"), case.data["added"]  # Tuesday 10:00
    shown = case.first("tuesday")  # polled at 10:05
    assert shown["verification"] is None and shown["flagged"] is True
    appointment = shown["appointment"]
    assert appointment["purpose"] == "clarification" and appointment["deadline"] == "2027-02-15"
    assert _local(appointment["start"]).date() <= date(2027, 2, 15)
    mail = _only(case.mail["tuesday"], "trebuie clarificat")
    assert REASON in _text(mail)  # why
    method, event = _invite(mail) or ("", None)
    assert method == "REQUEST" and int(event["SEQUENCE"]) == 0


def test_000_step7_control_a_staff_finding_replaces_the_decision_visit_with_a_higher_sequence(run) -> None:  # type: ignore[no-untyped-def]
    case = _scenario(run, "monday", "finding_replaces_decision")
    assert "confirmed by ana" in case.data["confirm"]  # Tuesday 10:00, polled at 10:05
    (_method, invitation) = _invite(_only(case.mail["monday"] + case.mail["tuesday"], "Invitație")) or ("", None)
    assert case.data["added"].endswith("ok=constatare_adaugata"), case.data["added"]  # Wednesday 10:00
    mail = _only(case.mail["wednesday"], "trebuie clarificat")  # polled at 10:05
    method, event = _invite(mail) or ("", None)
    assert method == "REQUEST" and str(event["UID"]) == str(invitation["UID"]) and int(event["SEQUENCE"]) == 1
    assert "Programarea anterioară" in _text(mail) and "CNP-ul diferă." in _text(mail)
    assert case.first("wednesday")["appointment"]["purpose"] == "clarification"


def test_000_step7_a_staff_finding_after_the_deadline_gets_the_earliest_slot_and_ops_are_told(run) -> None:  # type: ignore[no-untyped-def]
    box = run["ops"]  # ops_address = "ops@example.ro"
    case = box.scenarios["finding_after_deadline"]
    # the deadline was Monday 15 February; the clerk's finding comes on Tuesday 16
    assert case.data["added"].endswith("ok=constatare_adaugata"), case.data["added"]
    shown = case.first("tuesday_after")
    assert _local(shown["appointment"]["start"]) == datetime(2027, 2, 17, 12, 0, tzinfo=BUCHAREST)  # the earliest
    assert "deadline_missed" in {f["code"] for f in shown["findings"] if f["staff_only"]}  # staff are told
    assert [r for r in box.unaddressed["tuesday_after"] if r.recipient == "ops@example.ro"]  # ops are told
    assert "clarification_late" in {a["kind"] for a in case.data["status"]["alerts"]}
    assert "s-a încheiat luni, 15 februarie 2027" in _text(_only(case.mail["tuesday_after"], "trebuie clarificat"))


# --- point 1, the appointment side: follow-ups move the case between the steps -------------------------------------


def test_case_a_follow_up_that_settles_the_last_finding_cancels_the_clarification_visit(run) -> None:  # type: ignore[no-untyped-def]
    case = _scenario(run, "monday", "follow_up_settles")  # no consent on Monday 10:00; it comes at 13:00
    assert {f["code"] for f in case.first("monday")["findings"]} >= {"consent_missing"}
    first = _only_receipt(case.mail["monday"])
    (_method, booked) = _invite(first) or ("", None)
    second = _only_receipt(case.mail["monday_13"])
    method, event = _invite(second) or ("", None)
    assert method == "CANCEL" and str(event["UID"]) == str(booked["UID"]) and int(event["SEQUENCE"]) == 1
    text = _text(second)
    assert "pentru clarificarea dosarului, a fost anulată" in text and "se află acum în verificare" in text
    rows = case.rows["monday_13"]
    assert len(rows) == 2
    number = rows[0]["registration_number"]
    assert RECEIVED_MONDAY.fullmatch(number), number
    for shown in rows:
        assert shown["appointment"] is None and shown["verification"] == "pending"
        assert shown["case"] == number


def test_case_a_follow_up_with_a_new_finding_turns_the_decision_visit_into_a_clarification(run) -> None:  # type: ignore[no-untyped-def]
    case = _scenario(run, "monday", "follow_up_new_finding")
    _only_receipt(case.mail["monday"])
    assert "confirmed by ana" in case.data["confirm"]  # Monday 11:00, polled at 11:05
    (_method, decision) = _invite(_only(case.mail["monday"] + case.mail["monday_11"], "Invitație")) or ("", None)
    second = _only_receipt(case.mail["monday_13"])  # a broken PDF at 13:00
    method, event = _invite(second) or ("", None)
    assert method == "REQUEST" and str(event["UID"]) == str(decision["UID"]) and int(event["SEQUENCE"]) == 1
    assert "Programarea anterioară" in _text(second) and "pentru clarificarea dosarului" in _text(second)
    shown = case.first("monday_13")
    assert shown["appointment"]["purpose"] == "clarification" and shown["verification"] is None
    assert shown["appointment"]["deadline"] == "2027-02-15"  # counted from the case's first message


def test_case_control_a_follow_up_with_a_good_document_keeps_the_decision_visit(run) -> None:  # type: ignore[no-untyped-def]
    case = _scenario(run, "monday", "follow_up_good_document")
    _only_receipt(case.mail["monday"])
    assert "confirmed by ana" in case.data["confirm"]  # Monday 11:00, polled at 11:05
    second = _only_receipt(case.mail["monday_13"])  # another diploma at 13:00
    method, event = _invite(second) or ("", None)
    assert method == "REQUEST" and int(event["SEQUENCE"]) == 0  # the same visit, unchanged
    rows = case.rows["monday_13"]
    assert len(rows) == 2
    shown = rows[1]  # the follow-up
    assert shown["appointment"]["purpose"] == "decision" and shown["verification"] == "confirmed"
    assert "documents_after_confirmation" in {f["code"] for f in shown["findings"] if f["staff_only"]}
