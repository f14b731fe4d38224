"""The real-world mail corpus in ../shared/corpus/mail (never copied into the repository)."""

from __future__ import annotations

from pathlib import Path

CORPUS = Path(__file__).resolve().parents[3] / "shared" / "corpus" / "mail"
NOT_MESSAGES = {"MANIFEST.md", "FILES.tsv", "stats.txt", "README.md"}


def corpus_files() -> list[Path]:
    assert CORPUS.is_dir(), f"corpus missing at {CORPUS}"
    return sorted(
        path
        for path in CORPUS.rglob("*")
        if path.is_file() and path.name not in NOT_MESSAGES and "_aux_raw_tnef_not_messages" not in path.parts
    )
