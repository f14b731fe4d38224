"""Signed, expiring links to reschedule or cancel an appointment without an account.

A token is base64url(payload || HMAC-SHA256(key, payload)), without padding. The payload is fixed-size
binary: a version byte, the appointment id, its SEQUENCE when the link was issued and the expiry in epoch
seconds. Nothing secret is in it (an id and a date), so it is signed, not encrypted.

The HMAC key is derived from the web secret with a purpose label, so a token made for this link can never
be replayed as any other signed value the web app may use with the same secret. `seal` and `unseal` are that
signer for any fixed-size payload and purpose: the case status link (`intake.case_link`) uses them too.

A token issued for an older SEQUENCE still reads here: the caller compares it with the appointment and
refuses a stale link (the beneficiary then gets the newest link by e-mail), which this module cannot know.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import struct
from datetime import UTC, datetime

_VERSION = 1
_PAYLOAD = struct.Struct(">BQIq")  # version, appointment id, sequence, expiry (epoch seconds)
_MAC_SIZE = hashlib.sha256().digest_size
_TOKEN_CHARS = re.compile(r"[A-Za-z0-9_-]+")
_PURPOSE = b"intake/appointment-link/v1"


class TokenError(Exception):
    """The link cannot be used."""


class TokenExpired(TokenError):
    """Genuine, but past its validity."""


class TokenInvalid(TokenError):
    """Malformed, tampered with, or signed with another secret."""


def make_token(appointment_id: int, sequence: int, expires_at: datetime, secret: str) -> str:
    if expires_at.tzinfo is None or expires_at.utcoffset() is None:
        raise ValueError("expires_at must be timezone-aware")
    try:
        payload = _PAYLOAD.pack(_VERSION, appointment_id, sequence, int(expires_at.timestamp()))
    except struct.error as exc:
        raise ValueError(f"appointment id or sequence out of range: {exc}") from exc
    return seal(payload, secret, _PURPOSE)


def read_token(token: str, secret: str, now: datetime) -> tuple[int, int]:
    """(appointment id, sequence) of a genuine, unexpired token; otherwise TokenExpired or TokenInvalid."""
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError("now must be timezone-aware")
    payload = unseal(token, secret, _PURPOSE, _PAYLOAD.size)
    version, appointment_id, sequence, expires = _PAYLOAD.unpack(payload)
    if version != _VERSION:
        raise TokenInvalid(f"unknown token version {version}")
    if now.astimezone(UTC).timestamp() >= expires:
        raise TokenExpired("link expired")
    return appointment_id, sequence


def seal(payload: bytes, secret: str, purpose: bytes) -> str:
    """base64url(payload || HMAC) under a key for `purpose` alone."""
    if not secret:
        # An empty key would make every link forgeable: refuse rather than issue one.
        raise ValueError("the web secret key is not configured")
    return _encode(payload + _sign(payload, secret, purpose))


def unseal(token: str, secret: str, purpose: bytes, payload_size: int) -> bytes:
    """The payload of a genuine token sealed for `purpose`; TokenInvalid for anything else."""
    raw = _decode(token, payload_size + _MAC_SIZE)
    payload, mac = raw[:payload_size], raw[payload_size:]
    # An empty secret signs nothing we issued (seal refuses it), so nothing can verify against it.
    if not secret or not hmac.compare_digest(mac, _sign(payload, secret, purpose)):
        raise TokenInvalid("signature does not match")
    return payload


def _sign(payload: bytes, secret: str, purpose: bytes) -> bytes:
    key = hmac.new(secret.encode("utf-8"), purpose, hashlib.sha256).digest()
    return hmac.new(key, payload, hashlib.sha256).digest()


def _encode(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def _decode(token: object, size: int) -> bytes:
    # Check shape before decoding: the standard decoder silently skips characters it does not know.
    if not isinstance(token, str) or not _TOKEN_CHARS.fullmatch(token):
        raise TokenInvalid("not a token")
    if len(token) != len(_encode(bytes(size))):
        raise TokenInvalid("wrong length")
    raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
    # Only the canonical spelling is accepted (no variants differing in the unused low bits).
    if _encode(raw) != token:
        raise TokenInvalid("not canonical")
    return raw
