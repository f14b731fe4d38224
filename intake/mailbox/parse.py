"""Raw RFC 5322 / MIME bytes -> ParsedMessage (headers, bodies, attachments, defects).

Everything that arrives in the agency mailbox must end up stored and answered, recorded or quarantined
with a reason, so `parse_message` never raises: whatever is broken becomes a short entry in `defects`.
The standard library does the MIME work (`email.policy.default`); we only add the defensive layer
around the places where it raises lazily (header objects are built on first access, payloads are
decoded on demand) and the decisions specific to intake (what is a body, what is an attachment).
"""

from __future__ import annotations

import base64
import binascii
import codecs
import contextlib
import dataclasses
import email.utils
import html
import mimetypes
import quopri
import re
import types
import unicodedata
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email import policy
from email.header import decode_header, make_header
from email.message import Message
from html.parser import HTMLParser
from typing import Any

from tnefparse.tnef import TNEF

from intake.mailbox.bounded import MAX_HEADER_CHARS, parse_bounded
from intake.mailbox.header_bytes import without_surrogates

__all__ = ["Attachment", "ParsedMessage", "parse_message"]

# A mail nested deeper than this is either an attack or a loop of forwards; the parts below are
# dropped (and the fact recorded) so that the recursive walk cannot exhaust the stack.
MAX_DEPTH = 40
# MIME parts (containers included) built per message; the rest are only counted (`limits.max_parts`). 20,000
# tiny parts otherwise cost minutes of parsing and one stored document each.
MAX_PARTS = 200
MAX_FILENAME_CHARS = 200
TNEF_TYPES = frozenset({"application/ms-tnef", "application/vnd.ms-tnef"})
FORWARD_TYPES = frozenset({"message/rfc822", "message/global"})

# Charset labels seen in real mail that Python's codec registry does not know (or knows under
# another name).  Superset codecs are used where senders are known to mislabel (gb2312 -> gb18030).
CHARSET_ALIASES: Mapping[str, str] = {
    "unicode-1-1-utf-7": "utf-7",
    "utf8": "utf-8",
    "gb2312": "gb18030",
    "gbk": "gb18030",
    "iso-8859-8-i": "iso-8859-8",
    "ks_c_5601-1987": "cp949",
    "x-sjis": "shift_jis",
    "shift-jis": "shift_jis",
    "windows-874": "cp874",
    "x-mac-roman": "mac_roman",
}

# Extensions for types that mimetypes does not map, or maps to something surprising for staff.
EXTENSION_OVERRIDES: Mapping[str, str] = {
    "text/plain": ".txt",
    "text/html": ".html",
    "image/jpeg": ".jpg",
    "image/jpg": ".jpg",
    "image/pjpeg": ".jpg",
    "application/pdf": ".pdf",
    "message/rfc822": ".eml",
    "message/delivery-status": ".txt",
    "message/disposition-notification": ".txt",
    "message/feedback-report": ".txt",
    "text/rfc822-headers": ".txt",
    "application/octet-stream": ".bin",
    "application/ms-tnef": ".dat",
    "application/vnd.ms-tnef": ".dat",
}

_MSGID_RE = re.compile(r"<[^<>\s]*>")
_CONTROL_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Co", "Cn"})


@dataclass(frozen=True)
class Attachment:
    filename: str
    original_filename: str | None
    declared_type: str
    data: bytes
    origin: str  # "attachment" | "inline" | "tnef" | "forwarded"


@dataclass(frozen=True)
class ParsedMessage:
    message_id: str | None
    from_address: str | None
    from_name: str | None
    return_path: str | None
    to: tuple[str, ...]
    subject: str
    date: datetime | None
    in_reply_to: str | None
    references: tuple[str, ...]
    headers: Mapping[str, str]
    content_type: str
    text_body: str
    html_body: str | None
    attachments: tuple[Attachment, ...]
    defects: tuple[str, ...]
    # Every Authentication-Results header, top first: `headers` keeps only the first of a name, and which one of
    # several is believed is `intake.mailbox.authentication`'s decision (RFC 8601 §5).
    authentication_results: tuple[str, ...] = ()
    parts: int = 0  # MIME parts in the message, those left out included
    parts_left_out: int = 0  # parts and attachments past `max_parts`: counted, never stored
    nesting_cut: bool = False  # parts nested deeper than MAX_DEPTH were dropped


