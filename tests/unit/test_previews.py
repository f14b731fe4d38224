"""Issue 10 point 2: previews on the staff case page decode little, render each image once and few at a time."""

from __future__ import annotations

import io
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
from PIL import Image

from intake.web import previews
from tests import bombs


def _case_page(files: list[bytes]) -> list[bool]:
    """What a browser does on a case page of 30 images: all previews requested at once, 6 connections."""
    with ThreadPoolExecutor(6) as pool:
        return list(pool.map(lambda item: previews.cached_preview(*item, 60_000_000) is not None,
                             [(f"{index:064x}", lambda data=data: data) for index, data in enumerate(files)]))


@pytest.fixture(autouse=True)
def _empty_cache() -> None:
    previews._cache.clear()


def test_thirty_large_pngs_cost_no_full_decode() -> None:
    files = [bombs.png_bomb(seed=index) for index in range(30)]
    measured = bombs.measure(_case_page, files, memory_limit=3 * 1024 * 1024 * 1024)
    assert measured.result == [False] * 30  # a PNG that large cannot decode reduced: no preview, the file is there
    assert measured.peak_mb < 400, measured  # before: 4.1 GB in the web process
    assert measured.seconds < 20, measured


def test_large_jpeg_is_decoded_reduced_and_previewed() -> None:
    data = bombs.scanned_page_jpeg((6000, 8000))
    png = previews.preview(data, 60_000_000)
    assert png is not None
    with Image.open(io.BytesIO(png)) as small:
        assert max(small.size) == previews.THUMBNAIL_PX


def test_small_png_is_previewed() -> None:
    out = io.BytesIO()
    Image.new("RGBA", (800, 600), (10, 20, 30, 255)).save(out, "PNG")
    png = previews.preview(out.getvalue(), 60_000_000)
    assert png is not None
    assert Image.open(io.BytesIO(png)).size == (320, 240)


def test_each_image_is_rendered_once(monkeypatch: pytest.MonkeyPatch) -> None:
    loads: list[int] = []
    data = bombs.scanned_page_jpeg((800, 1100))

    def load() -> bytes:
        loads.append(1)
        return data

    first = previews.cached_preview("a" * 64, load, 60_000_000)
    second = previews.cached_preview("a" * 64, load, 60_000_000)
    assert first is not None and first == second
    assert len(loads) == 1
    refused = [previews.cached_preview("b" * 64, lambda: b"not an image", 60_000_000) for _ in range(3)]
    assert refused == [None] * 3  # a refusal is remembered too


def test_renders_are_bounded_in_number(monkeypatch: pytest.MonkeyPatch) -> None:
    running, peak = 0, 0
    lock = threading.Lock()

    def slow_preview(data: bytes, max_pixels: int) -> bytes:
        nonlocal running, peak
        with lock:
            running += 1
            peak = max(peak, running)
        time.sleep(0.05)
        with lock:
            running -= 1
        return b"png"

    monkeypatch.setattr(previews, "preview", slow_preview)
    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(lambda index: previews.cached_preview(f"{index:064x}", bytes, 1), range(16)))
    assert results == [b"png"] * 16
    assert peak == previews.MAX_CONCURRENT


def test_cache_is_bounded_in_bytes() -> None:
    cache = previews._Cache(capacity=10_000)
    for index in range(100):
        cache.put(str(index), b"x" * 1000)
    assert cache.size <= 10_000
    assert cache.get("99") == (True, b"x" * 1000)
    assert cache.get("0") == (False, None)
