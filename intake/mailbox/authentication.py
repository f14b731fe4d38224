"""What the agency's own mail server recorded about the sender: `Authentication-Results` (RFC 8601).

The From of an e-mail is not authenticated; whoever wrote it can put any address there. The agency's MX checks
SPF, DKIM and DMARC on arrival and writes the outcome into an `Authentication-Results` header that starts with
its authserv-id (configuration `imap.authserv_id`). Only that header is evidence:

- RFC 8601 §5: a header with any other authserv-id may have been written by anyone and is ignored;
- one with our authserv-id may have been forged too, placed in the message by the attacker *below* the one our
  MX prepends (the MX should remove such headers on arrival, §5, but we do not rely on it): only the topmost
  header carrying our authserv-id is believed, and a malformed one counts as no evidence rather than letting a
  lower one speak;
- a message without any header of ours is "none", not a failure (the MX may not be set up yet, or the mail came
  another way).

The verdict (`judge`):

- `fail`: DMARC failed (RFC 7489 §6.6.2), or SPF failed and no DKIM signature passed: the From is very probably
  forged, so intake answers nothing (it would relay our signed reply to a third party) and books nothing;
- `pass`: DMARC passed for the From domain, or a DKIM signature passed whose d= is aligned with the From domain
  (relaxed alignment, RFC 7489 §3.1.1): the From is the sender's, so a follow-up may change that person's case;
- `none`: anything else (no header of ours, only SPF, a neutral or temporary result, DKIM of another domain).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum

__all__ = [
    "Authentication",
    "AuthenticationResults",
    "MalformedHeader",
    "MethodResult",
    "SenderAuthentication",
    "aligned",
    "judge",
    "parse_authentication_results",
]


class Authentication(StrEnum):
    PASS = "pass"
    FAIL = "fail"
    NONE = "none"


@dataclass(frozen=True)
class MethodResult:
    """One `method=result` of a header, e.g. dkim=pass reason="good signature" header.d=example.com."""

    method: str  # lower case, method-version dropped ("dkim/1" -> "dkim")
    result: str  # lower case
    reason: str | None = None
    properties: Mapping[str, str] = field(default_factory=dict)  # "header.d" -> "example.com"; ptype.property lower


@dataclass(frozen=True)
class AuthenticationResults:
    authserv_id: str
    version: int | None = None
    results: tuple[MethodResult, ...] = ()  # empty for "; none" (RFC 8601 §2.2: no method was applied)


@dataclass(frozen=True)
class SenderAuthentication:
    status: Authentication
    evidence: str  # for staff: the results believed ("dmarc=fail spf=fail"), or why there are none
    dkim_aligned: bool = False


class MalformedHeader(ValueError):
    pass


# --- the lexer: RFC 8601 §2.2 uses RFC 5322 CFWS, quoted-string and RFC 2045 tokens ---------------------------

_SPECIALS = frozenset(';=()"')


def _tokens(text: str) -> list[tuple[str, str]]:
    """(kind, text) pairs: ("sep", ";" or "="), ("word", atom), ("quoted", unescaped string). Comments, which may
    nest and hold quoted pairs (RFC 5322 §3.2.2), and whitespace are dropped."""
    tokens: list[tuple[str, str]] = []
    i, n = 0, len(text)
    while i < n:
        ch = text[i]
        if ch.isspace():
            i += 1
        elif ch == "(":
            i = _skip_comment(text, i)
        elif ch in ";=":
            tokens.append(("sep", ch))
            i += 1
        elif ch == '"':
            value, i = _quoted(text, i)
            tokens.append(("quoted", value))
        elif ch == ")":
            raise MalformedHeader("unbalanced ')'")
        else:
            start = i
            while i < n and not text[i].isspace() and text[i] not in _SPECIALS:
                i += 1
            tokens.append(("word", text[start:i]))
    return tokens


def _skip_comment(text: str, i: int) -> int:
    depth = 0
    while i < len(text):
        ch = text[i]
        if ch == "\\":
            i += 2
            continue
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
            if depth == 0:
                return i + 1
        i += 1
    raise MalformedHeader("unterminated comment")


def _quoted(text: str, i: int) -> tuple[str, int]:
    out: list[str] = []
    i += 1
    while i < len(text):
        ch = text[i]
        if ch == "\\" and i + 1 < len(text):
            out.append(text[i + 1])
            i += 2
        elif ch == '"':
            return "".join(out), i + 1
        else:
            out.append(ch)
            i += 1
    raise MalformedHeader("unterminated quoted string")


# --- the grammar (RFC 8601 §2.2) -------------------------------------------------------------------------------


class _Reader:
    def __init__(self, tokens: list[tuple[str, str]]) -> None:
        self.tokens = tokens
        self.at = 0

    def peek(self) -> tuple[str, str] | None:
        return self.tokens[self.at] if self.at < len(self.tokens) else None

    def take(self) -> tuple[str, str]:
        token = self.peek()
        if token is None:
            raise MalformedHeader("header ends too early")
        self.at += 1
        return token

    def value(self) -> str:
        kind, text = self.take()
        if kind == "sep":
            raise MalformedHeader(f"a value was expected, not {text!r}")
        return text

    def expect(self, sep: str) -> None:
        if self.take() != ("sep", sep):
            raise MalformedHeader(f"{sep!r} expected")

    def at_sep(self, sep: str) -> bool:
        return self.peek() == ("sep", sep)


def authserv_id_of(value: str) -> str | None:
    """The authserv-id a header starts with, lower case; None when even that cannot be read. Only the part before
    the first ";" is read, so a header of ours that is broken further on is still recognised as ours (and then
    counts as no evidence, rather than letting a lower one speak)."""
    try:
        tokens = _tokens(value.partition(";")[0])
    except MalformedHeader:
        return None
    if not tokens or tokens[0][0] == "sep":
        return None
    return tokens[0][1].strip().lower() or None


def parse_authentication_results(value: str) -> AuthenticationResults:
    """Parse one header value (without the field name). Raises MalformedHeader."""
    reader = _Reader(_tokens(value))
    authserv_id = reader.value()
    version = None
    token = reader.peek()
    if token is not None and token[0] == "word" and token[1].isdigit():
        version = int(reader.take()[1])
    if reader.peek() is None:
        raise MalformedHeader("no result")
    results: list[MethodResult] = []
    while reader.peek() is not None:
        reader.expect(";")
        if reader.peek() is None:
            break  # a trailing ";" is common in the wild and harmless
        kind, text = reader.peek() or ("", "")
        if kind == "word" and text.lower() == "none" and not results and _ends_after_one(reader):
            reader.take()
            return AuthenticationResults(authserv_id, version, ())
        results.append(_resinfo(reader))
    return AuthenticationResults(authserv_id, version, tuple(results))


def _ends_after_one(reader: _Reader) -> bool:
    return reader.at + 1 >= len(reader.tokens)


def _resinfo(reader: _Reader) -> MethodResult:
    method = reader.value().split("/", 1)[0].strip().lower()
    reader.expect("=")
    result = reader.value().lower()
    reason = None
    properties: dict[str, str] = {}
    while reader.peek() is not None and not reader.at_sep(";"):
        name = reader.value()
        reader.expect("=")
        value = reader.value()
        if name.lower() == "reason":
            reason = value
        elif "." in name:
            ptype, _, prop = name.partition(".")
            properties.setdefault(f"{ptype.lower()}.{prop.lower()}", value)
        else:
            raise MalformedHeader(f"unexpected {name!r}")
    if not method or not result:
        raise MalformedHeader("empty method or result")
    return MethodResult(method, result, reason, properties)


# --- the verdict ---------------------------------------------------------------------------------------------


def ours(headers: Sequence[str], authserv_id: str) -> str | None:
    """The topmost header whose authserv-id is ours (RFC 8601 §5), or None. `headers` top to bottom."""
    wanted = authserv_id.strip().lower()
    if not wanted:
        return None
    for value in headers:
        if authserv_id_of(value) == wanted:
            return value
    return None


def judge(headers: Sequence[str], from_address: str | None, authserv_id: str) -> SenderAuthentication:
    """The verdict on the From of a message, from its `Authentication-Results` headers in order, top first."""
    if not authserv_id.strip():
        return SenderAuthentication(Authentication.NONE, "imap.authserv_id not configured")
    value = ours(headers, authserv_id)
    if value is None:
        return SenderAuthentication(Authentication.NONE, f"no Authentication-Results of {authserv_id}")
    try:
        parsed = parse_authentication_results(value)
    except MalformedHeader as exc:
        # Never fall back to a lower header: that is exactly where a forged one would be.
        return SenderAuthentication(Authentication.NONE, f"Authentication-Results of {authserv_id} unreadable: {exc}")
    return _verdict(parsed.results, _domain(from_address))


def _verdict(results: tuple[MethodResult, ...], from_domain: str | None) -> SenderAuthentication:
    evidence = " ".join(f"{r.method}={r.result}" for r in results) or "none"
    dmarc = [r for r in results if r.method == "dmarc" and _about(r, from_domain)]
    dkim_pass = [r for r in results if r.method == "dkim" and r.result == "pass"]
    aligned_dkim = any(aligned(_dkim_domain(r), from_domain) for r in dkim_pass)
    if any(r.result == "fail" for r in dmarc):
        return SenderAuthentication(Authentication.FAIL, evidence)
    if any(r.result == "pass" for r in dmarc) or aligned_dkim:
        return SenderAuthentication(Authentication.PASS, evidence, dkim_aligned=aligned_dkim)
    spf_fail = any(r.method == "spf" and r.result == "fail" for r in results)
    if spf_fail and not dkim_pass:
        return SenderAuthentication(Authentication.FAIL, evidence)
    return SenderAuthentication(Authentication.NONE, evidence)


def _about(result: MethodResult, from_domain: str | None) -> bool:
    """A DMARC result speaks about our From only if its header.from (when given) is our From's domain: with two
    From headers the MX and we could otherwise be looking at different ones."""
    named = result.properties.get("header.from")
    return named is None or _clean(named) == from_domain


def _dkim_domain(result: MethodResult) -> str | None:
    if "header.d" in result.properties:
        return _clean(result.properties["header.d"])
    identity = result.properties.get("header.i")  # the AUID lies in d= or below it (RFC 6376 §3.5)
    return _clean(identity.rpartition("@")[2]) if identity else None


def aligned(signing_domain: str | None, from_domain: str | None) -> bool:
    """Relaxed alignment (RFC 7489 §3.1.1): the same Organizational Domain. Without the Public Suffix List we
    accept the same domain, or one a parent of the other when the parent has at least two labels; siblings
    (a.example.ro and b.example.ro) are not aligned here, which errs on the safe side (DMARC pass covers them)."""
    if not signing_domain or not from_domain:
        return False
    if signing_domain == from_domain:
        return True
    shorter, longer = sorted((signing_domain, from_domain), key=len)
    return shorter.count(".") >= 1 and longer.endswith("." + shorter)


def _domain(address: str | None) -> str | None:
    if not address or "@" not in address:
        return None
    return _clean(address.rpartition("@")[2])


def _clean(domain: str) -> str | None:
    return domain.strip().strip("<>").rstrip(".").lower() or None
