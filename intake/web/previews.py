"""Previews of image attachments on the staff case page, within bounded memory (issue 10 point 2).

A case page lists up to 30 images and the browser asks for all their previews at once; 30 PNGs of 7745 × 7745
RGBA took the web process from 0.38 to 4.1 GB. Four bounds:

- **what is decoded**: a JPEG is decoded at 1/2–1/8 scale (`draft`), so its cost follows the preview, not the
  photo; a PNG cannot decode reduced, so a PNG (or any image) whose decode would allocate more than
  `MAX_DECODED_BYTES` (and more than `PREVIEW_MAX_PIXELS` pixels) gets no preview: staff download the file;
- **how many at once**: `MAX_CONCURRENT` renders; a request that waits longer than `WAIT_SECONDS` gets none;
- **how often**: each image is rendered once per process; the PNG (or the refusal) is kept in an LRU of
  `CACHE_BYTES`, keyed by the attachment's SHA-256 (the content, so the same file in two cases is one entry);
- the result is a small PNG, `THUMBNAIL_PX` on its long side, turned upright after it is made small.
"""

from __future__ import annotations

import io
import logging
import threading
import warnings
from collections import OrderedDict
from collections.abc import Callable

from PIL import Image

from intake.validation import image_budget
from intake.validation.legibility import EXIF_ORIENTATION

log = logging.getLogger(__name__)

THUMBNAIL_PX = 320
PREVIEW_MAX_PIXELS = 40_000_000  # below the pipeline's 60 M: a preview is a convenience, the file is there
MAX_DECODED_BYTES = 64 * 1024 * 1024  # one decode: a 4000 × 4000 RGBA PNG, any JPEG within the pixel limit
MAX_CONCURRENT = 2
WAIT_SECONDS = 10.0
CACHE_BYTES = 16 * 1024 * 1024  # previews are 20–80 KB: a few hundred of them

class _Cache:
    """An LRU of rendered previews by SHA-256; None records "no preview" so a refusal is not recomputed."""

    def __init__(self, capacity: int) -> None:
        self.capacity = capacity
        self.size = 0
        self.entries: OrderedDict[str, bytes | None] = OrderedDict()
        self.lock = threading.Lock()

    def get(self, key: str) -> tuple[bool, bytes | None]:
        with self.lock:
            if key not in self.entries:
                return False, None
            self.entries.move_to_end(key)
            return True, self.entries[key]

    def put(self, key: str, value: bytes | None) -> None:
        cost = len(value or b"") + 100
        with self.lock:
            if key in self.entries:
                return
            self.entries[key] = value
            self.size += cost
            while self.size > self.capacity and self.entries:
                _, dropped = self.entries.popitem(last=False)
                self.size -= len(dropped or b"") + 100

    def clear(self) -> None:
        with self.lock:
            self.entries.clear()
            self.size = 0


_cache = _Cache(CACHE_BYTES)
_renders = threading.BoundedSemaphore(MAX_CONCURRENT)


def cached_preview(sha256: str, load: Callable[[], bytes], max_pixels: int) -> bytes | None:
    """The preview PNG of the attachment `sha256` (its bytes from `load`, read only when not cached), or None."""
    found, png = _cache.get(sha256)
    if found:
        return png
    if not _renders.acquire(timeout=WAIT_SECONDS):
        log.warning("preview not rendered: %d renders already running", MAX_CONCURRENT)
        return None  # not cached: the next request may find a free slot
    try:
        found, png = _cache.get(sha256)  # rendered by another request while this one waited
        if not found:
            png = preview(load(), max_pixels)
            _cache.put(sha256, png)
    finally:
        _renders.release()
    return png


def preview(data: bytes, max_pixels: int) -> bytes | None:
    """A PNG no larger than THUMBNAIL_PX on either side, or None when the image is too costly or unreadable."""
    try:
        return _render(data, min(max_pixels, PREVIEW_MAX_PIXELS))
    except Exception as exc:  # whatever Pillow makes of a hostile image: no preview
        log.debug("no preview: %s", type(exc).__name__)
        return None


def _render(data: bytes, max_pixels: int) -> bytes | None:
    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        with Image.open(io.BytesIO(data), formats=("JPEG", "PNG")) as image:  # JPEG covers MPO (phones)
            width, height = image.size
            size = image_budget.jpeg_draft_size(image, THUMBNAIL_PX * 2)
            if width * height > max_pixels and size == image.size:
                return None  # a large PNG cannot be decoded reduced
            if image_budget.decoded_bytes(image, size) > MAX_DECODED_BYTES:
                return None
            orientation = _orientation(image)
            image.draft("RGB", (THUMBNAIL_PX * 2, THUMBNAIL_PX * 2))  # JPEG: decode at a reduced scale
            image.thumbnail((THUMBNAIL_PX, THUMBNAIL_PX))  # in place: no full-size copy
            small = image.transpose(EXIF_ORIENTATION[orientation]) if orientation in EXIF_ORIENTATION else image
            if small.mode not in ("RGB", "RGBA", "L", "LA"):
                small = small.convert("RGBA" if "A" in small.getbands() or "transparency" in small.info else "RGB")
            out = io.BytesIO()
            small.save(out, format="PNG", optimize=True)
    return out.getvalue()


def _orientation(image: Image.Image) -> int:
    try:
        return int(image.getexif().get(0x0112, 1))
    except Exception:
        return 1