# --------------------------------------------------------------------------------------------------
# Entry point


def parse_message(raw: bytes, *, max_parts: int = MAX_PARTS) -> ParsedMessage:
    """Parse one raw message. Never raises: a message the parser cannot handle at all still yields a
    ParsedMessage (empty fields) whose `defects` say why. At most `max_parts` MIME parts are read; no string
    in the result carries a lone surrogate (they fail wherever text is encoded: SQLite, SMTP, PDF, logs)."""
    try:
        return _without_surrogates(_parse(bytes(raw), max(1, max_parts)))
    except Exception as exc:  # last line of defence, RecursionError included; the rest is handled below
        return _unparseable(f"message could not be parsed ({type(exc).__name__})")


def _without_surrogates(parsed: ParsedMessage) -> ParsedMessage:
    """Headers are decoded as they are parsed (`bounded`); this catches what any other path lets through."""
    def fix(value: Any) -> Any:
        if isinstance(value, str):
            return without_surrogates(value)
        if isinstance(value, tuple):
            return tuple(fix(item) for item in value)
        return value

    changes: dict[str, Any] = {
        name: fix(getattr(parsed, name))
        for name in (
            "message_id", "from_address", "from_name", "return_path", "to", "subject", "in_reply_to",
            "references", "content_type", "text_body", "html_body", "defects", "authentication_results",
        )
    }  # fmt: skip
    changes["headers"] = types.MappingProxyType({fix(k): fix(v) for k, v in parsed.headers.items()})
    changes["attachments"] = tuple(
        dataclasses.replace(a, filename=fix(a.filename), original_filename=fix(a.original_filename),
                            declared_type=fix(a.declared_type))
        for a in parsed.attachments
    )  # fmt: skip
    return dataclasses.replace(parsed, **changes)


def _unparseable(reason: str) -> ParsedMessage:
    return ParsedMessage(
        message_id=None,
        from_address=None,
        from_name=None,
        return_path=None,
        to=(),
        subject="",
        date=None,
        in_reply_to=None,
        references=(),
        headers=types.MappingProxyType({}),
        content_type="text/plain",
        text_body="",
        html_body=None,
        attachments=(),
        defects=(reason,),
    )


@dataclass
class _Collector:
    """Mutable state of one parse; frozen into a ParsedMessage at the end."""

    max_parts: int = MAX_PARTS
    defects: list[str] = field(default_factory=list)
    attachments: list[Attachment] = field(default_factory=list)
    text_body: str | None = None
    html_body: str | None = None
    parts: int = 0
    parts_left_out: int = 0
    nesting_cut: bool = False

    def count(self, parts: int, skipped: int, too_deep: int) -> None:
        """Account for one run of the bounded parser (the message, or a forwarded one we parse ourselves)."""
        self.parts += parts + skipped
        self.parts_left_out += skipped
        if skipped:
            self.defect(f"more than {self.max_parts} MIME parts; further parts counted, not read")
        if too_deep:
            self.nesting_cut = True
            self.defect(f"MIME nesting deeper than {MAX_DEPTH} levels; deeper parts ignored")

    def defect(self, text: str) -> None:
        if text not in self.defects:
            self.defects.append(text)


