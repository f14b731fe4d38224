"""intake.signatures.hex_strings reads PDF hex strings exactly as pyhanko's own reader does: the same value, the
same type, the same position afterwards, the same error; on crafted strings and on the signatures of the corpus."""

from __future__ import annotations

import io
import random
from pathlib import Path
from typing import Any

import pytest
from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.fields import enumerate_sig_fields

from intake.signatures import hex_strings
from tests.shared_corpus import corpus

hex_strings.install()
ORIGINAL = hex_strings._original
CORPUS = corpus("signed-pdfs")


def _read(reader: Any, data: bytes) -> tuple[str, Any, int]:
    stream = io.BytesIO(data)
    try:
        value = reader(stream)
    except Exception as exc:
        return "error", (type(exc), str(exc)), stream.tell()
    return type(value).__name__, bytes(value) if isinstance(value, bytes) else value, stream.tell()


_rng = random.Random(7)
_LONG = "".join(_rng.choice("0123456789abcdefABCDEF") for _ in range(150_000))

CASES = {
    "empty": b"<> rest",
    "one digit is padded with 0": b"<4>",
    "plain": b"<48656C6C6F> trailing",
    "lower case": b"<48656c6c6f>",
    "white space of every kind": b"<48 65\n6C\r6C\t6F\f00\x0020>",
    "odd length": b"<48656C6C6>",
    "text string with a BOM": b"<FEFF00410042>",
    "a comment inside": b"<4865 % a comment with > inside\n6C6C6F>",
    "a stray character": b"<48G5>",
    "no closing bracket": b"<48656C",
    "nothing after the bracket": b"<",
    "a second string follows": b"<41><42>",
    "a long signature container": f"<{_LONG}>".encode(),
    "a long one folded in lines": ("<" + "\n".join(_LONG[i : i + 64] for i in range(0, 130_000, 64)) + ">").encode(),
    "a long one never closed": f"<{_LONG}".encode(),
    "a long one with a stray character at the end": f"<{_LONG}Z>".encode(),
}


@pytest.mark.parametrize("data", CASES.values(), ids=CASES.keys())
def test_reads_like_pyhanko(data: bytes) -> None:
    assert _read(hex_strings.read_hex_string, data) == _read(ORIGINAL, data)


def test_is_what_pyhanko_uses_once_installed() -> None:
    hex_strings.install()
    hex_strings.install()
    assert generic.read_hex_string_from_stream is hex_strings.read_hex_string
    assert hex_strings._original is ORIGINAL


def _contents(path: Path) -> list[Any]:
    try:
        reader = PdfFileReader(io.BytesIO(path.read_bytes()), strict=False)
        return [bytes(value.get_object().get("/Contents", b"")) for _, value, _ in enumerate_sig_fields(reader)]
    except Exception as exc:
        return [type(exc).__name__]


def test_corpus_signatures_read_the_same(monkeypatch: pytest.MonkeyPatch) -> None:
    # Ten small files (the old reader is slow: the whole corpus would take a minute).
    files = sorted(CORPUS.rglob("*.pdf"), key=lambda path: path.stat().st_size)[:10]
    fast = [_contents(path) for path in files]
    monkeypatch.setattr(generic, "read_hex_string_from_stream", ORIGINAL)
    slow = [_contents(path) for path in files]
    assert fast == slow
    assert sum(len(item) for contents in fast for item in contents if isinstance(item, bytes)) > 50_000
