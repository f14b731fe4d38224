"""Time and peak memory of each attachment check against the bombs of issue 10 (points 1, 2, 4, 10).

    .venv/bin/python bench/bombs.py [--only NAME ...] [--memory-limit-mb 3000] [--json]

Every check runs in a fresh spawned interpreter (`tests.bombs.measure`), so its peak resident set is its own:
the figure includes the interpreter and the imports (~60–120 MB), measured with `ru_maxrss`. The bombs are built
in memory at start-up (`tests/bombs.py`), never read from disk. `--memory-limit-mb` caps each child's address
space (RLIMIT_AS): a check that would take the machine down ends in `MemoryError` instead.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
if sys.path and Path(sys.path[0] or ".").resolve() == REPO / "bench":
    sys.path.pop(0)
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from tests import bombs  # noqa: E402

# --------------------------------------------------------------------------------------------------
# The checks, each one function of the attachment's bytes (run in the child)


def filetype_check(name: str, data: bytes) -> str:
    from intake.validation.filetypes import check_attachment

    check = check_attachment(name, data)
    return f"accepted={check.accepted} code={check.code}"


def legibility_pdf(data: bytes) -> str:
    from intake.validation import legibility

    return f"issues={[issue.reason for issue in legibility.assess_pdf('bomb.pdf', data)]}"


def pdf_text(data: bytes) -> str:
    from intake.validation import documents

    form = documents.read_form("application", data, "pdf")
    return f"text={len(form.text)} chars, fields={len(form.fields)}"


def legibility_images(name: str, files: list[bytes]) -> str:
    """Legibility of every image of one message, one after the other (as the assess stage does)."""
    from intake.validation import legibility

    found = [issue.reason for data in files for issue in legibility.assess_image(name, data)]
    return f"{len(files)} files, issues={sorted(set(found))}"


def filetype_images(name: str, files: list[bytes]) -> str:
    from intake.validation.filetypes import check_attachment

    accepted = sum(check_attachment(name, data).accepted for data in files)
    return f"{accepted}/{len(files)} accepted"


def thumbnails(files: list[bytes]) -> str:
    """Previews of every image of a case page, as the browser requests them (6 at a time)."""
    from concurrent.futures import ThreadPoolExecutor

    try:
        from intake.web.previews import preview

        def render(data: bytes) -> str:
            return "png" if preview(data, 60_000_000) else "none"
    except ImportError:  # before issue 10: the renderer lived in the route's module
        from intake.web.cases import make_thumbnail

        def render(data: bytes) -> str:
            try:
                return "png" if make_thumbnail(data, 60_000_000) else "none"
            except Exception:
                return "none"

    with ThreadPoolExecutor(6) as pool:
        results = list(pool.map(render, files))
    return f"{results.count('png')} previews, {results.count('none')} refused"


# --------------------------------------------------------------------------------------------------


def cases() -> list[tuple[str, Callable[..., Any], tuple[Any, ...]]]:
    pdf = bombs.pdf_bomb()
    pdf_text_bomb = bombs.pdf_bomb(text=True)
    png = bombs.png_bomb()
    pngs = [bombs.png_bomb(seed=index) for index in range(30)]
    jpeg = bombs.scanned_page_jpeg()
    return [
        ("pdf bomb: file type", filetype_check, ("bomb.pdf", pdf)),
        ("pdf bomb: legibility", legibility_pdf, (pdf,)),
        ("pdf bomb (with text): legibility", legibility_pdf, (pdf_text_bomb,)),
        ("pdf bomb (with text): text + fields", pdf_text, (pdf_text_bomb,)),
        ("png 7745² RGBA: file type", filetype_check, ("bomb.png", png)),
        ("png 7745² RGBA: legibility", legibility_images, ("bomb.png", [png])),
        ("30 × png 7745² RGBA: file type", filetype_images, ("bomb.png", pngs)),
        ("30 × png 7745² RGBA: legibility", legibility_images, ("bomb.png", pngs)),
        ("30 × png 7745² RGBA: previews", thumbnails, (pngs,)),
        ("control: scanned jpeg: file type", filetype_check, ("scan.jpg", jpeg)),
        ("control: scanned jpeg: legibility", legibility_images, ("scan.jpg", [jpeg])),
        ("truncated jpeg + EOI: file type", filetype_check, ("cut.jpg", bombs.truncated_jpeg(jpeg))),
    ]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", nargs="*", default=[], help="run only cases whose name contains one of these")
    parser.add_argument("--memory-limit-mb", type=int, default=3000)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    rows = []
    for name, function, call_args in cases():
        if args.only and not any(part in name for part in args.only):
            continue
        try:
            measured = bombs.measure(function, *call_args, memory_limit=args.memory_limit_mb * 1024 * 1024)
            row = {"check": name, "seconds": round(measured.seconds, 2), "peak_mb": round(measured.peak_mb),
                   "result": str(measured.result)}
        except (EOFError, TimeoutError) as exc:  # the child died (memory limit in C code) or hung
            row = {"check": name, "seconds": None, "peak_mb": None, "result": f"child failed: {exc!r}"}
        rows.append(row)
        if not args.json:
            seconds = "-" if row["seconds"] is None else f"{row['seconds']:.2f} s"
            peak = "-" if row["peak_mb"] is None else f"{row['peak_mb']} MB"
            print(f"{name:42} {seconds:>9} {peak:>9}   {row['result']}", flush=True)
    if args.json:
        print(json.dumps(rows, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
