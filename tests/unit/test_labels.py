"""Issue 12 point 6: every code the code base can produce has a Romanian label; dates read dd.mm.yyyy."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

import intake
from intake.models import AppointmentState, OutboxState, SubmissionState, VerificationState
from intake.pipeline import STAGE_NAMES
from intake.signatures.labels import LABELS, REASONS
from intake.signatures.policy import KIND_NAMES_RO, SignaturePolicy
from intake.texts import labels
from intake.validation.documents import DOCUMENT_KINDS

SOURCE = Path(intake.__file__).resolve().parent
PYTHON = {path: path.read_text(encoding="utf-8") for path in SOURCE.rglob("*.py")}


def found(pattern: str, group: int = 1) -> set[str]:
    return {match.group(group) for text in PYTHON.values() for match in re.finditer(pattern, text)}


def finding_codes() -> set[str]:
    """Every finding code intake can write: calls of add_finding and of assess's _ask_staff with a literal code,
    the CODE_* constants of the attachment checks, the signature rule's codes and one per citizen template."""
    codes = found(r'(?:add_finding|_ask_staff)\(\s*session,\s*rt,(?:\s*\w+,){1,2}\s*"([a-z_]+)"')
    codes |= found(r'\bCODE_[A-Z]+ = "([a-z_]+)"')
    policy = SignaturePolicy()
    codes |= {code for label in LABELS if (code := policy.finding_code(label))}
    codes |= {path.stem.removeprefix("constatare_") for path in (SOURCE / "texts" / "templates").glob("constatare_*")}
    return codes


def event_actions() -> set[str]:
    literal = {
        match
        for path, text in PYTHON.items()
        if path.name != "cli.py"  # argparse's action="store_true"
        for match in re.findall(r'\baction="([a-z_]+)"', text)
    }
    constants = {"registration_held", "visit_change"}  # sequencer.HELD, appointments.case.TOLD_BY_RECEIPT
    staged = {f"stage:{name}" for name in STAGE_NAMES}
    sent = {f"sent:{kind}" for kind in reply_kinds()}
    return literal | constants | staged | sent


def reply_kinds() -> set[str]:
    kinds = found(r'enqueue\([^)]*?kind="([a-z_]+)"')
    kinds |= {
        f"appointment_{kind}" for kind in found(r'_(?:send|notify)\(\s*rt,\s*session,\s*\w+,\s*(?:\w+,\s*)?"([a-z_]+)"')
    }
    kinds |= {"appointment_invitation", "appointment_clarification"}  # service._reconcile picks one of the two
    return kinds


def audit_actions() -> set[str]:
    return (
        found(r'audit\(\s*session,\s*rt\.office,\s*user,\s*"([a-z_]+)"')
        | found(r'audit\(\s*session,\s*rt\.office,\s*user,\s*"([a-z_]+)" if')
        | {"user_activate", "user_deactivate"}
    )


@pytest.mark.parametrize(
    ("name", "codes", "catalogue"),
    [
        ("finding", finding_codes(), labels.FINDINGS),
        ("document kind", {kind.name for kind in DOCUMENT_KINDS} | set(KIND_NAMES_RO), labels.DOCUMENT_KINDS),
        ("signature label", set(LABELS), labels.SIGNATURE_LABELS),
        ("submission state", {str(state) for state in SubmissionState}, labels.SUBMISSION_STATES),
        ("verification state", {str(state) for state in VerificationState}, labels.VERIFICATION_STATES),
        ("outbox state", {str(state) for state in OutboxState}, labels.OUTBOX_STATES),
        ("appointment state", {str(state) for state in AppointmentState}, labels.APPOINTMENT_STATES),
        ("pipeline stage", set(STAGE_NAMES), labels.STAGES),
        ("reply kind", reply_kinds(), labels.REPLY_KINDS),
        ("staff action", audit_actions(), labels.AUDIT_ACTIONS),
    ],
)
def test_every_code_has_a_romanian_label(name: str, codes: set[str], catalogue: dict[str, str]) -> None:
    assert len(codes) >= 3, f"the {name} codes were not found: the enumeration itself is broken"
    missing = sorted(codes - set(catalogue))
    assert not missing, f"{name} codes without a label in intake/texts/labels.py: {missing}"
    assert all(text.strip() and "_" not in text for text in catalogue.values())


