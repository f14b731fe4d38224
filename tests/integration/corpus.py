"""The real-world mail corpus in ../shared/corpus/mail (never copied into the repository)."""

from __future__ import annotations

from pathlib import Path

from tests.shared_corpus import corpus

NOT_MESSAGES = {"MANIFEST.md", "FILES.tsv", "stats.txt", "README.md"}


def corpus_files() -> list[Path]:
    mail = corpus("mail")
    return sorted(
        path
        for path in mail.rglob("*")
        if path.is_file() and path.name not in NOT_MESSAGES and "_aux_raw_tnef_not_messages" not in path.parts
    )
