"""Every internal code staff may meet, with the Romanian words they read instead (issue 12, point 6).

One catalogue, as data: the staff pages (Jinja filters `eticheta`, `data`, `data_ora`), the CLI's human output and
the reports look codes up here, so a clerk never reads `signature_missing`, `id_document` or `stage:parse`. The
codes themselves stay what the contract names (JSON, database, metrics); only what a person reads is translated.

`tests/unit/test_labels.py` enumerates the codes the code base can produce (the enums and constants of findings,
document kinds, signature labels and reasons, states, events, replies) and fails when one has no label here.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import date, datetime
from typing import Any

from intake.clock import local
from intake.signatures.labels import BY_CODE
from intake.texts import clock, first_upper, short_date

FINDINGS: dict[str, str] = {
    "missing_document": "Document lipsă",
    "illegible": "Document ilizibil",
    "forbidden_attachment": "Atașament nepermis",
    "corrupt_attachment": "Atașament deteriorat",
    "encrypted_attachment": "Atașament criptat (protejat cu parolă)",
    "oversized": "Mesaj sau atașament prea mare",
    "parts_left_out": "Părți ale mesajului neluate în considerare",
    "signature_missing": "Semnătură lipsă",
    "signature_invalid": "Semnătură invalidă",
    "signature_not_qualified": "Semnătură necalificată",
    "signature_indeterminate": "Semnătură ce nu a putut fi verificată",
    "signer_mismatch": "Semnatarul diferă de solicitant",
    "identity_mismatch": "Date de identitate neconcordante",
    "consent_missing": "Lipsește acordul pentru comunicarea electronică",
    "request_type_unknown": "Tipul cererii nu a putut fi stabilit",
    "appointment_unavailable": "Niciun loc liber la programare",
    "invalid_cnp": "CNP invalid pe formular",
    "third_party_signature": "Documentul poartă și semnătura altei persoane",
    "deadline_missed": "Termenul legal de clarificare a fost depășit",
    "documents_after_confirmation": "Documente primite după confirmarea dosarului",
    "benefit_category_unknown": "Categoria solicitantului nu reiese din cerere (de confirmat)",
    "territorial_competence": "Domiciliul/reședința în alt județ (competența teritorială)",
    "sender_unauthenticated": "Expeditor neautentificat: niciun răspuns trimis",
    "possibly_related": "Posibil legat de alt dosar (expeditor nedovedit)",
    "appointment_held": "Programare de stabilit manual",
    "id_expired": "Act de identitate expirat",
    "id_not_checked": "Act de identitate neverificat automat (MRZ necitit)",
}

DOCUMENT_KINDS: dict[str, str] = {
    "application": "Cerere de acordare a indemnizației de șomaj",
    "declaration": "Declarație privind restricțiile medicale",
    "registration_form": "Fișă de înregistrare",
    "id_document": "Act de identitate",
    "diploma": "Act de studii",
    "cv": "Curriculum vitae",
    "employment_record": "Carnet de muncă / extras Revisal",
    "employer_certificate": "Adeverință de la angajator",
    "medical_review_decision": "Decizie de revizuire medicală",
    "no_vacancy_certificate": "Adeverință: niciun post vacant pentru reîncadrare",
    "successor_certificate": "Adeverință a angajatorului preluator",
    "suspension_end_document": "Document privind încetarea suspendării",
    "provider_certificate": "Adeverință a furnizorului de servicii de ocupare",
    "court_judgment": "Hotărâre judecătorească de reintegrare",
    "reinstatement_request": "Cerere de repunere în plată",
    "transfer_request": "Cerere de transfer al dosarului",
    "allowance_application": "Cerere pentru alocația lunară (art. 72)",
    "graduate_bonus_application": "Cerere pentru prima de încadrare a absolvenților (art. 73^1 alin. 1)",
    "graduate_sum_application": "Cerere pentru suma acordată absolvenților (art. 73^1 alin. 2)",
    "hiring_bonus_application": "Cerere pentru prima de încadrare (art. 74)",
    "installation_bonus_application": "Cerere pentru prima de instalare (art. 75)",
    "undertaking": "Angajament (art. 76 alin. 1)",
    "employment_notice": "Înștiințare privind încadrarea în muncă",
    "employment_contract": "Contract individual de muncă sau act de numire",
    "employer_statement": "Declarație pe propria răspundere a angajatorului",
    "graduate_statement": "Declarație pe propria răspundere a absolventului",
    "community_convention": "Convenție pentru programe de dezvoltare comunitară",
    "graduate_convention": "Convenție pentru încadrarea absolvenților (art. 80)",
    "graduate_monthly_table": "Tabel nominal lunar cu absolvenții încadrați",
    "training_addendum": "Act adițional pentru formarea profesională (art. 84)",
    "training_graduates_table": "Tabel nominal cu absolvenții formării",
    "cost_estimate": "Devizul cheltuielilor de formare",
    "disadvantaged_convention": "Convenție pentru încadrarea persoanelor defavorizate (art. 85)",
    "disadvantaged_monthly_table": "Tabel nominal lunar cu persoanele defavorizate încadrate",
    "contribution_reduction_application": "Cerere pentru reducerea contribuției (art. 93)",
    "hires_table": "Tabel nominal cu șomerii încadrați",
    "timesheet": "Pontaj",
    "payroll": "Stat de plată",
    "disability_certificate": "Certificat de încadrare în grad de handicap",
    "disability_quota_statement": "Declarație privind cota de persoane cu handicap",
    "single_parent_statement": "Declarație a părintelui unic susținător",
    "power_of_attorney": "Împuternicire / procură",
    "apprenticeship_request": "Cerere pentru ucenicie la locul de muncă",
    "traineeship_request": "Cerere pentru stagiul absolvenților",
    "student_employment_request": "Cerere pentru stimularea angajării elevilor și studenților",
    "other": "Alt document",
}

DOCUMENT_ORIGINS: dict[str, str] = {
    "attachment": "atașament",
    "inline": "inclus în textul mesajului",
    "tnef": "din winmail.dat (Outlook)",
    "forwarded": "dintr-un mesaj redirecționat",
    "p7m": "din plicul semnat .p7m",
}

SIGNATURE_LABELS: dict[str, str] = {
    "QES": "Semnătură calificată (QES)",
    "AdES-QC": "Semnătură avansată cu certificat calificat (AdES-QC)",
    "AdES": "Semnătură avansată, necalificată (AdES)",
    "invalid": "Semnătură invalidă",
    "indeterminate": "Nedeterminat — verificați manual",
    "none": "Fără semnătură",
}

# The same verdicts in the citizen's words, on the case status page (/dosar): no acronym to decode, and what an
# undecided check means for them (a clerk looks), never "verificați manual".
SIGNATURE_LABELS_CITIZEN: dict[str, str] = {
    "QES": "semnătură electronică calificată, validă",
    "AdES-QC": "semnătură cu certificat calificat, fără dovada unui dispozitiv calificat de creare a semnăturii",
    "AdES": "semnătură electronică avansată, fără certificat calificat",
    "invalid": "semnătură invalidă",
    "indeterminate": "semnătura nu a putut fi verificată automat; o verifică un funcționar",
    "none": "fără semnătură electronică",
}

# Where a case stands, the headline of its status page (intake.case_status.standing).
CASE_STANDINGS: dict[str, str] = {
    "processing": "Mesajul dumneavoastră este în curs de procesare.",
    "quarantined": "Mesajul nu a putut fi procesat automat. Un funcționar al registraturii îl verifică.",
    "clarification": "Sunt câteva lucruri de clarificat. Vedeți mai jos ce anume și de ce.",
    "verification": "Dosarul este complet și se află în verificare. Invitația la sediu va urma.",
    "confirmed": "Dosarul a fost verificat. Vă așteptăm la sediu la data programării.",
    "in_progress": "Dosarul este în lucru.",
}

# How a signature's time is known (the verdict's `time_source`).
SIGNATURE_TIME_SOURCES: dict[str, str] = {
    "timestamp": "dovedită prin marcă temporală",
    "claimed": "declarată de semnatar, nedovedită",
    "validation": "nedeclarată; verificată la data verificării",
}

# Reasons without a citizen-facing cause in intake.signatures.labels.REASONS (the others reuse that wording).
_SIGNATURE_REASONS_STAFF: dict[str, str] = {
    "not_qualified": "certificatul nu este calificat",
    "no_qscd": "certificat calificat, fără dovada că cheia este pe un dispozitiv calificat (QSCD)",
    "qc_type_eseal": "certificat calificat de sigiliu (al unei organizații), nu de semnătură",
    "qc_type_web": "certificat calificat pentru site-uri web, nu de semnătură",
    "qc_type_ambiguous": "tipul certificatului calificat este ambiguu",
    "qc_type_not_in_service_scope": "serviciul de încredere nu acoperă acest tip de certificat",
    "ca_not_in_trusted_list_at_signing_time": "emitentul nu era calificat în lista de încredere la data semnării",
    "ca_not_in_trusted_list_at_issuance": "emitentul nu era calificat în lista de încredere la emiterea certificatului",
    "claimed_time_unproven": "fără marcă temporală: ora este cea declarată de semnatar",
    "timestamp_untrusted": "autoritatea mărcii temporale nu este de încredere",
    "revoked_after_signing": "certificatul a fost revocat după semnare",
    "revocation_not_checked": "revocarea nu a fost verificată (configurare)",
    "revocation_soft_failed": "informațiile de revocare lipseau (verificare permisivă)",
    "self_signed_certificate": "certificat autosemnat",
    "signature_referenced_from_multiple_fields": "aceeași semnătură este folosită de mai multe câmpuri",
    "difference_analysis_failed": "analiza modificărilor ulterioare a eșuat",
    "retried_non_strict": "PDF citit în mod permisiv",
    "hybrid_xref_retried_non_strict": "PDF cu referințe hibride, citit în mod permisiv",
    "third_party_signature": "documentul este semnat și de altă persoană",
    "other_signature_not_valid": "o altă semnătură de pe document nu este validă",
    "no_signature": "documentul nu este semnat",
    "unreadable_pdf": "fișierul PDF nu a putut fi citit",
    "encrypted": "fișierul PDF este criptat",
    "unreadable_cms": "semnătura detașată nu a putut fi citită",
    "tsa_not_granted_at_timestamp_time": "autoritatea mărcii temporale nu era calificată la data mărcii",
    "revocation_unreachable": "starea de revocare a certificatului nu a putut fi obținută",
}

ROLES: dict[str, str] = {"registry": "Registratură", "ops": "Operațiuni", "admin": "Administrator"}

SUBMISSION_STATES: dict[str, str] = {
    "received": "primit, în procesare",
    "ignored": "ignorat",
    "registered": "înregistrat",
    "receipted": "recipisă emisă",
    "quarantined": "în carantină",
}

# The same, as the ops page counts them ("12 primite, în lucru").
SUBMISSION_STATES_COUNTED: dict[str, str] = {
    "received": "primite, în lucru",
    "registered": "înregistrate, în lucru",
    "receipted": "cu recipisă trimisă",
    "ignored": "ignorate (răspunsuri automate etc.)",
    "quarantined": "în carantină",
}

VERIFICATION_STATES: dict[str, str] = {
    "pending": "de verificat: dosar complet, așteaptă confirmarea unui funcționar",
    "confirmed": "confirmat",
    "reopened": "redeschis: constatări noi, programare de clarificare",
}

OUTBOX_STATES: dict[str, str] = {"pending": "în așteptare", "sent": "trimis", "failed": "eșuat"}

APPOINTMENT_STATES: dict[str, str] = {"booked": "programat", "cancelled": "anulat", "superseded": "înlocuit"}

PURPOSES: dict[str, str] = {
    "clarification": "clarificare",
    "decision": "verificarea identității și decizia",
}

STAGES: dict[str, str] = {
    "claimed": "preluat din căsuța de e-mail",
    "parse": "citirea mesajului",
    "screen": "triere (răspunsuri automate, mărime)",
    "validate": "verificarea atașamentelor",
    "verify": "recunoașterea documentelor și verificarea semnăturilor",
    "assess": "verificarea dosarului",
    "register": "înregistrare",
    "book": "programare",
    "receipt": "recipisă",
}

# The same, short, as ops read them on the charts of /panou.
STAGES_SHORT: dict[str, str] = {
    "claimed": "preluat",
    "parse": "citire",
    "screen": "triere",
    "validate": "fișiere",
    "verify": "semnături",
    "assess": "evaluare",
    "register": "înregistrare",
    "book": "programare",
    "receipt": "recipisă",
}

REPLY_KINDS: dict[str, str] = {
    "acknowledgement": "confirmare de primire",
    "receipt": "recipisă",
    "receipt_resend": "recipisă retrimisă",
    "alert": "alertă pentru echipa tehnică",
    "appointment_invitation": "invitație la programare",
    "appointment_clarification": "invitație la clarificare",
    "appointment_verification": "dosar complet, în verificare",
    "appointment_rescheduled": "programare mutată",
    "appointment_cancelled": "programare anulată",
    "appointment_reminder": "reamintire programare",
}

EVENTS: dict[str, str] = {
    "finding": "constatare",
    "error": "eroare la procesare",
    "deferred": "în așteptare: un serviciu necesar (marcare temporală, token de semnare) nu răspunde",
    "quarantined": "pus în carantină",
    "replayed": "repus în procesare",
    "registration_held": "înregistrare amânată (mesaje anterioare în lucru)",
    "receipt_resent": "recipisă retrimisă",
    "reply_too_large": "răspuns prea mare pentru trimitere",
    "undeliverable": "răspuns netrimis",
    "visit_change": "vizită modificată prin recipisă",
    "verification_pending": "dosar complet, de verificat",
    "verification_confirmed": "dosar confirmat",
    "verification_reopened": "verificare redeschisă",
    "appointment_booked": "programare făcută",
    "appointment_changed": "programare schimbată",
    "appointment_rescheduled": "programare mutată",
    "appointment_cancelled": "programare anulată",
    "evidence_refreshed": "marcă temporală nouă adăugată recipisei (arhivare pe termen lung)",
    # `stage:<name>` and `sent:<kind>` are composed from STAGES and REPLY_KINDS (event_label).
}

AUDIT_ACTIONS: dict[str, str] = {
    "login": "autentificare",
    "logout": "ieșire din aplicație",
    "resolve": "caz rezolvat",
    "add_finding": "constatare adăugată",
    "clear_finding": "constatare închisă",
    "book_appointment": "programare făcută",
    "confirm_file": "dosar confirmat",
    "move_appointment": "programare mutată",
    "cancel_appointment": "programare anulată",
    "resend_receipt": "recipisă retrimisă",
    "mark_consent": "consimțământ marcat ca primit",
    "reprocess": "repus în procesare",
    "replay": "repus în procesare (din carantină)",
    "report_download": "raport descărcat",
    "user_add": "utilizator adăugat",
    "user_activate": "utilizator activat",
    "user_deactivate": "utilizator dezactivat",
    "purge": "date șterse la expirarea termenului de păstrare",
    "legal_hold_set": "dosar reținut (nu se șterge)",
    "legal_hold_clear": "reținerea dosarului ridicată",
    "subject_export": "export al datelor unei persoane (GDPR art. 15)",
    "evidence_refreshed": "marcă temporală nouă adăugată recipisei (arhivare pe termen lung)",
}

# What `intake purge` erases (intake/retention.py), as the history and the purge's audit entries show it.
RETENTION_KINDS: dict[str, str] = {
    "raw_mail": "mesajul original și datele expeditorului",
    "attachments": "documentele atașate",
    "evidence": "recipisele, răspunsurile trimise și rapoartele de validare",
    "audit": "intrări vechi din jurnalul de audit",
}

# Detail keys the history does not show a clerk: the traceback is for ops (the logs and `intake show`), the ids of
# the messages an assessment counted are for the pipeline's own bookkeeping (intake.stages.assess).
HIDDEN_DETAIL_KEYS = frozenset({"traceback", "assessed_case_ids"})

# The keys of event and audit details, as the history shows them.
DETAIL_KEYS: dict[str, str] = {
    "code": "constatare",
    "codes": "constatări",
    "open_findings": "constatări deschise",
    "staff_only": "doar pentru personal",
    "duration_ms": "durată",
    "reason": "motiv",
    "stage": "etapa",
    "error": "eroare",
    "traceback": "detalii tehnice",
    "behind": "după mesajele",
    "was": "stare anterioară",
    "closed": "constatări închise",
    "cleared_findings": "constatări închise",
    "purpose": "scop",
    "start": "ora",
    "overflow": "peste capacitate",
    "short_notice": "cu preaviz scurt",
    "before": "înainte",
    "after": "după",
    "message_id": "Message-ID",
    "recipient": "destinatar",
    "state": "stare",
    "resolved_at": "rezolvat la",
    "resolved_by": "rezolvat de",
    "flagged": "semnalat",
    "consent": "consimțământ",
    "message": "mesaj",
    "finding_id": "nr. constatare",
    "cleared_at": "închisă la",
    "visit": "vizită",
    "appointment": "programare",
    "appointment_id": "nr. programare",
    "sequence": "versiune",
    "verification": "verificare",
    "staff_findings": "constatări pentru personal",
    "quarantine_reason": "motivul carantinei",
    "attempts": "încercări",
    "user": "utilizator",
    "role": "rol",
    "kind": "tip",
    "by": "prin mesajul (nr. intern)",
    "previous": "anterior",
    "added_by": "adăugată de",
    "label": "semnătură",
    "what": "ce s-a șters",
    "messages": "mesaje",
    "files": "fișiere",
    "retention_ended": "termen de păstrare încheiat la",
    "entries": "intrări",
    "subject": "persoana (amprentă, nu CNP)",
    "subject_kind": "căutare după",
    "cases": "dosare",
    "hold_reason": "motivul reținerii",
    "version": "versiune",
    "sha256": "SHA-256",
    "expires_at": "verificabilă până la",
}

# What changed in a visit the recipisă announces (intake.appointments.case, the `visit_change` event's kind).
VISIT_CHANGES: dict[str, str] = {
    "booked": "programare nouă",
    "moved": "programare mutată",
    "reasons": "motive actualizate",
    "cancelled": "programare anulată",
    "pending": "dosar complet, de verificat",
    "no_slot": "niciun loc liber",
    "none": "nicio schimbare",
}

QUARANTINE_REASONS: dict[str, str] = {
    "the message has no usable From address: it cannot be answered": (
        "Mesajul nu are o adresă de expeditor utilizabilă: nu i se poate răspunde."
    ),
}

GROUPS: dict[str, Mapping[str, str]] = {
    "constatare": FINDINGS,
    "document": DOCUMENT_KINDS,
    "origine": DOCUMENT_ORIGINS,
    "semnatura": SIGNATURE_LABELS,
    "stare": SUBMISSION_STATES,
    "verificare": VERIFICATION_STATES,
    "trimitere": OUTBOX_STATES,
    "programare": APPOINTMENT_STATES,
    "scop": PURPOSES,
    "etapa": STAGES,
    "raspuns": REPLY_KINDS,
    "actiune": AUDIT_ACTIONS,
    "detaliu": DETAIL_KEYS,
    "retentie": RETENTION_KINDS,
}


def signature_reason(code: str) -> str:
    """The reason's Romanian wording: the recipisă's cause where there is one, else the staff wording."""
    reason = BY_CODE.get(code)
    if reason is not None and reason.cause_ro:
        return reason.cause_ro
    return _SIGNATURE_REASONS_STAFF.get(code, _unknown(code))


def event_label(action: str) -> str:
    """What intake did, in words: `stage:verify` → "etapă încheiată: verificarea…", `sent:receipt` → "trimis: …"."""
    prefix, _, rest = action.partition(":")
    if rest and prefix == "stage":
        return f"etapă încheiată: {STAGES.get(rest, _unknown(rest))}"
    if rest and prefix == "sent":
        return f"trimis: {REPLY_KINDS.get(rest, _unknown(rest))}"
    return EVENTS.get(action) or AUDIT_ACTIONS.get(action) or _unknown(action)


def label(code: Any, group: str) -> str:
    """The Romanian label of `code` in `group` (a key of GROUPS, or "motiv" / "eveniment")."""
    if code is None or code == "":
        return "—"
    code = str(code)
    if group == "motiv":
        return signature_reason(code)
    if group == "eveniment":
        return event_label(code)
    return GROUPS[group].get(code, _unknown(code))


def _unknown(code: str) -> str:
    """A code the catalogue lacks (a newer version's data): readable words rather than a snake_case token. The
    completeness test keeps this for data written by other versions only."""
    return code.replace("_", " ").replace(":", ": ")


# The parser's notes on a malformed message (intake.mailbox.parse), for the case page.
MESSAGE_DEFECTS: dict[str, str] = {
    "empty message": "mesaj gol",
    "missing From": "lipsește expeditorul (From)",
    "unparseable From": "expeditorul (From) nu poate fi citit",
    "missing Date": "lipsește data trimiterii (Date)",
    "unparseable Date": "data trimiterii (Date) nu poate fi citită",
    "missing Message-ID": "lipsește identificatorul mesajului (Message-ID)",
    "unreadable header block": "antetul mesajului nu poate fi citit",
    "unreadable Content-Type": "tipul conținutului nu poate fi citit",
    "encoded message/rfc822 part": "mesaj atașat codificat neobișnuit",
    "undecodable encoded message/rfc822 part": "un mesaj atașat nu poate fi decodificat",
    "unreadable attachment filename": "numele unui atașament nu poate fi citit",
    "undecodable encoded word in filename": "numele unui atașament are o codificare greșită",
    "undecodable part payload": "o parte a mesajului nu poate fi decodificată",
    "unserialisable message part": "o parte a mesajului nu poate fi citită",
    "undecodable TNEF (winmail.dat) attachment": "atașamentul winmail.dat nu poate fi decodificat",
    "winmail.dat held no files and no readable body": "winmail.dat nu conține fișiere sau text",
    "mesajul original nu a fost găsit în arhivă": "mesajul original nu a fost găsit în arhivă",  # the case page's
}


def message_defect(text: str) -> str:
    """A parser note in Romanian; the rare ones with numbers in them keep their technical words after a prefix."""
    return MESSAGE_DEFECTS.get(text) or f"problemă tehnică de format: {text}"


def quarantine_reason(reason: str | None) -> str:
    if not reason:
        return "—"
    known = QUARANTINE_REASONS.get(reason)
    if known:
        return known
    failed = re.match(r"failed (\d+) times; last error: ", reason)
    if failed:
        return f"Procesarea a eșuat de {failed.group(1)} ori (detaliile tehnice sunt în istoric)."
    return reason


# --- details (history) -------------------------------------------------------------------------------------

_VALUE_GROUPS = {"code": "constatare", "codes": "constatare", "open_findings": "constatare", "closed": "constatare",
                 "purpose": "scop", "state": "stare", "was": "verificare", "verification": "verificare",
                 "staff_findings": "constatare", "role": "actiune", "kind": "raspuns",
                 "what": "retentie", "stage": "etapa"}  # fmt: skip
_ANY_CODE = (SUBMISSION_STATES, APPOINTMENT_STATES, OUTBOX_STATES, VERIFICATION_STATES, PURPOSES, SIGNATURE_LABELS,
             FINDINGS, REPLY_KINDS)  # fmt: skip
_ISO_MOMENT = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}")


def detail_text(detail: Mapping[str, Any] | None, timezone: str) -> str:
    """An event's or audit entry's detail as "constatare: Semnătură lipsă; durată: 12 ms", never raw keys."""
    if not detail:
        return ""
    parts = []
    for key, value in detail.items():
        if key in HIDDEN_DETAIL_KEYS:
            continue
        parts.append(f"{DETAIL_KEYS.get(key, _unknown(key))}: {_detail_value(key, value, timezone)}")
    return "; ".join(parts)


def _detail_value(key: str, value: Any, timezone: str) -> str:
    if isinstance(value, bool):
        return "da" if value else "nu"
    if value is None or value == "" or value == []:
        return "—"
    if key == "duration_ms" and isinstance(value, int | float):
        return f"{round(value)} ms"
    if isinstance(value, Mapping):
        return "{" + detail_text(value, timezone) + "}"
    if isinstance(value, list | tuple):
        return ", ".join(_detail_value(key, item, timezone) for item in value)
    if key in _VALUE_GROUPS:
        group = GROUPS[_VALUE_GROUPS[key]]
        if str(value) in group:
            return group[str(value)]
    if key == "kind" and str(value) in VISIT_CHANGES:
        return VISIT_CHANGES[str(value)]
    for table in _ANY_CODE:  # a code under a key of its own (an appointment's `state`, a signature `label`)
        if str(value) in table:
            return table[str(value)]
    if isinstance(value, str) and _ISO_MOMENT.match(value):
        try:
            return date_time(datetime.fromisoformat(value), timezone)
        except ValueError:
            return value
    return str(value)


# --- dates ---------------------------------------------------------------------------------------------------


def date_time(moment: datetime | None, timezone: str | None = None) -> str:
    """dd.mm.yyyy HH:MM, in the office's zone when one is given (the staff pages' one form of a moment)."""
    if moment is None:
        return "—"
    if timezone is not None and moment.tzinfo is not None:
        moment = local(moment, timezone)
    return f"{short_date(moment)} {clock(moment)}"


def day(value: date | datetime | None) -> str:
    return "—" if value is None else short_date(value)


_DAY_INPUT = re.compile(r"^\s*(\d{1,2})[./-](\d{1,2})[./-](\d{4})\s*$")


def parse_day(text: str | None) -> date | None:
    """A day typed by a person: "07.12.2026" (the Romanian form; also 7/12/2026, 7-12-2026) or ISO "2026-12-07"
    (what a browser's date picker sends); None when it is not a real day."""
    if not text:
        return None
    found = _DAY_INPUT.match(text)
    try:
        if found:
            day_, month, year = (int(part) for part in found.groups())
            return date(year, month, day_)
        return date.fromisoformat(text.strip())
    except ValueError:
        return None


def install(environment: Any) -> None:
    """The Jinja filters of the staff pages: `code|eticheta("constatare")`, `moment|data_ora`, `day|data`."""
    environment.filters.update(
        eticheta=label,
        data=day,
        data_ora=date_time,
        motiv_carantina=quarantine_reason,
        defect=message_defect,
        majuscula=first_upper,
    )
