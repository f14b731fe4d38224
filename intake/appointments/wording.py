"""What the beneficiary reads about an appointment: the Romanian wording, kept apart from the code.

Day and month names are our own tables, not the system locale: the daemon runs in containers whose
locale is C, and a date must read the same on every machine.
"""

from __future__ import annotations

WEEKDAYS = ("luni", "marți", "miercuri", "joi", "vineri", "sâmbătă", "duminică")  # Monday first, like weekday()
MONTHS = (
    "ianuarie",
    "februarie",
    "martie",
    "aprilie",
    "mai",
    "iunie",
    "iulie",
    "august",
    "septembrie",
    "octombrie",
    "noiembrie",
    "decembrie",
)

# "ora României" every time a time is written: the reader may be abroad, or read on a phone set to another zone.
LOCAL_TIME_LABEL = "ora României"

PURPOSES = {
    "clarification": "pentru clarificarea dosarului",
    "decision": "pentru verificarea identității și înmânarea deciziei",
}

APPOINTMENT = (
    "Vă rugăm să vă prezentați la {office_name}, {address}, în data de {day}, ora {time} ({label}), {purpose}."
)

REASONS_HEADER = {
    "clarification": "Motivul programării (ce trebuie lămurit sau completat):",
    "decision": "De reținut:",
}

BRING = {
    "clarification": (
        "Aduceți actul de identitate în original și documentele menționate mai sus, completate sau corectate, "
        "în original."
    ),
    "decision": "Aduceți actul de identitate în original; decizia vă va fi înmânată personal.",
}

LEGAL_BASIS = (
    "Conform procedurii, clarificarea are loc cel târziu în 5 zile lucrătoare de la primirea documentelor "
    "în format electronic, adică cel târziu {deadline_day}."
)

OVERFLOW = (
    "Toate locurile obișnuite până la termenul legal erau ocupate, așa că v-am programat într-un interval "
    "suplimentar, ca să respectăm termenul. Dacă ora trebuie schimbată, vă anunțăm prin e-mail."
)

# The URL stands on its own line: no punctuation next to it for a mail client to glue onto the link.
MANAGE_LINK = "Dacă nu puteți ajunge la ora propusă, puteți alege altă oră sau anula programarea aici:\n{url}"
MANAGE_LINK_VALIDITY = "Linkul este valabil până {until}."
MANAGE_LINK_WINDOW = "Noua programare trebuie să fie cel târziu {deadline_day}, ca să respectăm termenul legal."

NO_SLOT = (
    "Nu am putut stabili automat o programare{before_deadline}. Un coleg de la {office_name} vă va contacta "
    "în cel mai scurt timp, prin e-mail sau telefonic, pentru a stabili împreună ziua și ora la care să vă prezentați."
)
NO_SLOT_DEADLINE = " în termenul legal (cel târziu {deadline_day})"

# --- the update e-mails (reminder, change, cancellation) -----------------------------------------------------

SUBJECTS = {
    "reminder": "Reamintire programare – nr. {registration}",
    "rescheduled": "Programare modificată – nr. {registration}",
    "cancelled": "Programare anulată – nr. {registration}",
}

INTROS = {
    "reminder": "Vă reamintim programarea dumneavoastră la {office_name}, pentru dosarul cu numărul {registration}.",
    "rescheduled": (
        "Programarea dumneavoastră pentru dosarul cu numărul {registration} a fost modificată. Noua programare:"
    ),
    "cancelled": (
        "Programarea dumneavoastră din {day}, ora {time} ({label}), la {office_name}, pentru dosarul cu numărul "
        "{registration}, a fost anulată."
    ),
}

CALENDAR_NOTES = {
    "reminder": "Invitația atașată (programare.ics) poate fi adăugată în calendarul dumneavoastră.",
    "rescheduled": "Invitația atașată (programare.ics) înlocuiește invitația trimisă anterior în calendar.",
    "cancelled": "Invitația atașată (programare.ics) elimină programarea din calendarul dumneavoastră.",
}

CANCELLED_NEXT = (
    "Dacă doriți o nouă programare sau aveți întrebări despre dosar, răspundeți la acest mesaj și păstrați "
    "numărul de înregistrare în subiect."
)

UPDATE_BODY = """Bună ziua,

{intro}

{details}

{calendar_note}

{notice}

{signature}
"""

# --- the calendar invite ---------------------------------------------------------------------------------------

INVITE_SUMMARY = {
    "clarification": "Programare la {office_name}: clarificarea dosarului nr. {registration}",
    "decision": (
        "Programare la {office_name}: verificarea identității și înmânarea deciziei (dosarul nr. {registration})"
    ),
}
INVITE_ALARM = "Mâine: programare la {office_name}, ora {time} ({label})."
