"""Unit tests for intake.mailbox.screening: each rule, the order of rules, the reply cap."""

from __future__ import annotations

import pytest

from intake.mailbox.parse import ParsedMessage, parse_message
from intake.mailbox.screening import (
    RULES,
    Category,
    ScreeningContext,
    ScreeningRule,
    screen,
)

OWN = "inregistrare@ajofm-cluj.ro"
CONTEXT = ScreeningContext(own_addresses=frozenset({OWN}), replies_to_sender_recently=0, reply_cap=10)


def _parsed(*headers: str, body: str = "Bună ziua, atașez cererea.") -> ParsedMessage:
    """A minimal message: the given headers, plus a From/Subject unless the test sets its own."""
    names = {h.split(":", 1)[0].lower() for h in headers}
    base = [] if "from" in names else ["From: Ion Popescu <ion.popescu@example.ro>"]
    base += [] if "subject" in names else ["Subject: Cerere indemnizație"]
    text = "\r\n".join([*base, "To: " + OWN, *headers]) + "\r\n\r\n" + body + "\r\n"
    return parse_message(text.encode())


REPORT = (
    "Content-Type: multipart/report; report-type=delivery-status; boundary=R",
    "MIME-Version: 1.0",
)
REPORT_BODY = (
    "--R\r\nContent-Type: text/plain\r\n\r\nfailed\r\n--R\r\nContent-Type: message/delivery-status\r\n\r\n"
    "Reporting-MTA: dns; mx.example.ro\r\n\r\nFinal-Recipient: rfc822; x@y.ro\r\nStatus: 5.1.1\r\n--R--"
)
RELAYED_REPORT_BODY = (
    "--M\r\nContent-Type: text/plain\r\n\r\nfailed\r\n--M\r\nContent-Type: message/delivery-status\r\n\r\n"
    "Reporting-MTA: dns; mx.example.ro\r\n--M--"
)

# rule name -> (headers, body, expected category). Every rule in RULES must appear here.
CASES: dict[str, tuple[tuple[str, ...], str, Category]] = {
    "multipart-report": (REPORT, REPORT_BODY, Category.BOUNCE),
    "report-part": (("Content-Type: multipart/mixed; boundary=M",), RELAYED_REPORT_BODY, Category.BOUNCE),
    "daemon-sender": (("From: Mail Delivery System <MAILER-DAEMON@mx.example.ro>",), "x", Category.BOUNCE),
    "x-failed-recipients": (("X-Failed-Recipients: x@y.ro",), "x", Category.BOUNCE),
    "bounce-subject": (("Subject: Undeliverable: Cerere",), "x", Category.BOUNCE),
    "auto-submitted": (("Auto-Submitted: auto-replied",), "x", Category.AUTO_REPLY),
    "precedence-auto-reply": (("Precedence: auto_reply",), "x", Category.AUTO_REPLY),
    "x-autoreply": (("X-Autoreply: yes",), "x", Category.AUTO_REPLY),
    "exchange-generated": (
        ("X-Auto-Response-Suppress: All", "X-MS-Exchange-Inbox-Rules-Loop: ion.popescu@example.ro"),
        "x",
        Category.AUTO_REPLY,
    ),
    "auto-reply-subject": (("Subject: Răspuns automat: Cerere",), "x", Category.AUTO_REPLY),
    "null-return-path": (("Return-Path: <>",), "x", Category.BOUNCE),
    "list-id": (("List-Id: <anunturi.lists.example.ro>",), "x", Category.MAILING_LIST),
    "list-unsubscribe": (("List-Unsubscribe: <mailto:leave@example.ro>",), "x", Category.MAILING_LIST),
    "list-post": (("List-Post: <mailto:list@example.ro>",), "x", Category.MAILING_LIST),
    "list-manager-headers": (
        ("Mailing-List: contact help@example.ro; run by ezmlm",),
        "x",
        Category.MAILING_LIST,
    ),
    "precedence-bulk": (("Precedence: bulk",), "x", Category.MAILING_LIST),
    "own-address": ((f"From: AJOFM Cluj <{OWN.upper()}>",), "x", Category.OWN_ADDRESS),
    "x-loop-own-address": ((f"X-Loop: {OWN}",), "x", Category.OWN_ADDRESS),
}


def test_every_rule_has_a_case() -> None:
    assert {rule.name for rule in RULES} == set(CASES)
    assert len({rule.name for rule in RULES}) == len(RULES)


@pytest.mark.parametrize("rule_name", list(CASES))
def test_each_rule_fires_alone(rule_name: str) -> None:
    headers, body, category = CASES[rule_name]
    result = screen(_parsed(*headers, body=body), CONTEXT)
    assert result.matched_rules[0] == rule_name
    assert result.category is category
    assert result.reply_allowed is False
    assert result.reason.endswith("no reply sent")


def test_rules_are_ordered_bounce_auto_reply_list_own() -> None:
    order = [
        Category.BOUNCE,
        Category.AUTO_REPLY,
        Category.BOUNCE,
        Category.MAILING_LIST,
        Category.OWN_ADDRESS,
    ]
    blocks = [rule.category for i, rule in enumerate(RULES) if i == 0 or RULES[i - 1].category != rule.category]
    # The null sender comes after the auto-reply rules on purpose: RFC 3834 auto-replies use it too.
    assert blocks == order
    assert [r.name for r in RULES if r.category is Category.BOUNCE][-1] == "null-return-path"


