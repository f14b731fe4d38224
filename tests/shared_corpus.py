"""Where the tests find the shared test material: `../shared/corpus` beside the repository (real-world mail,
signed PDFs, trusted lists), read in place and never copied. Without it a test fails with a sentence saying where
it is expected, rather than with an empty list of files."""

from __future__ import annotations

from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"
CORPUS = SHARED / "corpus"


def corpus(*parts: str) -> Path:
    """`../shared/corpus/<parts>`, which must exist (README, "Tests": the shared checkout is a prerequisite)."""
    path = CORPUS.joinpath(*parts)
    if not path.exists():
        pytest.fail(
            f"the shared test corpus is missing: expected {path} (../shared/corpus beside the repository {REPO}); "
            "put the shared test material there first (README, 'Tests')",
            pytrace=False,
        )
    return path