def _parse(raw: bytes, max_parts: int) -> ParsedMessage:
    out = _Collector(max_parts=max_parts)
    if not raw.strip():
        out.defect("empty message")
    msg, counts = parse_bounded(raw, max_depth=MAX_DEPTH, max_parts=max_parts)
    out.count(counts.parts, counts.skipped_parts, counts.too_deep)
    _record_mime_defects(msg, out)

    headers = _header_map(msg, out)
    from_name, from_address = _from(msg, out)
    content_type = _content_type(msg, out)

    try:
        _walk(msg, out, origin_hint=None, depth=0, main=True)
    except Exception as exc:  # keep the headers and whatever parts were collected before the failure
        out.defect(f"MIME structure only partly read ({type(exc).__name__})")
    text_body = out.text_body
    if text_body is None and out.html_body is not None:
        text_body = html_to_text(out.html_body)

    return ParsedMessage(
        message_id=_message_id(msg, out),
        from_address=from_address,
        from_name=from_name,
        return_path=_return_path(msg, out),
        to=_addresses(msg, "to", out),
        subject=_header_str(msg, "subject", out) or "",
        date=_date(msg, out),
        in_reply_to=_first_msgid(_header_str(msg, "in-reply-to", out)),
        references=_all_msgids(_header_str(msg, "references", out)),
        headers=headers,
        content_type=content_type,
        text_body=text_body or "",
        html_body=out.html_body,
        attachments=tuple(out.attachments),
        defects=tuple(out.defects),
        authentication_results=_all_header_values(msg, "authentication-results"),
        parts=out.parts,
        parts_left_out=out.parts_left_out,
        nesting_cut=out.nesting_cut,
    )


# --------------------------------------------------------------------------------------------------
# Headers
#
# With the modern policy a header object is only built when it is read, and some real mails make that
# raise (odd groups, bad encoded words, impossible dates).  Every read goes through `_header_str`,
# which falls back to the raw stored value (what compat32 would have returned), decoded by hand.


def _header_str(msg: Message, name: str, out: _Collector) -> str | None:
    """Decoded value of the first `name` header, or None if absent."""
    try:
        value = msg.get(name)
        return None if value is None else _clean_header_text(str(value))
    except Exception:
        out.defect(f"unreadable {name} header")
    raw = _raw_header(msg, name)
    return None if raw is None else _decode_raw_header(raw)


def _header_obj(msg: Message, name: str) -> Any:
    """The policy's header object (with .addresses, .datetime), or None if absent or unreadable."""
    try:
        return msg.get(name)
    except Exception:
        return None


def _raw_header(msg: Message, name: str) -> str | None:
    try:
        for key, value in msg.raw_items():
            if key.lower() == name:
                return value if isinstance(value, str) else str(value)
    except Exception:
        return None
    return None


def _all_header_values(msg: Message, name: str) -> tuple[str, ...]:
    """Every top-level `name` header in order, top first, unfolded; undecodable bytes kept as text."""
    try:
        return tuple(
            _clean_header_text(value if isinstance(value, str) else str(value))
            for key, value in msg.raw_items()
            if key.lower() == name
        )
    except Exception:
        return ()


def _decode_raw_header(raw: str) -> str:
    """What compat32 would give us, plus RFC 2047 decoding where it works."""
    text = _unescape_surrogates(raw)
    # On failure keep the undecoded text: staff can still read it.
    with contextlib.suppress(Exception):
        text = str(make_header(decode_header(text)))
    return _clean_header_text(text)


def _unescape_surrogates(text: str) -> str:
    """Undeclared 8-bit bytes the parser kept as surrogate escapes (headers are decoded while parsing; this is
    for parameters and forwarded parts): UTF-8 first, Western last (`header_bytes`)."""
    if not any("\udc80" <= ch <= "\udcff" for ch in text):
        return text
    return without_surrogates(text)


def _clean_header_text(text: str) -> str:
    text = _unescape_surrogates(text)
    text = re.sub(r"[\r\n]+[ \t]*", " ", text)
    # U+2028/U+2029 are line breaks to str.splitlines(), and the email package refuses them in headers we write.
    text = "".join(" " if unicodedata.category(ch) in {"Zl", "Zp"} else ch for ch in text)
    return "".join(ch for ch in text if ch == "\t" or unicodedata.category(ch) not in {"Cc", "Cs"}).strip()


def _header_map(msg: Message, out: _Collector) -> Mapping[str, str]:
    """All top-level headers, lower-cased name -> decoded value; the first occurrence wins because
    the topmost header is the one the last (our own) MTA added or the one the sender meant."""
    result: dict[str, str] = {}
    try:
        items = list(msg.raw_items())
    except Exception:
        out.defect("unreadable header block")
        items = []
    names = [key.lower() for key, _ in items]
    for key, value in items:
        if len(value) > MAX_HEADER_CHARS:
            out.defect(f"{key} header of {len(value)} characters cut to {MAX_HEADER_CHARS}")
    for name in names:
        if name not in result:
            result[name] = _header_str(msg, name, out) or ""
    return types.MappingProxyType(result)


