"""What we tell the beneficiary about an appointment: the paragraph of the recipisă and the reply, the
e-mails sent later (reminder, change, cancellation) and the calendar invite attached to them.

Every date is written out in Romanian words with a 24-hour time in the office zone and the label
"ora României", and every e-mail carries the invite with the zone explicit: a time that reads right in the
text and wrong in the calendar is the failure users of other booking tools complain about most.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime
from email.message import EmailMessage

from intake.appointments import wording
from intake.appointments.ics import InviteData
from intake.clock import local
from intake.receipts import wording as receipt_wording
from intake.receipts.compose import Correspondent, Original, _reply

INVITE_FILENAME = "programare.ics"
KINDS = ("reminder", "rescheduled", "cancelled")


@dataclass(frozen=True)
class AppointmentNotice:
    purpose: str  # "clarification" | "decision"
    start: datetime  # aware
    end: datetime  # aware
    office_name: str
    office_address: str
    timezone: str
    reasons: tuple[str, ...]  # Romanian findings: what is wrong / what to bring
    deadline: date | None  # clarification: the legal last day
    manage_url: str | None  # reschedule/cancel link
    overflow: bool = False
    manage_until: datetime | None = None  # when the link stops working (the token's expiry)


# --- dates in words ------------------------------------------------------------------------------------------


def day_in_words(day: date) -> str:
    """'joi, 26 noiembrie 2026'."""
    return f"{wording.WEEKDAYS[day.weekday()]}, {day.day} {wording.MONTHS[day.month - 1]} {day.year}"


def moment_in_words(moment: datetime, timezone: str) -> str:
    """'joi, 26 noiembrie 2026, ora 10:00 (ora României)', in the office zone whatever zone `moment` is in."""
    at = local(moment, timezone)
    return f"{day_in_words(at.date())}, ora {at:%H:%M} ({wording.LOCAL_TIME_LABEL})"


# --- the paragraph of the recipisă and the reply --------------------------------------------------------------


def appointment_paragraph(notice: AppointmentNotice) -> str:
    """When, where and why to come, what to bring, and how to change it. Blocks are separated by blank lines."""
    _check_notice(notice)
    blocks = [_when_and_where(notice)]
    if notice.reasons:
        blocks.append(_reasons(notice))
    blocks.append(wording.BRING[notice.purpose])
    if notice.purpose == "clarification" and notice.deadline is not None:
        blocks.append(wording.LEGAL_BASIS.format(deadline_day=day_in_words(notice.deadline)))
    if notice.overflow:
        blocks.append(wording.OVERFLOW)
    if notice.manage_url:
        blocks.append(_manage_link(notice))
    return "\n\n".join(blocks)


def no_slot_paragraph(deadline: date | None, office_name: str) -> str:
    """When nothing could be booked: say so plainly, and that a person will get in touch."""
    before_deadline = ""
    if deadline is not None:
        before_deadline = wording.NO_SLOT_DEADLINE.format(deadline_day=day_in_words(deadline))
    return wording.NO_SLOT.format(before_deadline=before_deadline, office_name=office_name)


def _check_notice(notice: AppointmentNotice) -> None:
    if notice.purpose not in wording.PURPOSES:
        raise ValueError(f"unknown appointment purpose {notice.purpose!r}")
    if notice.start.tzinfo is None or notice.end.tzinfo is None:
        # A naive time would be read in the server's zone: exactly the "two hours early" bug.
        raise ValueError("appointment times must be timezone-aware")


def _when_and_where(notice: AppointmentNotice) -> str:
    at = local(notice.start, notice.timezone)
    return wording.APPOINTMENT.format(
        office_name=notice.office_name,
        address=notice.office_address,
        day=day_in_words(at.date()),
        time=f"{at:%H:%M}",
        label=wording.LOCAL_TIME_LABEL,
        purpose=wording.PURPOSES[notice.purpose],
    )


def _reasons(notice: AppointmentNotice) -> str:
    lines = [wording.REASONS_HEADER[notice.purpose]]
    lines.extend(f"  - {reason}" for reason in notice.reasons)
    return "\n".join(lines)


def _manage_link(notice: AppointmentNotice) -> str:
    lines = [wording.MANAGE_LINK.format(url=notice.manage_url)]
    if notice.manage_until is not None:
        lines.append(wording.MANAGE_LINK_VALIDITY.format(until=moment_in_words(notice.manage_until, notice.timezone)))
    if notice.purpose == "clarification" and notice.deadline is not None:
        lines.append(wording.MANAGE_LINK_WINDOW.format(deadline_day=day_in_words(notice.deadline)))
    return "\n".join(lines)


# --- the calendar invite ---------------------------------------------------------------------------------------


def invite_data(
    notice: AppointmentNotice, who: Correspondent, *, uid: str, sequence: int, registration: str
) -> InviteData:
    """The invite's Romanian texts, from the same notice as the e-mail, so the two cannot disagree."""
    _check_notice(notice)
    at = local(notice.start, notice.timezone)
    return InviteData(
        uid=uid,
        sequence=sequence,
        start=notice.start,
        end=notice.end,
        summary=wording.INVITE_SUMMARY[notice.purpose].format(
            office_name=notice.office_name, registration=registration
        ),
        description=appointment_paragraph(notice),
        location=f"{notice.office_name}, {notice.office_address}",
        organizer_email=who.from_address,
        organizer_name=who.from_name,
        attendee_email=who.to_address,
        timezone=notice.timezone,
        alarm_text=wording.INVITE_ALARM.format(
            office_name=notice.office_name, time=f"{at:%H:%M}", label=wording.LOCAL_TIME_LABEL
        ),
    )