def test_every_signature_reason_and_event_reads_as_words() -> None:
    reasons = {reason.code for reason in REASONS} | found(r'reasons\.append\("([a-z_]+)"\)')
    reasons |= found(r'(?:doc_reasons|reasons)=\[?\(?"([a-z_]+)"')
    worded = {reason.code for reason in REASONS if reason.cause_ro} | set(labels._SIGNATURE_REASONS_STAFF)
    assert not sorted(reasons - worded), "signature reasons without Romanian words"
    for code in reasons:
        assert "_" not in labels.signature_reason(code), code
    actions = event_actions()
    assert {"finding", "quarantined", "appointment_booked", "stage:parse", "sent:receipt"} <= actions
    plain = {action for action in actions if ":" not in action}
    assert not sorted(plain - set(labels.EVENTS)), "events without a label"
    for action in actions:
        assert "_" not in labels.event_label(action), action


def test_every_visit_change_reads_as_words() -> None:
    changes = found(r'\bChange\("([a-z_]+)"')
    assert {"booked", "moved", "reasons"} <= changes
    assert not sorted(changes - set(labels.VISIT_CHANGES))


def test_the_catalogue_replaced_the_scattered_dicts() -> None:
    from intake.web import case_actions

    assert case_actions.FINDING_CODES is labels.FINDINGS
    assert case_actions.SIGNATURE_LABELS_RO is labels.SIGNATURE_LABELS
    assert case_actions.STATES_RO is labels.SUBMISSION_STATES


def test_labels_and_details() -> None:
    assert labels.label("signature_missing", "constatare") == "Semnătură lipsă"
    assert labels.label("id_document", "document") == "Act de identitate"
    assert labels.label(None, "constatare") == "—"
    assert labels.label("brand_new_code", "constatare") == "brand new code"  # another version's data: still words
    assert labels.event_label("stage:verify").startswith("etapă încheiată: recunoașterea documentelor")
    assert labels.event_label("sent:receipt") == "trimis: recipisă"
    detail = labels.detail_text({"duration_ms": 12.4}, "Europe/Bucharest")
    assert detail == "durată: 12 ms"
    detail = labels.detail_text(
        {"code": "consent_missing", "staff_only": True, "start": "2026-12-07T07:30:00+00:00", "traceback": "x"},
        "Europe/Bucharest",
    )
    assert detail == (
        "constatare: Lipsește acordul pentru comunicarea electronică; doar pentru personal: da; ora: 07.12.2026 09:30"
    )
    assert labels.quarantine_reason("failed 3 times; last error: boom") == (
        "Procesarea a eșuat de 3 ori (detaliile tehnice sunt în istoric)."
    )


def test_dates_are_day_month_year_in_the_office_zone() -> None:
    moment = datetime(2026, 12, 31, 22, 5, tzinfo=UTC)
    assert labels.date_time(moment, "Europe/Bucharest") == "01.01.2027 00:05"  # the office's day, not UTC's
    assert labels.date_time(moment) == "31.12.2026 22:05"
    assert labels.date_time(None) == "—"
    assert labels.day(date(2026, 3, 7)) == "07.03.2026"


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("07.12.2026", date(2026, 12, 7)),
        ("7.12.2026", date(2026, 12, 7)),
        (" 7/12/2026 ", date(2026, 12, 7)),
        ("07-12-2026", date(2026, 12, 7)),
        ("2026-12-07", date(2026, 12, 7)),  # a date picker, or a link saved before issue 12
        ("31.02.2026", None),
        ("12/07", None),
        ("", None),
        ("ieri", None),
    ],
)
def test_a_typed_day_is_read_the_romanian_way(typed: str, expected: date | None) -> None:
    assert labels.parse_day(typed) == expected


def test_the_cli_table_shows_states_and_dates_as_the_staff_pages_do(capsys: pytest.CaptureFixture[str]) -> None:
    from intake import cli

    row = {"registration_number": "1/06.12.2026", "received_at": "2026-12-06T17:42:09+02:00", "state": "receipted",
           "sender": "ion@example.ro", "subject": "Cerere"}  # fmt: skip
    cli._print_table([row])
    line = capsys.readouterr().out.splitlines()[1]
    assert "06.12.2026 17:42" in line and "recipisă emisă" in line and "receipted" not in line