def _from(msg: Message, out: _Collector) -> tuple[str | None, str | None]:
    """(display name, bare address) of the first From mailbox."""
    if _raw_header(msg, "from") is None:
        out.defect("missing From")
        return None, None
    pairs = _address_pairs(msg, "from")
    if not pairs:
        out.defect("unparseable From")
        return None, None
    name, addr = pairs[0]
    if not addr:
        out.defect("unparseable From")
    return (name or None), addr


def _addresses(msg: Message, name: str, out: _Collector) -> tuple[str, ...]:
    return tuple(addr for _, addr in _address_pairs(msg, name) if addr)


def _address_pairs(msg: Message, name: str) -> list[tuple[str, str | None]]:
    """[(display name, bare address or None)] from the policy's parser, else from parseaddr."""
    header = _header_obj(msg, name)
    try:
        if header is not None and hasattr(header, "addresses"):
            pairs = [(_clean_header_text(a.display_name), _bare_address(a.addr_spec)) for a in header.addresses]
            if any(addr for _, addr in pairs):
                return pairs
    except Exception:
        pass
    raw = _raw_header(msg, name)
    if raw is None:
        return []
    try:
        found = email.utils.getaddresses([_decode_raw_header(raw)])
    except Exception:
        return []
    return [(_clean_header_text(n), _bare_address(a)) for n, a in found if n or a]


def _bare_address(addr_spec: str) -> str | None:
    """Local part as sent, domain lower-cased; None unless it looks like local@domain."""
    addr = addr_spec.strip().strip("<>").strip()
    local, at, domain = addr.rpartition("@")
    if not at or not local or not domain or any(ch.isspace() for ch in domain):
        return None
    if any(ch.isspace() for ch in local) and not local.startswith('"'):
        return None  # whitespace is only legal inside a quoted local part
    if any(unicodedata.category(ch) in _CONTROL_CATEGORIES or ch in "\u2028\u2029" for ch in addr):
        return None  # not an address anyone can be answered at, and it would break the To of our reply
    return f"{local}@{domain.lower()}"


def _return_path(msg: Message, out: _Collector) -> str | None:
    raw = _raw_header(msg, "return-path")
    if raw is None:
        return None
    value = _clean_header_text(_unescape_surrogates(raw))
    match = re.search(r"<([^<>]*)>", value)
    return (match.group(1) if match else value).strip()


def _date(msg: Message, out: _Collector) -> datetime | None:
    if _raw_header(msg, "date") is None:
        out.defect("missing Date")
        return None
    value: datetime | None = None
    try:
        value = getattr(msg.get("date"), "datetime", None)
    except Exception:
        value = None
    if value is None:
        try:
            value = email.utils.parsedate_to_datetime(_decode_raw_header(_raw_header(msg, "date") or ""))
        except Exception:
            value = None
    if value is None:
        out.defect("unparseable Date")
        return None
    if value.tzinfo is None:
        # RFC 5322 "-0000": the time is UTC, the sender's zone unknown.
        value = value.replace(tzinfo=UTC)
    return value


def _message_id(msg: Message, out: _Collector) -> str | None:
    value = _first_msgid(_header_str(msg, "message-id", out))
    if value is None:
        out.defect("missing Message-ID")
    return value


def _first_msgid(value: str | None) -> str | None:
    ids = _all_msgids(value)
    return ids[0] if ids else None


def _all_msgids(value: str | None) -> tuple[str, ...]:
    if value is None or not value.strip():
        return ()
    found = _MSGID_RE.findall(value)
    if found:
        return tuple(found)
    # Some senders omit the brackets; keep the token so threading still has something to match.
    return tuple(f"<{token}>" for token in value.split())


def _content_type(part: Message, out: _Collector) -> str:
    try:
        return part.get_content_type().lower()
    except Exception:
        out.defect("unreadable Content-Type")
    raw = _raw_header(part, "content-type") or "text/plain"
    ctype = raw.split(";", 1)[0].strip().lower()
    return ctype if re.fullmatch(r"[\w.+-]+/[\w.+-]+", ctype) else "text/plain"


