"""The law on signatures, as data: which documents need a qualified signature, and what a weaker one means.

001 Art. 5(5): by e-mail, the benefit application (Anexa 3) and the declaration on medical restrictions
(Anexa 1^1) are sent "în format electronic cu semnătură electronică extinsă, bazată pe un certificat
calificat"; every other document is a copy certified by the applicant and needs no qualified signature.
The same declaration also serves a job-seeker registration, where a scan is enough (procedure §7 item 1):
the stricter rule applies when the application is part of the submission.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from intake import texts
from intake.signatures.labels import LABEL_STRENGTH, strongest

__all__ = ["LABEL_STRENGTH", "SignaturePolicy", "finding_message", "requires_qualified_signatures", "strongest"]

# Kinds that make the submission a benefit request, and the kinds that then need a qualified signature.
TRIGGERING_KINDS = frozenset({"application"})
QUALIFIED_SIGNATURE_REQUIRED = ("application", "declaration")

KIND_NAMES_RO = {
    "application": "cererea pentru acordarea indemnizației de șomaj",
    "declaration": "declarația pe propria răspundere",
    "registration_form": "fișa de înregistrare",
    "id_document": "actul de identitate",
    "diploma": "actul de studii",
    "cv": "curriculum vitae",
    "employment_record": "carnetul de muncă",
    "employer_certificate": "adeverința de la angajator",
    "other": "documentul",
}

# Kinds whose Romanian name is feminine: "cererea ... este semnată", "actul ... este semnat".
FEMININE_KINDS = frozenset({"application", "declaration", "registration_form", "employer_certificate"})


@dataclass(frozen=True)
class SignaturePolicy:
    accept_ades_qc: bool = False

    def finding_code(self, label: str) -> str | None:
        """The finding a required document's label leads to, or None when the label satisfies the law."""
        if label == "QES" or (label == "AdES-QC" and self.accept_ades_qc):
            return None
        return {
            "none": "signature_missing",
            "invalid": "signature_invalid",
            "indeterminate": "signature_indeterminate",
        }.get(label, "signature_not_qualified")


def requires_qualified_signatures(kinds: Iterable[str]) -> bool:
    return bool(TRIGGERING_KINDS & set(kinds))


def finding_message(
    code: str, kind: str, filename: str, summary: str, *, label: str | None = None, office_short: str = "AJOFM Cluj"
) -> str:
    """The Romanian finding, from the editable template `constatare_<code>.txt` (intake/texts/templates)."""
    return texts.render(
        f"constatare_{code}",
        document=KIND_NAMES_RO.get(kind, KIND_NAMES_RO["other"]),
        feminin=kind in FEMININE_KINDS,
        fisier=filename,
        rezumat=summary,
        eticheta=label,
        birou_scurt=office_short,
    )
