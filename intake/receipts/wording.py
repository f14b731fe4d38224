"""What the beneficiary reads: the Romanian wording of our replies, kept apart from the code that sends it."""

from __future__ import annotations

SIGNATURE = "Cu stimă,\nRegistratura AJOFM Cluj"

AUTOMATIC_NOTICE = (
    "Acesta este un mesaj trimis automat. Dacă doriți să completați dosarul, răspundeți la acest mesaj "
    "și păstrați numărul de înregistrare în subiect."
)

ACK_SUBJECT = "Confirmare de primire: {subject}"
ACK_BODY = """Bună ziua,

Confirmăm primirea mesajului dumneavoastră, sosit la {received}.

Verificăm formularele și documentele trimise. În scurt timp veți primi recipisa cu numărul de \
înregistrare și lista documentelor primite.

{notice}

{signature}
"""

RECEIPT_SUBJECT = "Recipisă nr. {registration}: {subject}"
RECEIPT_BODY = """Bună ziua,

Mesajul dumneavoastră, sosit la {received}, a fost înregistrat la registratura {office_name} \
cu numărul {registration}.

Documente primite:
{documents}
{findings}{appointment}
Recipisa semnată electronic, cu lista documentelor primite, este atașată acestui mesaj ({attachment}).

{notice}

{signature}
"""

NO_ATTACHMENTS = "  (mesajul nu conține atașamente)"
FINDINGS_HEADER = "\nAm constatat următoarele:\n"

DOCUMENT_ACCEPTED = "acceptat"
DOCUMENT_REJECTED = "respins"

NO_SUBJECT = "(fără subiect)"

RECEIPT_FILENAME = "recipisa-{number}-{year}.pdf"


def pages_label(pages: int | None) -> str:
    if pages is None:
        return ""
    return "1 pagină" if pages == 1 else f"{pages} pagini"