def _record_mime_defects(part: Message, out: _Collector) -> None:
    for defect in getattr(part, "defects", ()) or ():
        words = re.sub(r"(?<!^)(?=[A-Z])", " ", type(defect).__name__.removesuffix("Defect")).lower()
        out.defect(f"MIME defect: {words}")


# --------------------------------------------------------------------------------------------------
# MIME tree


def _walk(part: Message, out: _Collector, origin_hint: str | None, depth: int, main: bool) -> None:
    """Visit `part` and its children. `main` is True while inside the message itself (not a forwarded
    one): only there are text parts taken as bodies. `origin_hint` is "forwarded" below a
    message/rfc822."""
    if depth > MAX_DEPTH:
        out.defect(f"MIME nesting deeper than {MAX_DEPTH} levels; deeper parts ignored")
        return
    if depth:
        _record_mime_defects(part, out)
    ctype = _content_type(part, out)
    if ctype in FORWARD_TYPES:
        for sub in _encoded_message(part, out, depth):
            _walk(sub, out, "forwarded", depth + 1, main=False)
        return
    if ctype.startswith("multipart/") or (_is_container(part) and not ctype.startswith("message/")):
        for sub in _children(part):
            _walk(sub, out, origin_hint, depth + 1, main)
        return
    _leaf(part, ctype, out, origin_hint, main)


def _encoded_message(part: Message, out: _Collector, depth: int) -> list[Message]:
    """The forwarded message(s) inside a message/rfc822 part. One sent base64- or qp-encoded (forbidden
    by RFC 2046, done by some webmails) reaches us as a headerless blob of encoded text: decode it and
    parse it ourselves."""
    children = list(_children(part)) if _is_container(part) else []
    cte = str(_raw_header(part, "content-transfer-encoding") or "").strip().lower()
    if cte not in ("base64", "quoted-printable"):
        return children
    try:
        encoded = _encoded_text(part, children)
        data = base64.b64decode(encoded) if cte == "base64" else quopri.decodestring(encoded)
    except Exception:
        out.defect("undecodable encoded message/rfc822 part")
        return children
    out.defect("encoded message/rfc822 part")
    # Parsed within what is left of the message's budgets, so encoding cannot be used to get past them.
    budget = max(1, out.max_parts - out.parts)
    inner, counts = parse_bounded(data, max_depth=max(0, MAX_DEPTH - depth - 1), max_parts=budget)
    out.count(counts.parts, counts.skipped_parts, counts.too_deep)
    return [inner]


def _encoded_text(part: Message, children: list[Message]) -> bytes:
    source = children[0] if children and not list(children[0].raw_items()) else part
    payload = source.get_payload()
    return payload.encode("ascii", "ignore") if isinstance(payload, str) else b""


def _is_container(part: Message) -> bool:
    try:
        return part.is_multipart()
    except Exception:
        return False


def _children(part: Message) -> Iterator[Message]:
    try:
        payload = part.get_payload()
    except Exception:
        return iter(())
    if isinstance(payload, list):
        return iter([p for p in payload if isinstance(p, Message)])
    return iter(())


def _leaf(part: Message, ctype: str, out: _Collector, origin_hint: str | None, main: bool) -> None:
    disposition = _disposition(part)
    original = _original_filename(part, out)
    is_text_body = ctype in ("text/plain", "text/html") and disposition != "attachment" and original is None
    if is_text_body and _take_as_body(part, ctype, out, main):
        return
    if is_text_body and not main:
        return  # the text of a forwarded message is not ours to register
    data = _payload_bytes(part, out)
    is_tnef = ctype in TNEF_TYPES or (original or "").strip().lower() == "winmail.dat"
    if is_tnef and _unpack_tnef(data, out):
        return
    _add_attachment(out, original, ctype, data, origin_hint or _origin(ctype, disposition))