def attach_invite(message: EmailMessage, invite: bytes, method: str) -> None:
    """Add the invite twice: as a text/calendar alternative (Gmail, Outlook show Accept/Add buttons from it)
    and as a programare.ics attachment (clients that ignore the alternative still let the user open it)."""
    body = _body_part(message)
    # Bytes and base64: the invite's CRLF line ends and folding reach the client untouched, and the part
    # needs no 8BITMIME on the way.
    body.add_alternative(invite, maintype="text", subtype="calendar", params={"method": method, "charset": "utf-8"})
    # application/ics rather than text/calendar: a second text/calendar with a method would be offered as a
    # second invitation by some clients.
    message.add_attachment(invite, maintype="application", subtype="ics", filename=INVITE_FILENAME)


def _body_part(message: EmailMessage) -> EmailMessage:
    """The text (or text+HTML alternative) part that the calendar alternative joins."""
    if message.get_content_type() != "multipart/mixed":
        return message
    for part in message.iter_parts():
        if part.get_content_type() in ("multipart/alternative", "text/plain"):
            return part
    raise ValueError("message has no text body to attach the invite to")


# --- the later e-mails: reminder, change, cancellation --------------------------------------------------------


def build_appointment_update(
    who: Correspondent,
    *,
    notice: AppointmentNotice,
    invite: bytes,
    kind: str,
    registration: str,
    message_id: str,
    now: datetime,
    in_reply_to: str | None,
    references: tuple[str, ...],
) -> EmailMessage:
    """kind: "reminder" (the working day before), "rescheduled", "cancelled". Threaded under the case's
    messages; the invite's METHOD must match the kind (a cancellation never carries a REQUEST)."""
    if kind not in KINDS:
        raise ValueError(f"unknown appointment update {kind!r}")
    method = invite_method(invite)
    if (method == "CANCEL") != (kind == "cancelled"):
        raise ValueError(f"a {kind} e-mail cannot carry an invite with METHOD:{method}")
    body = wording.UPDATE_BODY.format(
        intro=_intro(kind, notice, registration),
        details=wording.CANCELLED_NEXT if kind == "cancelled" else appointment_paragraph(notice),
        calendar_note=wording.CALENDAR_NOTES[kind],
        notice=receipt_wording.AUTOMATIC_NOTICE,
        signature=receipt_wording.SIGNATURE,
    )
    subject = wording.SUBJECTS[kind].format(registration=registration)
    message = _reply(
        who, _thread(in_reply_to, references, now), subject=subject, text=body, message_id=message_id, now=now
    )
    attach_invite(message, invite, method)
    return message


def invite_method(invite: bytes) -> str:
    """The METHOD line of a VCALENDAR (REQUEST, CANCEL)."""
    found = re.search(rb"^METHOD:([A-Z-]+)\r?$", invite, re.MULTILINE)
    if found is None:
        raise ValueError("the invite has no METHOD")
    return found.group(1).decode("ascii")


def _intro(kind: str, notice: AppointmentNotice, registration: str) -> str:
    at = local(notice.start, notice.timezone)
    return wording.INTROS[kind].format(
        office_name=notice.office_name,
        registration=registration,
        day=day_in_words(at.date()),
        time=f"{at:%H:%M}",
        label=wording.LOCAL_TIME_LABEL,
    )


def _thread(in_reply_to: str | None, references: tuple[str, ...], now: datetime) -> Original:
    # compose._reply threads under an Original: it appends the answered id to References itself.
    if in_reply_to is None and references:
        in_reply_to = references[-1]
    earlier = tuple(ref for ref in references if ref != in_reply_to)
    return Original(message_id=in_reply_to, references=earlier, subject="", received_at=now)
