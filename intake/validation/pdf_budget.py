"""Reading untrusted PDFs with pypdf within a memory budget (issue 10 point 1).

A FlateDecode stream inflates about 1,000 : 1: a 68 KB stream of a 10 MB file is 70 MB once decoded, and pypdf
decodes a whole stream when asked for it (its own default cap is 75 MB per stream). A PDF of 150 such pages took a
worker to 10 GB. Two bounds, both enforced while decoding (pypdf's Flate, LZW, run-length and Brotli decoders stop
at the configured output length instead of checking afterwards):

- **per stream**: `MAX_STREAM_BYTES` decoded. A page whose content (or a form XObject or ToUnicode map it uses) is
  larger is not read: no form of ours has a 4 MB page, and a drawing that large is not text to read.
- **per document**: `MAX_DOCUMENT_BYTES` decoded in all, per check (`Budget`). Past it, the remaining pages are
  not read: text extraction stops, legibility does not judge them.

Everything that reads a PDF runs inside `limits()`, which also lowers pypdf's own limits (its `Configuration`,
pypdf ≥ 6.5; a context variable, so it applies to the current thread only and must wrap the whole use of the
reader: pypdf decodes lazily). What a check cannot read is never held against the sender: the callers treat it
as "not read" (no text, not blank), never as a finding.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager

from pypdf import apply_configuration
from pypdf.filters import decode_stream_data
from pypdf.generic import ArrayObject, DictionaryObject, IndirectObject, NameObject, StreamObject

log = logging.getLogger(__name__)

MAX_PDF_BYTES = 40 * 1024 * 1024  # larger files are refused before parsing (the attachment limit is 15 MB)
MAX_STREAM_BYTES = 4 * 1024 * 1024  # decoded bytes of one content stream, form XObject or ToUnicode map
MAX_DOCUMENT_BYTES = 32 * 1024 * 1024  # decoded bytes read from one document by one check
# pypdf's own per-stream cap for what it decodes by itself (object and cross-reference streams, text extraction):
# above ours for content, so that a large object stream of an honest file still opens, far below its 75 MB.
PYPDF_STREAM_BYTES = 16 * 1024 * 1024
MAX_XOBJECT_DEPTH = 5
MAX_RESOURCES = 100  # XObjects or fonts looked at per resource dictionary

# pypdf's `Configuration` fields (pypdf ≥ 6.5). Only fields that exist in the installed version are applied.
PYPDF_LIMITS: dict[str, int] = {
    "maximum_declared_stream_length": MAX_PDF_BYTES,  # a /Length beyond the file is a lie
    "array_based_stream_maximum_output_length": PYPDF_STREAM_BYTES,  # /Contents as an array, concatenated
    "zlib_maximum_output_length": PYPDF_STREAM_BYTES,
    "zlib_maximum_recovery_input_length": 1024 * 1024,  # the byte-by-byte repair of broken Flate data
    "lzw_maximum_output_length": PYPDF_STREAM_BYTES,
    "run_length_maximum_output_length": PYPDF_STREAM_BYTES,
    "brotli_maximum_output_length": PYPDF_STREAM_BYTES,
    "jbig2_maximum_output_length": PYPDF_STREAM_BYTES,
    "image_maximum_buffer_size": PYPDF_STREAM_BYTES,
    "stream_decoding_work_maximum_length": 4 * PYPDF_STREAM_BYTES,
    # Operands and operators parsed from one content stream: a text page has ~10,000; each costs ~100 bytes of
    # Python objects, so the default 2,000,000 would be 200 MB for one page.
    "stream_parsing_work_maximum_count": 500_000,
    "xform_maximum_invocations_per_extraction": 500,
    "page_tree_maximum_entries": 20_000,
}


def _applicable(overrides: dict[str, int]) -> dict[str, int]:
    from pypdf import get_configuration

    current = get_configuration()
    return {name: value for name, value in overrides.items() if hasattr(current, name)}


@contextmanager
def limits() -> Iterator[None]:
    """pypdf's limits lowered for the current thread, for everything done with a reader inside the block."""
    with apply_configuration(**_applicable(PYPDF_LIMITS)):
        yield


