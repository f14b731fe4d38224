"""Who signs for a company: its legal representative or a proxy (the power of attorney of checklists.toml).

An employer acts through its legal representative (administrator, director, the mayor for a local authority) or
through someone it empowered. Only the proxy needs a power of attorney, so the checklists ask for it when the forms
or the e-mail say a proxy signs ("în calitate de împuternicit", "conform împuternicirii nr. ...", "prin
mandatar"), and list it "dacă este cazul" when they do not tell. A form's printed label ("Reprezentant
legal/împuternicit: ......") says nothing: only a statement of capacity counts. When both appear, the proxy wins:
the representative named on a form is often the one who empowered the person writing.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from intake.validation.text import normalize

PROXY = "proxy"  # the situation name in checklists.toml (`required_if`)

_PROXY = (
    re.compile(r"(?<![a-z])in calitate de (?:imputernicit|imputernicita|mandatar|delegat)(?![a-z])"),
    re.compile(r"(?<![a-z])prin (?:imputernicit|imputernicitul|mandatar|mandatarul)(?![a-z])"),
    re.compile(r"(?<![a-z])(?:conform|in baza|potrivit)\s+(?:imputernicirii|procurii|mandatului|delegatiei)(?![a-z])"),
    re.compile(r"(?<![a-z])(?:imputernicire|procura)(?:\s+speciala|\s+notariala)?\s+nr\.?\s*\d"),
)
_REPRESENTATIVE = (
    re.compile(
        r"(?<![a-z])in calitate de (?:administrator|administrator unic|director|director general|director executiv|"
        r"reprezentant legal|asociat unic|presedinte|primar|manager)(?![a-z])"
    ),
    re.compile(r"(?<![a-z])(?:reprezentata|reprezentat) legal prin\s+[a-z]"),
)


def signs_as_proxy(texts: Iterable[str]) -> bool | None:
    """True when the texts say a proxy signs, False when they name the legal representative's capacity, None
    when they do not tell."""
    folded = normalize("\n".join(texts))
    if any(pattern.search(folded) for pattern in _PROXY):
        return True
    if any(pattern.search(folded) for pattern in _REPRESENTATIVE):
        return False
    return None


def situations(texts: Iterable[str]) -> frozenset[str]:
    """The situations of checklists.toml `required_if` that the texts show."""
    return frozenset({PROXY}) if signs_as_proxy(texts) else frozenset()
