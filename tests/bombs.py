"""Hostile attachments built at test time (issue 10 points 1, 2, 4, 10), never stored in the repository.

- `pdf_bomb`: a small PDF whose pages each have their own FlateDecode content stream that inflates to many
  megabytes of spaces (the issue's attack: 150 pages × 70 MB in a 10 MB file).
- `png_bomb`: a PNG just under the pixel limit (7745 × 7745 RGBA, ~60 M pixels) that is ~250 KB on disk and
  240 MB once decoded.
- `truncated_jpeg`: a real JPEG whose scan data is cut short, with an EOI marker appended so that it still
  "ends" like a JPEG (libjpeg then fills the rest with grey and only warns).

Plus `measure`, which runs a function in a fresh child process and reports its wall time and peak memory:
the figures the tests bound and `bench/bombs.py` prints.
"""

from __future__ import annotations

import io
import multiprocessing
import resource
import struct
import time
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from typing import Any

# --------------------------------------------------------------------------------------------------
# PDF


@cache
def _spaces_stream(size: int) -> bytes:
    """`size` bytes of spaces, deflated (about 1,000 : 1), compressed once per size and reused."""
    compressor = zlib.compressobj(9)
    chunk = b" " * (1 << 20)
    parts = [compressor.compress(chunk) for _ in range(size // len(chunk))]
    parts.append(compressor.compress(b" " * (size % len(chunk))))
    parts.append(compressor.flush())
    return b"".join(parts)


def pdf_bomb(pages: int = 150, stream_bytes: int = 70 * 1024 * 1024, *, text: bool = False) -> bytes:
    """A PDF of `pages` pages, each with its own FlateDecode content stream of `stream_bytes` spaces once decoded
    (with `text`, a text-showing operator first, so that text extraction is tempted to parse it all)."""
    body = _spaces_stream(stream_bytes)
    if text:
        prefix = b"BT /F1 12 Tf 72 720 Td (Cerere) Tj ET\n"
        compressor = zlib.compressobj(9)
        body = compressor.compress(prefix) + compressor.compress(b" " * stream_bytes) + compressor.flush()
    objects: list[bytes] = []
    kids = " ".join(f"{4 + 2 * index} 0 R" for index in range(pages))
    objects.append(b"<< /Type /Catalog /Pages 2 0 R >>")
    objects.append(f"<< /Type /Pages /Count {pages} /Kids [{kids}] >>".encode())
    objects.append(b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>")
    for index in range(pages):
        page_id, content_id = 4 + 2 * index, 5 + 2 * index
        objects.append(
            f"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Resources << /Font << /F1 3 0 R >> >> "
            f"/Contents {content_id} 0 R >>".encode()
        )
        objects.append(b"<< /Length %d /Filter /FlateDecode >>\nstream\n" % len(body) + body + b"\nendstream")
        assert page_id + 1 == content_id
    return _pdf_file(objects)


def _pdf_file(objects: list[bytes]) -> bytes:
    out = io.BytesIO()
    out.write(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(out.tell())
        out.write(b"%d 0 obj\n" % number + body + b"\nendobj\n")
    xref = out.tell()
    out.write(b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1))
    for offset in offsets:
        out.write(b"%010d 00000 n \n" % offset)
    out.write(b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref))
    return out.getvalue()


# --------------------------------------------------------------------------------------------------
# PNG


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


@cache
def _transparent_rows(side: int) -> bytes:
    row = b"\x00" + b"\x00" * (side * 4)  # filter type 0, then the pixels
    compressor = zlib.compressobj(9)
    parts = [compressor.compress(row) for _ in range(side)]
    parts.append(compressor.flush())
    return b"".join(parts)


def png_bomb(side: int = 7745, *, seed: int = 0) -> bytes:
    """A `side` × `side` RGBA PNG of transparent pixels: ~250 KB on disk, side² × 4 bytes decoded. `seed` varies a
    text chunk, so that several bombs in one message are different files (no cache can short-cut them)."""
    header = struct.pack(">IIBBBBB", side, side, 8, 6, 0, 0, 0)  # 8-bit RGBA, not interlaced
    return b"".join(
        (
            b"\x89PNG\r\n\x1a\n",
            _chunk(b"IHDR", header),
            _chunk(b"tEXt", b"Comment\x00bomb %d" % seed),
            _chunk(b"IDAT", _transparent_rows(side)),
            _chunk(b"IEND", b""),
        )
    )


# --------------------------------------------------------------------------------------------------
# JPEG


def scanned_page_jpeg(size: tuple[int, int] = (1240, 1754), *, progressive: bool = False) -> bytes:
    """An honest scan: an A4 page at 150 dpi with lines of text."""
    from PIL import Image, ImageDraw

    image = Image.new("RGB", size, "white")
    draw = ImageDraw.Draw(image)
    for y in range(120, size[1] - 120, 28):
        line = "Subsemnatul Ion Popescu, domiciliat în Cluj-Napoca, solicit indemnizația de șomaj "
        draw.text((100, y), line * 2, fill="black")
    out = io.BytesIO()
    image.save(out, "JPEG", quality=85, progressive=progressive)
    return out.getvalue()


def truncated_jpeg(data: bytes | None = None, keep: float = 0.6) -> bytes:
    """The JPEG with its scan data cut at `keep` of the file and an EOI marker appended."""
    data = data or scanned_page_jpeg()
    cut = data[: int(len(data) * keep)]
    if cut.endswith(b"\xff"):  # never leave half a marker: the point is a clean-looking end
        cut = cut[:-1]
    return cut + b"\xff\xd9"


# --------------------------------------------------------------------------------------------------
# Measuring in a child process


@dataclass(frozen=True)
class Measured:
    seconds: float
    peak_mb: float  # the child's peak resident set (VmHWM), including the interpreter and imports
    result: Any


def _child(function: Callable[..., Any], args: tuple[Any, ...], memory_limit: int | None, pipe: Any) -> None:
    if memory_limit:  # a safety net on a shared machine: the old code can take 10 GB
        resource.setrlimit(resource.RLIMIT_AS, (memory_limit, memory_limit))
    start = time.monotonic()
    try:
        result: Any = function(*args)
    except MemoryError:
        result = "MemoryError"
    seconds = time.monotonic() - start
    pipe.send((seconds, _high_water_mark_kb() / 1024, result))
    pipe.close()


def _high_water_mark_kb() -> int:
    """The peak resident size of this interpreter's own memory. Not ru_maxrss: Linux keeps that across exec, so
    a spawned child would report the size of the test runner it was forked from before exec (~600-900 MB late
    in the suite)."""
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def measure(
    function: Callable[..., Any], *args: Any, memory_limit: int | None = None, timeout: float = 300
) -> Measured:
    """Run `function(*args)` in a fresh (spawned) interpreter: its peak memory is then its own, not the test
    runner's. `function` must be importable at module level; its result must be picklable."""
    context = multiprocessing.get_context("spawn")
    receiver, sender = context.Pipe(duplex=False)
    process = context.Process(target=_child, args=(function, args, memory_limit, sender))
    process.start()
    sender.close()
    try:
        if not receiver.poll(timeout):
            raise TimeoutError(f"{getattr(function, '__name__', function)} took more than {timeout} s")
        seconds, peak_mb, result = receiver.recv()
    finally:
        process.join(5)
        if process.is_alive():
            process.kill()
            process.join()
    return Measured(seconds, peak_mb, result)
