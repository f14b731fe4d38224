"""Issue 10, points 12-14: what the agency's MX recorded about the From (RFC 8601 Authentication-Results)."""

from __future__ import annotations

import pytest

from intake.mailbox.authentication import (
    Authentication,
    MalformedHeader,
    aligned,
    judge,
    parse_authentication_results,
)
from intake.mailbox.parse import parse_message
from intake.mailbox.screening import cap_key
from intake.receipts.compose import carries_token, make_message_id

OURS = "mx.anofm.gov.ro"


# --- the parser, on the examples of RFC 8601 Appendix B ---------------------------------------------------------


def test_b2_no_method_applied_is_none_with_a_version() -> None:
    parsed = parse_authentication_results("example.org 1; none")
    assert (parsed.authserv_id, parsed.version, parsed.results) == ("example.org", 1, ())


def test_b3_one_method_with_a_property() -> None:
    (spf,) = parse_authentication_results("example.com; spf=pass smtp.mailfrom=example.net").results
    assert (spf.method, spf.result, dict(spf.properties)) == ("spf", "pass", {"smtp.mailfrom": "example.net"})


def test_b4_several_methods_comments_and_folding() -> None:
    parsed = parse_authentication_results(
        "example.com;\r\n          auth=pass (cram-md5) smtp.auth=sender@example.net;\r\n"
        "          spf=pass smtp.mailfrom=example.net"
    )
    assert [(r.method, r.result) for r in parsed.results] == [("auth", "pass"), ("spf", "pass")]
    assert parsed.results[0].properties["smtp.auth"] == "sender@example.net"


def test_b6_quoted_reasons_and_an_identity_without_local_part() -> None:
    parsed = parse_authentication_results(
        'example.com; dkim=pass reason="good signature" header.i=@mail-router.example.net; '
        'dkim=fail reason="bad signature" header.i=@newyork.example.com'
    )
    first, second = parsed.results
    assert (first.result, first.reason, first.properties["header.i"]) == (
        "pass",
        "good signature",
        "@mail-router.example.net",
    )
    assert (second.result, second.reason) == ("fail", "bad signature")


def test_nested_comments_quoted_pairs_method_versions_and_case() -> None:
    parsed = parse_authentication_results(
        "(first (nested \\) comment)) Example.COM (c); DKIM/1=Pass (ok (really)) header.D=Victim.Test "
        'header.b="ab\\"c"; dmarc=pass (p=REJECT sp=NONE) header.from=victim.test;'
    )
    dkim, dmarc = parsed.results
    assert (parsed.authserv_id, dkim.method, dkim.result) == ("Example.COM", "dkim", "pass")
    assert dkim.properties == {"header.d": "Victim.Test", "header.b": 'ab"c'}
    assert (dmarc.method, dmarc.result, dmarc.properties["header.from"]) == ("dmarc", "pass", "victim.test")


def test_a_real_gmail_style_header() -> None:
    parsed = parse_authentication_results(
        "mx.google.com; dkim=pass header.i=@gmail.com header.s=20230601 header.b=Xy+1/z; "
        "spf=pass (google.com: domain of a@gmail.com designates 2a00::1 as permitted sender) "
        "smtp.mailfrom=a@gmail.com; dmarc=pass (p=NONE sp=QUARANTINE dis=NONE) header.from=gmail.com"
    )
    assert [r.method for r in parsed.results] == ["dkim", "spf", "dmarc"]


@pytest.mark.parametrize(
    "value",
    ["", "; spf=pass", "example.com", "example.com; spf", "example.com; spf=pass (open", 'x; dkim=pass reason="x'],
)
def test_malformed_headers_are_refused(value: str) -> None:
    with pytest.raises(MalformedHeader):
        parse_authentication_results(value)


# --- the verdict ------------------------------------------------------------------------------------------------


def test_only_our_authserv_id_is_believed() -> None:
    headers = ["evil.example; dmarc=pass header.from=victim.test"]
    assert judge(headers, "ion@victim.test", OURS).status == Authentication.NONE


def test_no_header_of_ours_is_none_not_a_failure() -> None:
    assert judge([], "ion@victim.test", OURS).status == Authentication.NONE
    assert judge([f"{OURS}; none"], "ion@victim.test", OURS).status == Authentication.NONE
    # Not configured: nothing is believed, whatever the message says.
    assert judge([f"{OURS}; dmarc=pass"], "ion@victim.test", "").status == Authentication.NONE


def test_dmarc_fail_and_spf_fail_without_dkim_fail() -> None:
    assert judge([f"{OURS}; dmarc=fail header.from=victim.test"], "a@victim.test", OURS).status == "fail"
    assert judge([f"{OURS}; spf=fail smtp.mailfrom=victim.test"], "a@victim.test", OURS).status == "fail"
    # SPF fails on forwarded mail all the time: a passing DKIM signature saves it from "fail".
    spf_dkim = f"{OURS}; spf=fail smtp.mailfrom=list.example; dkim=pass header.d=other.example"
    assert judge([spf_dkim], "a@victim.test", OURS).status == "none"
    assert judge([f"{OURS}; spf=softfail"], "a@victim.test", OURS).status == "none"


