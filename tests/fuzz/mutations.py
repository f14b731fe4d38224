"""Mutations of real messages for the fuzz run: the corpus gives realistic structure, these break it the ways
attackers and broken mailers do."""

from __future__ import annotations

import re
from pathlib import Path

from hypothesis import strategies as st

from tests import hostile_mail
from tests.integration.corpus import corpus_files

# Small and medium corpus files: the two multi-megabyte torture tests would make every example slow, and the
# structure they test is what the mutations below produce anyway.
SEED_LIMIT = 96 * 1024
SEEDS: tuple[Path, ...] = tuple(p for p in corpus_files() if p.suffix != ".yml" and p.stat().st_size <= SEED_LIMIT)

CHARSETS = (
    "utf-8", "utf-7", "utf-16", "utf-32", "iso-2022-jp", "gb2312", "ks_c_5601-1987", "windows-1250",
    "iso-8859-2", "koi8-r", "x-unknown", "", "\"", "utf-8'ro'", "a" * 300, "shift_jis", "big5", "cp65001",
)  # fmt: skip
_HEADER_LINE = re.compile(rb"(?m)^[A-Za-z][A-Za-z0-9-]*:[^\r\n]*\r?\n")


def _flip(data: bytes, positions: list[int], values: list[int]) -> bytes:
    if not data:
        return data
    buffer = bytearray(data)
    for position, value in zip(positions, values, strict=False):
        buffer[position % len(buffer)] ^= value or 1
    return bytes(buffer)


def _duplicate_header(data: bytes, which: int, times: int) -> bytes:
    lines = list(_HEADER_LINE.finditer(data[:8192]))
    if not lines:
        return data
    line = lines[which % len(lines)]
    return data[: line.end()] + line.group(0) * times + data[line.end() :]


def _nest(data: bytes, levels: int, kind: str) -> bytes:
    for level in range(levels):
        if kind == "message":
            data = b"From: fwd@example.ro\r\nContent-Type: message/rfc822\r\n\r\n" + data
        else:
            head = f'From: a@example.ro\r\nContent-Type: multipart/mixed; boundary="z{level}"\r\n\r\n--z{level}\r\n'
            data = head.encode() + data + f"\r\n--z{level}--\r\n".encode()
    return data


def _charset_chaos(data: bytes, label: str, junk: bytes) -> bytes:
    data = re.sub(rb"(?i)charset=\"?[A-Za-z0-9_.:-]*\"?", b"charset=" + label.encode("latin-1", "replace"), data)
    # Raw 8-bit bytes into the first header values (Subject, From, filenames are where mailers put them).
    return re.sub(rb"(?m)^(Subject|From|To|Content-Disposition):", lambda m: m.group(0) + b" " + junk, data, count=3)


@st.composite
def mutated_messages(draw: st.DrawFn) -> bytes:
    data = draw(st.sampled_from(SEEDS)).read_bytes()
    for _ in range(draw(st.integers(1, 3))):
        how = draw(st.sampled_from(("flip", "truncate", "duplicate", "nest", "charset", "insert", "boundary")))
        if how == "flip":
            count = draw(st.integers(1, 16))
            data = _flip(data, draw(st.lists(st.integers(0, 2**31), min_size=count, max_size=count)),
                         draw(st.lists(st.integers(0, 255), min_size=count, max_size=count)))  # fmt: skip
        elif how == "truncate":
            data = data[: draw(st.integers(0, max(0, len(data))))]
        elif how == "duplicate":
            data = _duplicate_header(data, draw(st.integers(0, 100)), draw(st.integers(1, 200)))
        elif how == "nest":
            data = _nest(data, draw(st.integers(1, 120)), draw(st.sampled_from(("multipart", "message"))))
        elif how == "charset":
            data = _charset_chaos(data, draw(st.sampled_from(CHARSETS)), draw(st.binary(min_size=1, max_size=24)))
        elif how == "insert":
            at = draw(st.integers(0, len(data)))
            data = data[:at] + draw(st.binary(max_size=64)) + data[at:]
        else:
            # Boundaries removed or doubled: the parser's own state machine is what is attacked.
            data = re.sub(
                rb"(?m)^--", draw(st.sampled_from((b"", b"----", b"--\r\n--"))), data, count=draw(st.integers(1, 5))
            )
    return data


hostile_messages = st.one_of(
    st.integers(1, 400).map(hostile_mail.many_parts),
    st.tuples(st.integers(30, 300), st.sampled_from(("multipart", "message"))).map(
        lambda args: hostile_mail.deep_nesting(args[0], kind=args[1])
    ),
    st.binary(max_size=256).map(lambda junk: hostile_mail.eight_bit_headers(from_header=junk + b" <x@example.ro>")),
)
