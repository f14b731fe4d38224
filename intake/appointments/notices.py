"""What we tell the beneficiary about an appointment: the paragraph of the recipisă and the reply, the
e-mails sent later (reminder, change, cancellation; the invitation once a clerk confirmed the file, the call to a
clarification, the news that the file is complete and being verified) and the calendar invite attached to them.

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
from intake.receipts.compose import Correspondent, Original, _reply, status_paragraph

INVITE_FILENAME = "programare.ics"
KINDS = ("reminder", "rescheduled", "cancelled", "invitation", "clarification", "verification")
# The kinds whose invite removes the event from the calendar (METHOD:CANCEL); every other kind books or updates it.
CANCEL_KINDS = ("cancelled", "verification")


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
    # Who comes and what the step-8 visit is for (the request type's checklist entry): an employer sends its legal
    # representative or a proxy; a request that ends without a decision is never promised one.
    applicant: str = wording.NATURAL_PERSON
    decision: bool = True
    request_name: str | None = None
    office_short: str = "AJOFM Cluj"  # whose procedure the legal basis cites (each office of a deployment its own)

    @property
    def late(self) -> bool:
        """A clarification booked after its legal deadline (a finding raised once the deadline had passed)."""
        return self.deadline is not None and local(self.start, self.timezone).date() > self.deadline


@dataclass(frozen=True)
class Previous:
    """The appointment a change replaced or cancelled, as the beneficiary knew it."""

    purpose: str
    start: datetime  # aware


# --- dates in words ------------------------------------------------------------------------------------------


def day_in_words(day: date) -> str:
    """'joi, 26 noiembrie 2026'."""
    return f"{wording.WEEKDAYS[day.weekday()]}, {day.day} {wording.MONTHS[day.month - 1]} {day.year}"


def moment_in_words(moment: datetime, timezone: str) -> str:
    """'joi, 26 noiembrie 2026, la ora 10:00 (ora României)', in the office zone whatever zone `moment` is in."""
    at = local(moment, timezone)
    return wording.WHEN.format(day=day_in_words(at.date()), time=f"{at:%H:%M}", label=wording.LOCAL_TIME_LABEL)


def visit_purpose(purpose: str, *, applicant: str, decision: bool, request_name: str | None) -> str:
    """'pentru …': why the beneficiary comes, in the words that fit the request and who comes."""
    if purpose == "clarification":
        return wording.CLARIFICATION_PURPOSE
    if decision:
        return wording.DECISION_PURPOSE[_who(applicant)]
    words = wording.NO_DECISION_PURPOSE[_who(applicant)]
    if request_name:
        return wording.NO_DECISION_PURPOSE_NAMED.format(purpose=words, request_name=request_name)
    return words


def _who(applicant: str) -> str:
    return wording.LEGAL_PERSON if applicant == wording.LEGAL_PERSON else wording.NATURAL_PERSON


# --- the paragraph of the recipisă and the reply --------------------------------------------------------------


def appointment_paragraph(notice: AppointmentNotice) -> str:
    """When, where and why to come, what to bring, and how to change it. Blocks are separated by blank lines."""
    _check_notice(notice)
    blocks = [_when_and_where(notice)]
    if notice.reasons:
        blocks.append(_reasons(notice))
    blocks.append(wording.BRING[_bring_key(notice), _who(notice.applicant)])
    if notice.purpose == "clarification" and notice.deadline is not None:
        basis = wording.LEGAL_BASIS_LATE if notice.late else wording.LEGAL_BASIS
        blocks.append(basis.format(deadline_day=day_in_words(notice.deadline), office_short=notice.office_short))
    if notice.overflow:
        blocks.append(wording.OVERFLOW)
    if notice.manage_url:
        blocks.append(_manage_link(notice))
    return "\n\n".join(blocks)


def pending_paragraph(office_name: str, *, applicant: str, decision: bool, request_name: str | None) -> str:
    """The recipisă of a complete case: it is being verified, and the invitation to the office will follow."""
    purpose = visit_purpose("decision", applicant=applicant, decision=decision, request_name=request_name)
    return wording.PENDING_VERIFICATION[_who(applicant)].format(office_name=office_name, purpose=purpose)


def change_preface(previous: Previous, timezone: str, *, cancelled: bool) -> str:
    """The sentence that says which appointment a change replaced or cancelled."""
    text = wording.CANCELLED_COMPLETE if cancelled else wording.REPLACED
    return text.format(
        previous=moment_in_words(previous.start, timezone),
        previous_purpose=wording.CLARIFICATION_PURPOSE
        if previous.purpose == "clarification"
        else wording.STEP8_PURPOSE_SHORT,
    )


def no_slot_paragraph(deadline: date | None, office_name: str, office_short: str = "AJOFM Cluj") -> str:
    """When nothing could be booked: say so plainly, and that a person will get in touch."""
    before_deadline = ""
    if deadline is not None:
        before_deadline = wording.NO_SLOT_DEADLINE.format(deadline_day=day_in_words(deadline))
    return wording.NO_SLOT.format(before_deadline=before_deadline, office_name=office_name, office_short=office_short)


def _check_notice(notice: AppointmentNotice) -> None:
    if notice.purpose not in ("clarification", "decision"):
        raise ValueError(f"unknown appointment purpose {notice.purpose!r}")
    if notice.start.tzinfo is None or notice.end.tzinfo is None:
        # A naive time would be read in the server's zone: exactly the "two hours early" bug.
        raise ValueError("appointment times must be timezone-aware")


def _when_and_where(notice: AppointmentNotice) -> str:
    return wording.APPOINTMENT[_who(notice.applicant)].format(
        office_name=notice.office_name,
        address=notice.office_address,
        when=moment_in_words(notice.start, notice.timezone),
        purpose=_purpose_of(notice),
    )


def _purpose_of(notice: AppointmentNotice) -> str:
    return visit_purpose(
        notice.purpose, applicant=notice.applicant, decision=notice.decision, request_name=notice.request_name
    )


def _bring_key(notice: AppointmentNotice) -> str:
    if notice.purpose == "clarification":
        return "clarification"
    return "decision" if notice.decision else "visit"


def _reasons(notice: AppointmentNotice) -> str:
    lines = [wording.REASONS_HEADER[notice.purpose]]
    lines.extend(f"  - {reason}" for reason in notice.reasons)
    return "\n".join(lines)


def _manage_link(notice: AppointmentNotice) -> str:
    lines = [wording.MANAGE_LINK.format(url=notice.manage_url)]
    if notice.manage_until is not None:
        lines.append(wording.MANAGE_LINK_VALIDITY.format(until=moment_in_words(notice.manage_until, notice.timezone)))
    if notice.purpose == "clarification" and notice.deadline is not None:
        if notice.late:
            last_day = day_in_words(local(notice.start, notice.timezone).date())
            lines.append(wording.MANAGE_LINK_WINDOW_LATE.format(last_day=last_day))
        else:
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
            office_name=notice.office_name,
            registration=registration,
            what=wording.INVITE_WHAT[notice.decision, _who(notice.applicant)],
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


# --- the later e-mails: reminder, change, cancellation, invitation, clarification, verification -----------------


def build_appointment_update(
    who: Correspondent,
    *,
    notice: AppointmentNotice | None,
    invite: bytes | None,
    kind: str,
    registration: str,
    message_id: str,
    now: datetime,
    in_reply_to: str | None,
    references: tuple[str, ...],
    previous: Previous | None = None,
    pending: str | None = None,
    reasons: tuple[str, ...] = (),
    replaces_invite: bool = False,
) -> EmailMessage:
    """One e-mail about the case's visit, threaded under the case's messages:

    - "reminder" (the working day before), "rescheduled" (moved), "cancelled";
    - "invitation": a clerk confirmed the file, the decision visit is booked (procedure 000 step 8);
    - "clarification": a finding calls the beneficiary in (step 7), `previous` the visit it replaces, if any
      (`replaces_invite`: the same visit with new reasons); without a `notice`, nothing could be booked: `reasons`
      say why, `pending` that we will call, and an invite, if any, cancels the visit it replaced;
    - "verification": the clarification is no longer needed, the file is being verified (`pending` says so),
      `previous` the clarification visit it cancels, if there was one (then with a METHOD:CANCEL invite).

    The invite's METHOD must match (a cancellation never carries a REQUEST, nor a booking a CANCEL).
    """
    if kind not in KINDS:
        raise ValueError(f"unknown appointment update {kind!r}")
    if notice is None and kind not in ("verification", "clarification"):
        raise ValueError(f"a {kind} e-mail needs the appointment")
    cancels = kind in CANCEL_KINDS or notice is None
    if invite is not None:
        method = invite_method(invite)
        if (method == "CANCEL") != cancels:
            raise ValueError(f"a {kind} e-mail cannot carry an invite with METHOD:{method}")
    elif notice is not None:
        raise ValueError(f"a {kind} e-mail needs its invite")
    blocks = _update_blocks(
        kind, notice, registration, previous, pending, reasons, invite, replaces_invite, who.timezone
    )
    status = status_paragraph(who)  # where the case can be followed: the same link as in every reply
    text = "\n\n".join(
        [
            "Bună ziua,",
            *blocks,
            *([status] if status else []),
            receipt_wording.automatic_notice(),
            receipt_wording.signature(),
        ]
    )
    office_name = notice.office_name if notice is not None else ""
    subject = wording.SUBJECTS[kind].format(registration=registration, office_name=office_name)
    message = _reply(
        who, _thread(in_reply_to, references, now), subject=subject, text=text + "\n", message_id=message_id, now=now
    )
    if invite is not None:
        attach_invite(message, invite, invite_method(invite))
    return message


def _update_blocks(
    kind: str,
    notice: AppointmentNotice | None,
    registration: str,
    previous: Previous | None,
    pending: str | None,
    reasons: tuple[str, ...],
    invite: bytes | None,
    replaces_invite: bool,
    timezone: str,
) -> list[str]:
    intro = wording.INTROS[kind].format(
        office_name=notice.office_name if notice is not None else "",
        registration=registration,
        when=moment_in_words(notice.start, notice.timezone) if notice is not None else "",
    )
    blocks = [intro]
    if notice is None:
        # Nothing booked: why we wrote (the findings), what was cancelled, and what happens now.
        if reasons:
            blocks.append("\n".join([wording.REASONS_HEADER["clarification"], *(f"  - {r}" for r in reasons)]))
        if previous is not None:
            blocks.append(change_preface(previous, timezone, cancelled=True))
        blocks.append(pending or "")
        if invite is not None:
            blocks.append(wording.CALENDAR_NOTES["cancels"])
        return blocks
    if kind == "cancelled":
        return [*blocks, wording.CANCELLED_NEXT, wording.CALENDAR_NOTES["cancels"]]
    if previous is not None:
        blocks.append(change_preface(previous, timezone, cancelled=False))
    blocks.append(appointment_paragraph(notice))
    replaces = kind == "rescheduled" or previous is not None or replaces_invite
    blocks.append(wording.CALENDAR_NOTES["replaces" if replaces else "new"])
    return blocks


def invite_method(invite: bytes) -> str:
    """The METHOD line of a VCALENDAR (REQUEST, CANCEL)."""
    found = re.search(rb"^METHOD:([A-Z-]+)\r?$", invite, re.MULTILINE)
    if found is None:
        raise ValueError("the invite has no METHOD")
    return found.group(1).decode("ascii")


def _thread(in_reply_to: str | None, references: tuple[str, ...], now: datetime) -> Original:
    # compose._reply threads under an Original: it appends the answered id to References itself.
    if in_reply_to is None and references:
        in_reply_to = references[-1]
    earlier = tuple(ref for ref in references if ref != in_reply_to)
    return Original(message_id=in_reply_to, references=earlier, subject="", received_at=now)