def _origin(ctype: str, disposition: str | None) -> str:
    # Images without a disposition are the cid-referenced pictures of multipart/related.
    if disposition == "inline" or (disposition is None and ctype.startswith("image/")):
        return "inline"
    return "attachment"


def _take_as_body(part: Message, ctype: str, out: _Collector, main: bool) -> bool:
    """Use the part as (a piece of) the main text or HTML body."""
    if not main:
        return False
    # Apple Mail and phones split one body around inline pictures into several unnamed text parts: they are
    # all the sender's text, not attachments to be rejected as a forbidden file type.
    if ctype == "text/plain":
        text = _decode_text(part, out)
        out.text_body = text if out.text_body is None else f"{out.text_body}\n\n{text}"
        return True
    if ctype == "text/html":
        markup = _decode_text(part, out)
        out.html_body = markup if out.html_body is None else f"{out.html_body}\n{markup}"
        return True
    return False


def _disposition(part: Message) -> str | None:
    try:
        value = part.get_content_disposition()
    except Exception:
        raw = _raw_header(part, "content-disposition")
        value = raw.split(";", 1)[0].strip().lower() if raw else None
    return value or None


def _original_filename(part: Message, out: _Collector) -> str | None:
    """The name as the sender gave it (RFC 2231 / RFC 2047 decoded), before any sanitising."""
    try:
        name = part.get_filename()
    except Exception:
        out.defect("unreadable attachment filename")
        name = _raw_filename(part)
    if name is None:
        return None
    name = _unescape_surrogates(str(name))
    if "=?" in name:
        # Not allowed by RFC 2047 inside a parameter, but what Outlook and most webmails send.
        try:
            name = str(make_header(decode_header(name)))
        except Exception:
            out.defect("undecodable encoded word in filename")
    return unicodedata.normalize("NFC", name)


def _raw_filename(part: Message) -> str | None:
    for header, param in (("content-disposition", "filename"), ("content-type", "name")):
        raw = _raw_header(part, header) or ""
        match = re.search(rf'{param}\s*=\s*"?([^";]+)"?', raw, re.IGNORECASE)
        if match:
            return match.group(1)
    return None


def _payload_bytes(part: Message, out: _Collector) -> bytes:
    """Transfer-decoded payload. Opaque message/* leaves (delivery-status, partial, ...) are flattened
    back to bytes so they can be stored like any other attachment."""
    decoded = _base64_payload(part)
    if decoded is not None:
        return decoded
    try:
        payload = part.get_payload(decode=True)
    except Exception:
        out.defect("undecodable part payload")
        return b""
    if isinstance(payload, bytes):
        return payload
    try:
        subparts = part.get_payload()
        if isinstance(subparts, list):
            return b"\n".join(_flatten(p) for p in subparts if isinstance(p, Message))
        if isinstance(subparts, str):
            return subparts.encode("utf-8", "surrogateescape")
    except Exception:
        out.defect("unserialisable message part")
    return b""


def _base64_payload(part: Message) -> bytes | None:
    """A base64 leaf decoded in one step, with the result the library's `get_payload(decode=True)` gives.

    The library splits the text into lines, joins them and copies the whole once more before decoding: about 4.5
    times the part in memory at once (116 MB for a 25 MB attachment, the largest single cost of a big message).
    `a2b_base64` skips the line breaks itself; it is the library's own fallback for text that is not strict
    base64, and on strict base64 both agree. None (the library decodes it) for anything else, and for text
    `a2b_base64` refuses (bad padding: the library has repairs for that)."""
    if part.is_multipart() or str(part.get("content-transfer-encoding", "")).strip().lower() != "base64":
        return None
    payload = part.get_payload()
    if not isinstance(payload, str):
        return None
    try:
        return binascii.a2b_base64(payload.encode("ascii", "surrogateescape"))
    except (binascii.Error, ValueError, UnicodeError):
        return None


def _flatten(part: Message) -> bytes:
    try:
        return part.as_bytes(policy=policy.compat32)
    except UnicodeError:
        # Headers decoded from 8-bit bytes are text now, which the binary generator refuses; UTF-8 it is.
        return part.as_string(policy=policy.compat32).encode("utf-8", "surrogateescape")