class TooLarge(Exception):
    """A stream, or the document's reading so far, went past its budget."""


class Budget:
    """Decoded bytes one check may still read from one document."""

    def __init__(self, total: int = MAX_DOCUMENT_BYTES, per_stream: int = MAX_STREAM_BYTES) -> None:
        self.remaining = total
        self.per_stream = per_stream

    @property
    def exhausted(self) -> bool:
        return self.remaining <= 0

    def read(self, stream: StreamObject) -> bytes:
        """The decoded data of `stream`, charged to the budget; `TooLarge` when it does not fit.

        Decoded by pypdf with its output caps set to what is left, so a bomb stops after that many bytes (and
        those bytes are charged: the work was done). The result is not cached on the stream object."""
        cap = min(self.per_stream, self.remaining)
        if cap <= 0:
            raise TooLarge("document budget spent")
        overrides = {
            "zlib_maximum_output_length": cap,
            "lzw_maximum_output_length": cap,
            "run_length_maximum_output_length": cap,
            "brotli_maximum_output_length": cap,
            "jbig2_maximum_output_length": cap,
            "stream_decoding_work_maximum_length": 4 * cap + len(stream._data),
        }
        try:
            with apply_configuration(**_applicable(overrides)):
                data = decode_stream_data(stream) if stream.get("/Filter") is not None else bytes(stream._data)
        except Exception as exc:  # LimitReachedError, or a broken stream: either way not read
            self.remaining -= cap
            raise TooLarge(type(exc).__name__) from None
        self.remaining -= len(data)
        if len(data) > cap:  # a filter without an output cap (ASCIIHex, ASCII85, none): bounded by the file
            raise TooLarge("stream too large")
        return data

    def read_page(self, page: DictionaryObject) -> bytes:
        """The page's content streams, concatenated as pypdf would, within the budget."""
        contents = _resolve(page.get("/Contents"))
        if contents is None:
            return b""
        streams = list(contents) if isinstance(contents, ArrayObject) else [contents]
        parts = []
        for item in streams[:MAX_RESOURCES]:
            stream = _resolve(item)
            if isinstance(stream, StreamObject):
                parts.append(self.read(stream))
        data = b"\n".join(parts)
        if len(data) > self.per_stream:
            raise TooLarge("page content too large")
        return data

    def precheck_text(self, page: DictionaryObject) -> None:
        """Decode, within the budget, every stream that pypdf's `extract_text` will decode for this page (its
        content, the form XObjects it draws and the ToUnicode maps of its fonts), so that pypdf then decodes
        only what is known to fit. `TooLarge` when something does not."""
        self.read_page(page)
        self._resources(page.get("/Resources"), depth=0, seen=set())

    def _resources(self, resources: object, depth: int, seen: set[int]) -> None:
        resources = _resolve(resources)
        if not isinstance(resources, DictionaryObject) or depth > MAX_XOBJECT_DEPTH:
            return
        fonts = _resolve(resources.get("/Font"))
        if isinstance(fonts, DictionaryObject):
            for value in list(fonts.values())[:MAX_RESOURCES]:
                font = _resolve(value)
                unicode_map = _resolve(font.get("/ToUnicode")) if isinstance(font, DictionaryObject) else None
                if isinstance(unicode_map, StreamObject) and _first_visit(value, seen):
                    self.read(unicode_map)
        xobjects = _resolve(resources.get("/XObject"))
        if isinstance(xobjects, DictionaryObject):
            for value in list(xobjects.values())[:MAX_RESOURCES]:
                xobject = _resolve(value)
                if not isinstance(xobject, StreamObject) or xobject.get("/Subtype") != NameObject("/Form"):
                    continue
                if _first_visit(value, seen):
                    self.read(xobject)
                    self._resources(xobject.get("/Resources"), depth + 1, seen)


def _first_visit(value: object, seen: set[int]) -> bool:
    key = value.idnum if isinstance(value, IndirectObject) else id(value)
    if key in seen:
        return False
    seen.add(key)
    return True


def _resolve(value: object) -> object:
    return value.get_object() if isinstance(value, IndirectObject) else value