def test_normal_message_is_submission() -> None:
    result = screen(_parsed(), CONTEXT)
    assert result.category is Category.SUBMISSION
    assert result.reply_allowed is True
    assert result.matched_rules == ()


@pytest.mark.parametrize("sent", [10, 11, 500])
def test_cap_reached_blocks_reply(sent: int) -> None:
    context = ScreeningContext(frozenset({OWN}), replies_to_sender_recently=sent, reply_cap=10)
    result = screen(_parsed(), context)
    assert result.category is Category.SUBMISSION
    assert result.reply_allowed is False
    assert "cap" in result.reason


def test_just_below_cap_is_allowed() -> None:
    context = ScreeningContext(frozenset(), replies_to_sender_recently=9, reply_cap=10)
    assert screen(_parsed(), context).reply_allowed is True


@pytest.mark.parametrize("from_header", ["From: Ion Popescu", "From: <>", "Subject: no from at all"])
def test_submission_without_usable_from_gets_no_reply(from_header: str) -> None:
    raw = f"{from_header}\r\nSubject: Cerere\r\n\r\nx\r\n".encode()
    result = screen(parse_message(raw), CONTEXT)
    assert result.category is Category.SUBMISSION
    assert result.reply_allowed is False
    assert "From" in result.reason


def test_reason_quotes_the_header_evidence() -> None:
    result = screen(_parsed("Auto-Submitted: auto-replied"), CONTEXT)
    assert result.reason == "auto-reply (Auto-Submitted: auto-replied); no reply sent"


def test_bounce_wins_over_auto_reply() -> None:
    result = screen(_parsed(*REPORT, "Auto-Submitted: auto-generated (failure)", body=REPORT_BODY), CONTEXT)
    assert result.category is Category.BOUNCE
    assert {"multipart-report", "auto-submitted"} <= set(result.matched_rules)


def test_rfc3834_auto_reply_with_null_sender_is_auto_reply() -> None:
    result = screen(_parsed("Return-Path: <>", "Auto-Submitted: auto-replied"), CONTEXT)
    assert result.category is Category.AUTO_REPLY
    assert "null-return-path" in result.matched_rules


def test_auto_reply_wins_over_list() -> None:
    result = screen(_parsed("Precedence: bulk", "Subject: Out of Office: Cerere"), CONTEXT)
    assert result.category is Category.AUTO_REPLY


@pytest.mark.parametrize(
    "headers",
    [
        ("Auto-Submitted: no",),
        ("Auto-Submitted: No (manually sent)",),
        ("X-Auto-Response-Suppress: All",),  # Outlook sets this on ordinary mail too
        ("X-Auto-Response-Suppress: DR, OOF, AutoReply",),
        ("Precedence: first-class",),
        ("Subject: Absent la programarea din 12 mai",),  # a person reporting a missed appointment
        ("Subject: Fwd: Undeliverable: Cerere",),  # a person forwarding a bounce to us
        ("Subject: Re: Răspunsul dumneavoastră",),
        ("From: Postmaster General <ion.postmaster@example.ro>",),
        ("X-Loop: someone-else@example.ro",),
    ],
)
def test_ordinary_signals_that_are_not_machine_mail(headers: tuple[str, ...]) -> None:
    result = screen(_parsed(*headers), CONTEXT)
    assert result.category is Category.SUBMISSION, result.matched_rules
    assert result.reply_allowed is True


@pytest.mark.parametrize(
    "subject",
    [
        "Automatic reply: Cerere",
        "Out of Office: x",
        "Răspuns automat: x",
        "Raspuns automat: x",
        "Absent de la birou: x",
        "Automatikus válasz: x",
        "AUTO-REPLY x",
    ],
)
def test_out_of_office_subjects(subject: str) -> None:
    assert screen(_parsed(f"Subject: {subject}"), CONTEXT).category is Category.AUTO_REPLY


@pytest.mark.parametrize(
    "from_header",
    [
        "From: MAILER-DAEMON",
        "From: Mail Delivery Subsystem <mailer-daemon@googlemail.com>",
        "From: postmaster@example.ro",
        "From: MAILER-DAEMON <>",
    ],
)
def test_daemon_senders(from_header: str) -> None:
    assert screen(_parsed(from_header), CONTEXT).category is Category.BOUNCE


def test_broken_rule_does_not_raise() -> None:
    def explode(message: ParsedMessage, context: ScreeningContext) -> bool:
        raise RuntimeError("boom")

    rules = (ScreeningRule("explode", "always raises", Category.BOUNCE, explode), *RULES)
    result = screen(_parsed(), CONTEXT, rules)
    assert result.category is Category.SUBMISSION and result.reply_allowed is True


def test_screen_never_raises_on_unparseable_message() -> None:
    result = screen(parse_message(None), CONTEXT)  # type: ignore[arg-type]
    assert result.category is Category.SUBMISSION
    assert result.reply_allowed is False