def _decode_text(part: Message, out: _Collector) -> str:
    data = _payload_bytes(part, out)
    try:
        charset = part.get_content_charset()
    except Exception:
        charset = None
    return decode_bytes(data, charset, out)


def decode_bytes(data: bytes, charset: str | None, out: _Collector | None = None) -> str:
    """Decode text in its declared charset; unknown or lying charsets never raise, they degrade to
    UTF-8 or replacement characters and leave a defect behind."""
    label = (charset or "").strip().strip('"').lower()
    codec = _codec(label) if label else "us-ascii"
    if codec is None and out is not None:
        out.defect(f"undecodable charset {label[:40]}")
    for candidate in (codec, "utf-8"):
        if candidate is None:
            continue
        try:
            return data.decode(candidate)
        except (UnicodeDecodeError, LookupError, ValueError):
            continue
    if out is not None and codec is not None:
        out.defect(f"text not valid in its charset {label or 'us-ascii'}")
    # cp1252 maps (nearly) every byte, which beats a wall of replacement characters for 8-bit mail.
    return data.decode("cp1252" if codec in (None, "us-ascii") else codec, "replace")


def _codec(label: str) -> str | None:
    name = CHARSET_ALIASES.get(label, label)
    try:
        return codecs.lookup(name).name
    except LookupError:
        return None


# --------------------------------------------------------------------------------------------------
# Attachments


def _add_attachment(out: _Collector, original: str | None, declared_type: str, data: bytes, origin: str) -> None:
    if len(out.attachments) >= out.max_parts:
        # A winmail.dat can hold any number of files: they count against the same cap as MIME parts.
        out.parts_left_out += 1
        out.defect(f"more than {out.max_parts} attachments; further ones counted, not kept")
        return
    number = len(out.attachments) + 1
    out.attachments.append(
        Attachment(
            filename=safe_filename(original, declared_type, number),
            original_filename=original,
            declared_type=declared_type,
            data=data,
            origin=origin,
        )
    )


def safe_filename(original: str | None, declared_type: str, number: int) -> str:
    """A display name that is safe to show and to use as the last component of a path:
    no directories, no control or bidi-override characters, no leading dot, at most ~200 chars."""
    name = unicodedata.normalize("NFC", original or "")
    components = [part for part in re.split(r"[/\\]", name) if part.strip()]
    name = components[-1] if components else ""
    # Control characters (CR, LF and TAB included) go; other Unicode spaces become plain spaces.
    name = "".join(" " if ch.isspace() else ch for ch in name if unicodedata.category(ch) not in _CONTROL_CATEGORIES)
    name = re.sub(r" {2,}", " ", name).strip().lstrip(".").strip().rstrip(". ")
    if not name:
        return f"atasament-{number}{_extension_for(declared_type)}"
    return _truncate(name, MAX_FILENAME_CHARS)


def _truncate(name: str, limit: int) -> str:
    if len(name) <= limit:
        return name
    stem, dot, ext = name.rpartition(".")
    if dot and stem and 0 < len(ext) <= 16:
        return stem[: limit - len(ext) - 1].rstrip() + "." + ext
    return name[:limit].rstrip()


def _extension_for(declared_type: str) -> str:
    if declared_type in EXTENSION_OVERRIDES:
        return EXTENSION_OVERRIDES[declared_type]
    return mimetypes.guess_extension(declared_type, strict=False) or ".bin"


# --------------------------------------------------------------------------------------------------
# Outlook TNEF (winmail.dat)


def _unpack_tnef(data: bytes, out: _Collector) -> bool:
    """Add the files inside a winmail.dat. Returns False if it cannot be decoded, in which case the
    caller keeps it as one opaque attachment so the validator rejects it with a visible reason."""
    files, body = unpack_tnef(data)
    if files is None:
        out.defect("undecodable TNEF (winmail.dat) attachment")
        return False
    for name, ctype, payload in files:
        _add_attachment(out, name, ctype, payload, "tnef")
    if body and out.text_body is None:
        out.text_body = body
    if not files and not body:
        # Usually an RTF-only body that the MIME text part repeats; say so in case it does not.
        out.defect("winmail.dat held no files and no readable body")
    return True


