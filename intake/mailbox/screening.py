"""Decide whether a parsed message is a citizen's submission or machine mail we must never answer.

Design guarantee 5 (no mail loops): no automatic reply to auto-responses, bounces/DSNs, mailing lists,
our own address, and at most `reply_cap` replies per sender per window.

The rules are data, read top to bottom like Mailman's chains: bounces first (the strongest and most
specific evidence), then auto-replies, then mailing lists, then our own address.  The first rule that
matches decides the category; every matching rule is reported so staff can see all the evidence.

A wrong "machine mail" verdict costs a citizen their receipt, while a wrong "submission" verdict costs
at most one extra reply (which carries Auto-Submitted, and the per-sender cap stops any loop).  So the
header rules follow the standards, and the subject rules only match the exact prefixes that mail
programs write, never words a person might use ("Absent" on its own is how people report a missed
appointment, so only "Absent de la birou" counts).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum

from intake.mailbox.parse import ParsedMessage

__all__ = ["RULES", "Category", "ScreeningContext", "ScreeningResult", "ScreeningRule", "cap_key", "screen"]


class Category(StrEnum):
    SUBMISSION = "submission"
    AUTO_REPLY = "auto_reply"
    BOUNCE = "bounce"
    MAILING_LIST = "mailing_list"
    OWN_ADDRESS = "own_address"


@dataclass(frozen=True)
class ScreeningContext:
    own_addresses: frozenset[str]  # lower-case
    replies_to_sender_recently: int  # counted by `cap_key`, so CAP@ and cAp@Victim.TEST are one sender
    reply_cap: int
    # What the agency's MX recorded about the From (`intake.mailbox.authentication`): pass | fail | none.
    authentication: str = "none"
    authentication_evidence: str = ""


@dataclass(frozen=True)
class ScreeningRule:
    name: str
    description: str
    category: Category
    check: Callable[[ParsedMessage, ScreeningContext], bool]
    # Header quoted in the reason when the rule decides ("Auto-Submitted: auto-replied"), so staff see
    # the evidence itself. Only machine headers are named here, never content such as the subject.
    evidence_header: str | None = None


@dataclass(frozen=True)
class ScreeningResult:
    category: Category
    reply_allowed: bool
    matched_rules: tuple[str, ...]
    reason: str
    capped: bool = False  # a submission the per-sender cap stopped answering (it books no visit either)
    unauthenticated: bool = False  # a submission whose From failed authentication: no reply, no visit


def cap_key(address: str | None) -> str | None:
    """The sender as the per-sender reply cap counts it: the address in lower case, without a +tag.

    The cap protects one mailbox from a flood of our replies (and loops), so every spelling that reaches the same
    mailbox must count once: `CAP@victim.test`, `cAp@Victim.TEST` and `cap+1@victim.test` are one sender. Case
    is folded in the local part too (RFC 5321 §2.4 leaves it to the receiving host; no provider we know
    distinguishes it). Dots are not special: only some providers (Gmail) ignore them, so `c.a.p@` stays another
    sender; folding them everywhere would merge real, different people of other domains."""
    if not address or "@" not in address:
        return None
    local, _, domain = address.strip().rpartition("@")
    local = local.strip('"').casefold()
    if "+" in local[1:]:
        local = local[: local.index("+", 1)]  # RFC 5233 subaddress; a leading "+" is part of the name
    return f"{local}@{domain.casefold().rstrip('.')}"


# --------------------------------------------------------------------------------------------------
# Helpers used by the checks


def _header(message: ParsedMessage, name: str) -> str | None:
    value = message.headers.get(name)
    return None if value is None else value.strip()


def _has_header(name: str) -> Callable[[ParsedMessage, ScreeningContext], bool]:
    return lambda message, _context: _header(message, name) is not None


def _token(value: str | None) -> str:
    """First token of a structured value: 'auto-generated (failure); x=y' -> 'auto-generated'."""
    if not value:
        return ""
    return re.split(r"[\s;(]", value.strip(), maxsplit=1)[0].lower()


# Local parts that only mail systems use as senders (the same set procmail's ^FROM_DAEMON knows).
DAEMON_LOCAL_PARTS = frozenset(
    {
        "mailer-daemon",
        "mailer_daemon",
        "mailerdaemon",
        "postmaster",
        "post_master",
        "mail-delivery-subsystem",
        "mail.delivery.subsystem",
        "mdaemon",
        "mail-daemon",
        "maildelivery",
        "mailerdeamon",
    }
)
_DAEMON_IN_HEADER = re.compile(
    r"(?:^|[<\s\"])(?:mailer[-_]?daemon|mail[-.]delivery[-.]subsystem)(?:$|[@>\s\"])", re.IGNORECASE
)
REPORT_PART_TYPES = frozenset(
    {
        "message/delivery-status",
        "message/global-delivery-status",
        "message/disposition-notification",
        "message/global-disposition-notification",
        "message/feedback-report",
    }
)

# Subject prefixes written by mail programs for non-delivery reports. Anchored at the start, so that
# "Fwd: Undeliverable: ..." (a person forwarding a bounce to us) stays a submission.
BOUNCE_SUBJECTS = re.compile(
    r"^\s*(?:undeliverable|undelivered mail returned to sender|undelivered mail|returned mail|"
    r"delivery status notification \((?:failure|delay)\)|mail delivery failed|delivery failure|"
    r"failure notice|non[- ]?delivery|message delivery failure|nedistribuit|nelivrat|"
    r"unzustellbar|mail system error)\b",
    re.IGNORECASE,
)
# Out-of-office prefixes of Outlook/Exchange, Gmail, Thunderbird and webmails, in the languages our
# correspondents' mail programs use (Romanian, English, Hungarian, German, French).
AUTO_REPLY_SUBJECTS = re.compile(
    r"^\s*(?:automatic reply|auto[- ]?reply|autoreply|auto[- ]?response|out of (?:the )?office|"
    r"r[ăa]spuns automat|absent de la birou|absen[țţt][ăa] de la birou|"
    r"automatikus v[áa]lasz|automatische antwort|abwesenheitsnotiz|r[ée]ponse automatique)\b",
    re.IGNORECASE,
)
# Exchange sets X-Auto-Response-Suppress on mail it generates, but Outlook and many business systems
# also set it on ordinary mail ("don't send me your OOF"), so it only counts together with a header
# that Exchange adds to mail created by an inbox rule or by the server itself.
LIST_MANAGER_HEADERS = (
    "list-subscribe",
    "list-help",
    "list-owner",
    "list-archive",
    "mailing-list",
    "x-mailing-list",
    "x-mlserver",
    "x-ml-name",
    "x-mailman-version",
)
EXCHANGE_GENERATED_HEADERS = ("x-ms-exchange-inbox-rules-loop", "x-ms-exchange-generated-message-source")


def _from_local_part(message: ParsedMessage) -> str | None:
    if message.from_address:
        return message.from_address.rpartition("@")[0].strip('"').lower()
    return None


# --------------------------------------------------------------------------------------------------
# Checks


def _is_multipart_report(message: ParsedMessage, _context: ScreeningContext) -> bool:
    # Any report-type (delivery-status, disposition-notification, feedback-report): RFC 6522 reports
    # are generated by machines and must not be answered automatically.
    return message.content_type == "multipart/report"


def _has_report_part(message: ParsedMessage, _context: ScreeningContext) -> bool:
    # Relayed DSNs (e.g. through a list manager) lose the top-level multipart/report but keep the part.
    return any(a.declared_type in REPORT_PART_TYPES and a.origin != "forwarded" for a in message.attachments)


def _null_return_path(message: ParsedMessage, _context: ScreeningContext) -> bool:
    return message.return_path == ""


def _daemon_sender(message: ParsedMessage, _context: ScreeningContext) -> bool:
    if _from_local_part(message) in DAEMON_LOCAL_PARTS:
        return True
    # "From: MAILER-DAEMON" without a domain has no usable address but is still a daemon.
    raw_from = _header(message, "from") or ""
    return bool(_DAEMON_IN_HEADER.search(raw_from))


def _bounce_subject(message: ParsedMessage, _context: ScreeningContext) -> bool:
    return bool(BOUNCE_SUBJECTS.match(message.subject))


def _auto_submitted(message: ParsedMessage, _context: ScreeningContext) -> bool:
    value = _header(message, "auto-submitted")
    return value is not None and _token(value) not in ("", "no")


def _precedence_auto_reply(message: ParsedMessage, _context: ScreeningContext) -> bool:
    return _token(_header(message, "precedence")) == "auto_reply"


def _x_autoreply(message: ParsedMessage, _context: ScreeningContext) -> bool:
    values = (_header(message, "x-autoreply"), _header(message, "x-autorespond"))
    return any(value is not None and _token(value) not in ("no", "false", "0") for value in values)


def _exchange_suppress_with_generated(message: ParsedMessage, _context: ScreeningContext) -> bool:
    suppress = (_header(message, "x-auto-response-suppress") or "").lower()
    if not re.search(r"\b(?:all|oof|autoreply)\b", suppress):
        return False
    return any(_header(message, name) is not None for name in EXCHANGE_GENERATED_HEADERS)


def _auto_reply_subject(message: ParsedMessage, _context: ScreeningContext) -> bool:
    return bool(AUTO_REPLY_SUBJECTS.match(message.subject))


def _precedence_list(message: ParsedMessage, _context: ScreeningContext) -> bool:
    return _token(_header(message, "precedence")) in ("bulk", "junk", "list")


def _list_manager_headers(message: ParsedMessage, _context: ScreeningContext) -> bool:
    return any(_header(message, name) is not None for name in LIST_MANAGER_HEADERS)


def _from_own_address(message: ParsedMessage, context: ScreeningContext) -> bool:
    return bool(message.from_address) and (message.from_address or "").lower() in context.own_addresses


def _x_loop_own_address(message: ParsedMessage, context: ScreeningContext) -> bool:
    # X-Loop is how procmail, RT and list managers tag mail they sent; ours means it came back.
    value = (_header(message, "x-loop") or "").lower()
    return any(address in value for address in context.own_addresses)


# --------------------------------------------------------------------------------------------------
# The rules, in order. The first match decides the category.

RULES: tuple[ScreeningRule, ...] = (
    ScreeningRule(
        "multipart-report",
        "top-level Content-Type is multipart/report (DSN, MDN or ARF)",
        Category.BOUNCE,
        _is_multipart_report,
        "content-type",
    ),
    ScreeningRule(
        "report-part",
        "contains a delivery-status, disposition-notification or feedback part",
        Category.BOUNCE,
        _has_report_part,
    ),
    ScreeningRule(
        "daemon-sender",
        "From is MAILER-DAEMON, postmaster or mail-delivery-subsystem",
        Category.BOUNCE,
        _daemon_sender,
    ),
    ScreeningRule(
        "x-failed-recipients",
        "X-Failed-Recipients header (Exim, Gmail bounces)",
        Category.BOUNCE,
        _has_header("x-failed-recipients"),
    ),
    ScreeningRule("bounce-subject", "subject starts like a non-delivery report", Category.BOUNCE, _bounce_subject),
    ScreeningRule(
        "auto-submitted",
        "Auto-Submitted header other than 'no' (RFC 3834)",
        Category.AUTO_REPLY,
        _auto_submitted,
        "auto-submitted",
    ),
    ScreeningRule(
        "precedence-auto-reply",
        "Precedence: auto_reply",
        Category.AUTO_REPLY,
        _precedence_auto_reply,
        "precedence",
    ),
    ScreeningRule("x-autoreply", "X-Autoreply or X-Autorespond header", Category.AUTO_REPLY, _x_autoreply),
    ScreeningRule(
        "exchange-generated",
        "X-Auto-Response-Suppress together with an Exchange rule/server header",
        Category.AUTO_REPLY,
        _exchange_suppress_with_generated,
        "x-auto-response-suppress",
    ),
    ScreeningRule(
        "auto-reply-subject",
        "subject starts with an out-of-office prefix",
        Category.AUTO_REPLY,
        _auto_reply_subject,
    ),
    # The null sender is shared: RFC 3834 tells auto-responders to use it too, so it only means
    # "bounce" once the auto-reply rules above had their say.
    ScreeningRule(
        "null-return-path",
        "empty Return-Path <> (RFC 5321 null sender of notifications)",
        Category.BOUNCE,
        _null_return_path,
        "return-path",
    ),
    ScreeningRule("list-id", "List-Id header (RFC 2919)", Category.MAILING_LIST, _has_header("list-id"), "list-id"),
    ScreeningRule(
        "list-unsubscribe",
        "List-Unsubscribe header (RFC 2369, also newsletters)",
        Category.MAILING_LIST,
        _has_header("list-unsubscribe"),
    ),
    ScreeningRule("list-post", "List-Post header (RFC 2369)", Category.MAILING_LIST, _has_header("list-post")),
    ScreeningRule(
        "list-manager-headers",
        "other RFC 2369 List-* or list-manager (ezmlm, fml, Mailman) header",
        Category.MAILING_LIST,
        _list_manager_headers,
    ),
    ScreeningRule(
        "precedence-bulk",
        "Precedence: bulk, junk or list",
        Category.MAILING_LIST,
        _precedence_list,
        "precedence",
    ),
    ScreeningRule("own-address", "From is one of the agency's own addresses", Category.OWN_ADDRESS, _from_own_address),
    ScreeningRule(
        "x-loop-own-address",
        "X-Loop names one of the agency's own addresses",
        Category.OWN_ADDRESS,
        _x_loop_own_address,
    ),
)

CATEGORY_WORDS = {
    Category.BOUNCE: "bounce or delivery report",
    Category.AUTO_REPLY: "auto-reply",
    Category.MAILING_LIST: "mailing list or bulk mail",
    Category.OWN_ADDRESS: "mail from our own address (loop)",
}


# --------------------------------------------------------------------------------------------------
# Entry point


def screen(
    message: ParsedMessage, context: ScreeningContext, rules: tuple[ScreeningRule, ...] = RULES
) -> ScreeningResult:
    """Classify `message`. Never raises: a rule that fails on odd input counts as not matching, and
    if even that fails the message goes to staff without a reply."""
    try:
        return _screen(message, context, rules)
    except Exception:
        return ScreeningResult(Category.SUBMISSION, False, (), "screening failed; no reply sent, staff review")


def _screen(message: ParsedMessage, context: ScreeningContext, rules: tuple[ScreeningRule, ...]) -> ScreeningResult:
    matched = tuple(rule for rule in rules if _safe_check(rule, message, context))
    if matched:
        first = matched[0]
        reason = f"{CATEGORY_WORDS.get(first.category, first.category)} ({_evidence(first, message)}); no reply sent"
        return ScreeningResult(first.category, False, tuple(r.name for r in matched), reason)
    return _submission(message, context)


def _safe_check(rule: ScreeningRule, message: ParsedMessage, context: ScreeningContext) -> bool:
    try:
        return bool(rule.check(message, context))
    except Exception:
        return False


def _evidence(rule: ScreeningRule, message: ParsedMessage) -> str:
    if rule.evidence_header:
        value = _header(message, rule.evidence_header)
        if value:
            label = "-".join(word.capitalize() for word in rule.evidence_header.split("-"))
            shown = value if len(value) <= 80 else value[:77] + "..."
            return f"{label}: {shown}"
    return rule.description


def _submission(message: ParsedMessage, context: ScreeningContext) -> ScreeningResult:
    if not message.from_address:
        return ScreeningResult(
            Category.SUBMISSION, False, (), "submission without a usable From address; no reply possible"
        )
    if context.authentication == "fail":
        # The From is very probably forged (DMARC fail, or SPF fail without DKIM, RFC 7489 §6.6.2): an answer
        # would carry our signed recipisă, with the forger's subject and file names, to a third party.
        return ScreeningResult(
            Category.SUBMISSION,
            False,
            (),
            f"submission; sender failed authentication at our mail server ({context.authentication_evidence}); "
            "no reply sent, staff review",
            unauthenticated=True,
        )
    if context.replies_to_sender_recently >= context.reply_cap:
        return ScreeningResult(
            Category.SUBMISSION,
            False,
            (),
            f"submission; reply cap reached ({context.replies_to_sender_recently} automatic replies to "
            f"this sender, cap {context.reply_cap}); no reply sent",
            capped=True,
        )
    return ScreeningResult(Category.SUBMISSION, True, (), "submission from a person; reply allowed")
