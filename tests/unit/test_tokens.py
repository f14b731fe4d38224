"""Reschedule/cancel link tokens: round trip, expiry, and nothing but TokenError for anything forged."""

from __future__ import annotations

import base64
from datetime import UTC, datetime, timedelta, timezone

import pytest

from intake.appointments.tokens import TokenError, TokenExpired, TokenInvalid, make_token, read_token

SECRET = "o cheie secretă de test, destul de lungă"
ISSUED = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
EXPIRES = ISSUED + timedelta(days=10)


def token(appointment_id: int = 42, sequence: int = 3) -> str:
    return make_token(appointment_id, sequence, EXPIRES, SECRET)


def flip_bit(value: str, byte_index: int) -> str:
    raw = bytearray(base64.urlsafe_b64decode(value + "=" * (-len(value) % 4)))
    raw[byte_index] ^= 0x01
    return base64.urlsafe_b64encode(bytes(raw)).rstrip(b"=").decode("ascii")


def test_round_trip() -> None:
    assert read_token(token(), SECRET, ISSUED) == (42, 3)
    assert read_token(make_token(0, 0, EXPIRES, SECRET), SECRET, ISSUED) == (0, 0)
    assert read_token(make_token(2**63, 2**32 - 1, EXPIRES, SECRET), SECRET, ISSUED) == (2**63, 2**32 - 1)


def test_url_safe_and_stable() -> None:
    value = token()
    assert value.isascii()
    assert set(value) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")
    assert value == token()  # the same appointment and expiry give the same link (a resent e-mail matches)


def test_older_sequence_still_reads_the_caller_decides() -> None:
    assert read_token(token(sequence=1), SECRET, ISSUED) == (42, 1)


def test_valid_until_the_expiry_instant() -> None:
    assert read_token(token(), SECRET, EXPIRES - timedelta(seconds=1)) == (42, 3)
    with pytest.raises(TokenExpired):
        read_token(token(), SECRET, EXPIRES)
    with pytest.raises(TokenExpired):
        read_token(token(), SECRET, EXPIRES + timedelta(days=400))


def test_expiry_is_an_instant_whatever_the_zone() -> None:
    bucharest_winter = timezone(timedelta(hours=2))
    value = make_token(7, 0, EXPIRES.astimezone(bucharest_winter), SECRET)
    assert read_token(value, SECRET, (EXPIRES - timedelta(minutes=1)).astimezone(bucharest_winter)) == (7, 0)
    with pytest.raises(TokenExpired):
        read_token(value, SECRET, EXPIRES)


@pytest.mark.parametrize("byte_index", range(0, 21))
def test_tampered_payload(byte_index: int) -> None:
    with pytest.raises(TokenInvalid):
        read_token(flip_bit(token(), byte_index), SECRET, ISSUED)


@pytest.mark.parametrize("byte_index", [21, 30, 52])
def test_tampered_signature(byte_index: int) -> None:
    with pytest.raises(TokenInvalid):
        read_token(flip_bit(token(), byte_index), SECRET, ISSUED)


def test_expired_forgery_is_invalid_not_expired() -> None:
    # A forged token says nothing about its expiry: the signature is checked first.
    forged = flip_bit(make_token(42, 3, ISSUED - timedelta(days=1), SECRET), 1)
    with pytest.raises(TokenInvalid):
        read_token(forged, SECRET, ISSUED)


def test_wrong_secret() -> None:
    with pytest.raises(TokenInvalid):
        read_token(token(), "alt secret", ISSUED)
    with pytest.raises(TokenInvalid):
        read_token(token(), "", ISSUED)


@pytest.mark.parametrize(
    "garbage",
    [
        "",
        "a",
        "====",
        "abc.def",
        "../../etc/passwd",
        "A" * 71,
        "A" * 10_000,
        " " + "A" * 70,
        "ăîșțâ" * 15,
        "💣" * 71,
        "\x00" * 71,
        "A" * 70 + "\n",
        "AAAA AAAA",
        "%41%41%41",
    ],
)
def test_garbage_is_invalid(garbage: str) -> None:
    with pytest.raises(TokenInvalid):
        read_token(garbage, SECRET, ISSUED)


def test_truncated_and_extended_tokens() -> None:
    value = token()
    for broken in (value[:-1], value[:-4], value[1:], value + "A", value + "AAAA", value.upper(), value.lower()):
        if broken == value:
            continue
        with pytest.raises(TokenInvalid):
            read_token(broken, SECRET, ISSUED)


def test_non_canonical_spelling_is_refused() -> None:
    value = token()
    # 53 bytes leave 2 unused low bits in the last character: a variant decodes to the same bytes.
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    variant = value[:-1] + alphabet[alphabet.index(value[-1]) ^ 0x01]
    assert base64.urlsafe_b64decode(variant + "===") == base64.urlsafe_b64decode(value + "===")
    with pytest.raises(TokenInvalid):
        read_token(variant, SECRET, ISSUED)


def test_only_token_errors_escape_for_every_single_character_change() -> None:
    value = token()
    for index in range(len(value)):
        for replacement in ("A", "_", "ș", "="):
            candidate = value[:index] + replacement + value[index + 1 :]
            if candidate == value:
                continue
            with pytest.raises(TokenError):
                read_token(candidate, SECRET, ISSUED)


def test_not_a_string_is_invalid() -> None:
    with pytest.raises(TokenInvalid):
        read_token(b"bytes-token", SECRET, ISSUED)  # type: ignore[arg-type]


def test_issuing_refuses_what_would_make_a_bad_link() -> None:
    with pytest.raises(ValueError):
        make_token(1, 0, EXPIRES, "")  # anyone could forge links signed with an empty key
    with pytest.raises(ValueError):
        make_token(1, 0, datetime(2026, 12, 1, 9, 0), SECRET)  # naive expiry: ambiguous instant
    with pytest.raises(ValueError):
        make_token(-1, 0, EXPIRES, SECRET)
    with pytest.raises(ValueError):
        make_token(1, 2**32, EXPIRES, SECRET)