def unpack_tnef(data: bytes) -> tuple[list[tuple[str | None, str, bytes]] | None, str | None]:
    """([(original name, type, bytes)], plain-text body) of a TNEF blob; (None, None) if undecodable.
    Public because tests and tools feed raw winmail.dat blobs to it directly."""
    try:
        tnef = TNEF(data, do_checksum=False)
    except Exception:
        return None, None
    files: list[tuple[str | None, str, bytes]] = []
    try:
        _tnef_files(tnef, files, depth=0)
    except Exception:
        return None, None
    return _unique(files), _tnef_body(tnef)


def _unique(files: list[tuple[str | None, str, bytes]]) -> list[tuple[str | None, str, bytes]]:
    """Outlook repeats a picture in every embedded item that shows it; staff need it once."""
    seen: set[tuple[str | None, bytes]] = set()
    result = []
    for name, ctype, data in files:
        if (name, data) not in seen:
            seen.add((name, data))
            result.append((name, ctype, data))
    return result


def _tnef_files(tnef: TNEF, files: list[tuple[str | None, str, bytes]], depth: int) -> None:
    for att in tnef.attachments:
        embedded = getattr(att, "embed", None)
        if embedded is not None and depth < 3:
            # An attached Outlook item: its own files are what the citizen meant to send.
            _tnef_files(embedded, files, depth + 1)
            continue
        name = _tnef_text(_safe_call(att.long_filename)) or None
        data = att.data if isinstance(att.data, bytes) else b""
        files.append((name, _tnef_type(att, name), data))


def _tnef_type(att: Any, name: str | None) -> str:
    for prop in getattr(att, "mapi_attrs", ()):
        if getattr(prop, "name", None) == 0x370E:  # PR_ATTACH_MIME_TAG
            tag = _tnef_text(prop.data).lower()
            if re.fullmatch(r"[\w.+-]+/[\w.+-]+", tag):
                return tag
    guessed = mimetypes.guess_type(name or "", strict=False)[0]
    return guessed or "application/octet-stream"


def _tnef_body(tnef: TNEF) -> str | None:
    body = _tnef_text(getattr(tnef, "body", None))
    if body.strip():
        return body
    html_body = _tnef_text(getattr(tnef, "htmlbody", None))
    # RTF-only bodies would need the compressed_rtf package; they are left to staff.
    return html_to_text(html_body) if html_body.strip() else None


def _tnef_text(value: Any) -> str:
    if isinstance(value, list | tuple):
        value = value[0] if value else ""
    if isinstance(value, bytes):
        value = decode_bytes(value, "utf-8")
    return str(value or "").strip("\x00").strip()


def _safe_call(func: Any) -> Any:
    try:
        return func()
    except Exception:
        return None


# --------------------------------------------------------------------------------------------------
# HTML -> text (for HTML-only mails; nothing is ever rendered or executed)


class _TextExtractor(HTMLParser):
    BLOCKS = frozenset(
        {
            "p",
            "div",
            "br",
            "tr",
            "li",
            "h1",
            "h2",
            "h3",
            "h4",
            "h5",
            "h6",
            "table",
            "blockquote",
            "pre",
            "hr",
            "ul",
            "ol",
            "section",
            "article",
            "header",
            "footer",
        }
    )
    SKIP = frozenset({"script", "style", "head", "title", "template", "noscript"})

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.chunks: list[str] = []
        self.skipping = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in self.SKIP:
            self.skipping += 1
        elif tag in self.BLOCKS:
            self.chunks.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in self.SKIP:
            self.skipping = max(0, self.skipping - 1)
        elif tag in self.BLOCKS:
            self.chunks.append("\n")

    def handle_data(self, data: str) -> None:
        if not self.skipping:
            self.chunks.append(data)


def html_to_text(markup: str) -> str:
    try:
        parser = _TextExtractor()
        parser.feed(markup)
        parser.close()
        text = "".join(parser.chunks)
    except Exception:
        text = html.unescape(re.sub(r"<[^>]*>", " ", markup))
    lines = (re.sub(r"[ \t\u00a0]+", " ", line).strip() for line in text.splitlines())
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()
