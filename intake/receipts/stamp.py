"""The visible signature of the recipisă: a box at the foot of its last page saying who signed, when, and which
registration number the signature vouches for.

The box is the appearance stream of the signature field itself, so a PDF reader shows the signature panel when
it is clicked, and the words are covered by the signature like the rest of the file. Its face is a tiny PDF page
drawn by `render.render_stamp` in the receipt's font (pyHanko's own text stamp would need HarfBuzz for ă ș ț);
`render.py` keeps its place free on the last page.
"""

from __future__ import annotations

import binascii
import io
import uuid
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from pyhanko.pdf_utils import content, layout
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign import fields
from pyhanko.stamp import StaticStampStyle

from intake.receipts.render import STAMP_BOTTOM, STAMP_HEIGHT, STAMP_LEFT, STAMP_WIDTH, render_stamp
from intake.signatures import hex_strings

hex_strings.install()  # the recipisă is read back while it is signed: see hex_strings

MM = 72 / 25.4  # PDF points per millimetre


@dataclass(frozen=True)
class StampText:
    signer: str  # the certificate's common name
    registration: str  # "12/23.11.2026"
    signed_at: datetime  # aware
    timezone: str = "Europe/Bucharest"

    def lines(self) -> str:
        moment = self.signed_at.astimezone(ZoneInfo(self.timezone))
        label = "ora României" if self.timezone == "Europe/Bucharest" else f"ora {self.timezone}"
        return (
            f"Semnat electronic de: {self.signer}\n"
            f"Data: {moment:%d.%m.%Y, ora %H:%M:%S} ({label})\n"
            f"Recipisa nr. {self.registration}"
        )


def field_spec(name: str) -> fields.SigFieldSpec:
    """A new signature field on the last page, at the place render.py keeps free."""
    box = (
        round(STAMP_LEFT * MM),
        round(STAMP_BOTTOM * MM),
        round((STAMP_LEFT + STAMP_WIDTH) * MM),
        round((STAMP_BOTTOM + STAMP_HEIGHT) * MM),
    )
    return fields.SigFieldSpec(sig_field_name=name, on_page=-1, box=box)


class _PageFromBytes(content.ImportedPdfPage):
    """pyHanko's ImportedPdfPage reads a file by name; this one takes the page's bytes."""

    def __init__(self, pdf: bytes) -> None:
        super().__init__(file_name="")
        self._pdf = pdf

    def render(self) -> bytes:
        writer = self._ensure_writer
        xobject = writer.import_page_as_xobject(PdfFileReader(io.BytesIO(self._pdf)), page_ix=0)
        name = b"/Import" + binascii.hexlify(uuid.uuid4().bytes)
        self.resources.xobject[name.decode("ascii")] = xobject
        x1, y1, x2, y2 = xobject.get_object()["/BBox"]
        self.box = layout.BoxConstraints(width=abs(x1 - x2), height=abs(y1 - y2))
        return name + b" Do"


def stamp_style(text: StampText) -> StaticStampStyle:
    return StaticStampStyle(background=_PageFromBytes(render_stamp(text.lines())), border_width=0)
