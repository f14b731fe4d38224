"""What is not prose in our replies: file names and small labels. Every sentence the beneficiary reads is a template
in intake/texts/templates (the agency edits those, not this file)."""

from __future__ import annotations

from intake import texts

NO_SUBJECT = "(fără subiect)"
RECEIPT_FILENAME = "recipisa-{number}-{year}.pdf"


def pages_label(pages: int | None) -> str:
    if pages is None:
        return ""
    return "1 pagină" if pages == 1 else f"{pages} pagini"


def automatic_notice() -> str:
    return texts.part("incheiere_email", "nota_automata")


def signature(office_short: str = "AJOFM Cluj") -> str:
    return texts.part("incheiere_email", "semnatura", birou_scurt=office_short)