def test_aligned_dkim_or_dmarc_pass() -> None:
    assert judge([f"{OURS}; dkim=pass header.d=victim.test"], "A@Victim.Test", OURS).status == "pass"
    assert judge([f"{OURS}; dkim=pass header.d=mail.victim.test"], "a@victim.test", OURS).status == "pass"
    assert judge([f"{OURS}; dkim=pass header.i=@victim.test"], "a@victim.test", OURS).status == "pass"
    assert judge([f"{OURS}; dkim=pass header.d=attacker.example"], "a@victim.test", OURS).status == "none"
    assert judge([f"{OURS}; dmarc=pass header.from=victim.test"], "a@victim.test", OURS).status == "pass"
    # A DMARC result about another From (two From headers) says nothing about ours.
    assert judge([f"{OURS}; dmarc=pass header.from=attacker.example"], "a@victim.test", OURS).status == "none"


def test_relaxed_alignment_without_the_public_suffix_list() -> None:
    assert aligned("victim.test", "victim.test")
    assert aligned("victim.test", "mail.victim.test") and aligned("mail.victim.test", "victim.test")
    assert not aligned("test", "victim.test")  # a bare TLD is nobody's organizational domain
    assert not aligned("notvictim.test", "victim.test")
    assert not aligned(None, "victim.test")


def test_a_forged_header_with_our_id_below_the_real_one_is_not_believed() -> None:
    real = f"{OURS}; spf=fail smtp.mailfrom=victim.test; dkim=none; dmarc=fail header.from=victim.test"
    forged = f"{OURS}; dkim=pass header.d=victim.test; dmarc=pass header.from=victim.test"
    assert judge([real, forged], "a@victim.test", OURS).status == "fail"
    # The topmost of ours decides even when it is unreadable: never fall back to the one below.
    assert judge([f"{OURS}; dkim=pass (unterminated", forged], "a@victim.test", OURS).status == "none"


def test_the_parser_keeps_every_header_in_order() -> None:
    raw = (
        f"Authentication-Results: {OURS}; dmarc=fail\r\n"
        "Received: from x by y\r\n"
        f"Authentication-Results: {OURS};\r\n dmarc=pass\r\n"
        "From: a@victim.test\r\nSubject: s\r\n\r\nbody\r\n"
    ).encode()
    message = parse_message(raw)
    assert message.authentication_results == (f"{OURS}; dmarc=fail", f"{OURS}; dmarc=pass")
    assert judge(message.authentication_results, message.from_address, OURS).status == "fail"


# --- the per-sender cap and our Message-IDs ---------------------------------------------------------------------


def test_the_cap_counts_every_spelling_of_one_mailbox_as_one_sender() -> None:
    assert cap_key("CAP@victim.test") == cap_key("cAp@Victim.TEST") == cap_key("cap+x@victim.test") == "cap@victim.test"
    assert cap_key("c.a.p@victim.test") != cap_key("cap@victim.test")  # dots are not special
    assert cap_key(None) is None and cap_key("nobody") is None


def test_message_ids_are_unguessable_and_stable() -> None:
    first = make_message_id("receipt", "CJ", 2, "cluj@anofm.gov.ro", secret="s3cret")
    assert first == make_message_id("receipt", "CJ", 2, "cluj@anofm.gov.ro", secret="s3cret")  # a retry: the same
    assert first != make_message_id("receipt", "CJ", 2, "cluj@anofm.gov.ro", secret="other")
    assert first != make_message_id("ack", "CJ", 2, "cluj@anofm.gov.ro", secret="s3cret")
    assert ".2." not in first and "receipt" not in first and first.endswith("@anofm.gov.ro>")
    assert carries_token(first) and not carries_token("<intake.cj.2.receipt@anofm.gov.ro>")
    with pytest.raises(ValueError):
        make_message_id("receipt", "CJ", 2, "cluj@anofm.gov.ro", secret="")


def test_screening_answers_no_forged_sender_and_none_as_before() -> None:
    from intake.mailbox.screening import ScreeningContext, screen

    message = parse_message(b"From: a@victim.test\r\nSubject: Cerere\r\n\r\nBuna ziua\r\n")
    own = frozenset({"cluj@anofm.gov.ro"})
    forged = screen(message, ScreeningContext(own, 0, 10, authentication="fail", authentication_evidence="dmarc=fail"))
    assert forged.category == "submission" and not forged.reply_allowed and forged.unauthenticated
    assert "dmarc=fail" in forged.reason
    unknown = screen(message, ScreeningContext(own, 0, 10, authentication="none"))
    assert unknown.reply_allowed and not unknown.unauthenticated
    capped = screen(message, ScreeningContext(own, 10, 10, authentication="pass"))
    assert not capped.reply_allowed and capped.capped
