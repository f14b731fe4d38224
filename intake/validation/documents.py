"""What each attachment is: the application, the declaration, an ID copy, a diploma, ...

The law treats two documents apart: the unemployment-benefit application (Anexa 3) and the medical-
restrictions declaration (Anexa 1^1) must carry a signature based on a qualified certificate; everything
else is a copy certified by the applicant (procedure §2.2, §7 item 1). And a checklist can only say a document
is missing if the document can be recognised, so every form the checklists name has a kind of its own (the
contract's kinds, then the requests of 001 Art. 20, 22 and 003 Art. 40-45, the benefit's category documents,
the employers' forms of 003 Art. 48-62 and the three laws of 000). The kind of every attachment is recorded,
from the strongest evidence available:

1. a title of the form, as a heading: in capitals or alone on its line, at the start of a line. Body text
   mentions other documents ("b) declarație pe propria răspundere, sub sancțiunile ..." inside the
   application), so a phrase in running text is no title. Forms that share a title ("DECLARAȚIE PE PROPRIA
   RĂSPUNDERE", "ADEVERINȚĂ", "CONVENȚIE", "TABEL NOMINAL", "CERERE") are told apart by what they say
   (`context`): a company's sworn statement is the employer's, not the Anexa 1^1 declaration;
2. body keywords and AcroForm field names (weak: at least two points are needed);
3. the file name (images have no text: no OCR here).

All matching is on the folded form of `intake.validation.text` (diacritics, ş/ș, case, line breaks).
Nothing here raises: a PDF that cannot be read simply has no text.
"""

from __future__ import annotations

import hashlib
import io
import logging
import re
import threading
import time
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from pathlib import PurePath
from typing import Any

from pypdf import PasswordType, PdfReader
from pypdf.generic import ArrayObject, ByteStringObject, DictionaryObject, IndirectObject, NameObject

from intake.validation import pdf_budget
from intake.validation.text import Folded, fold, normalize, phrase_pattern

logging.getLogger("pypdf").setLevel(logging.ERROR)
log = logging.getLogger(__name__)

CONFIDENCE_TITLE = "title"
CONFIDENCE_KEYWORDS = "keywords"
CONFIDENCE_FILENAME = "filename"
CONFIDENCE_NONE = "none"

OTHER = "other"


@dataclass(frozen=True)
class DocumentKind:
    name: str  # contract.md `document.kind`
    description: str  # English, for evidence strings
    titles: tuple[str, ...] = ()  # headings of the form (strong)
    keywords: tuple[str, ...] = ()  # phrases of the body (weak: one point each)
    filename_hints: tuple[str, ...] = ()  # words of the file name, folded; short ones must match a whole word
    field_hints: tuple[str, ...] = ()  # words of AcroForm field names (two points each)
    # A PDF holding several forms is filed under the kind with the stricter rule: the application, then the
    # declaration (procedure §7 item 1: when both rules could apply, the stricter one does).
    priority: int = 0
    # Several forms share a title ("DECLARAȚIE PE PROPRIA RĂSPUNDERE", "CONVENȚIE", "TABEL NOMINAL", "CERERE"):
    # a title of a kind with `context` counts only when the text also has one of these phrases, and among such
    # kinds at the same title the one with the most context phrases wins.
    context: tuple[str, ...] = ()
    # A title does not count for this kind when the text has one of these phrases (a declaration about medical
    # restrictions is the Anexa 1^1 one, whatever else it says).
    exclude: tuple[str, ...] = ()
    # The kind whose title this one shares and narrows: its title hit at the same place gives way to this one.
    refines: str | None = None
    # A case may hold several documents of this kind (both sides of an ID, several employment contracts): a
    # later one adds to the earlier ones instead of replacing them.
    several: bool = False


DOCUMENT_KINDS: tuple[DocumentKind, ...] = (
    DocumentKind(
        name="application",
        description="unemployment benefit application (Anexa 3)",
        titles=(
            "cerere pentru acordarea indemnizației de șomaj",
            "cerere privind acordarea indemnizației de șomaj",
            "cerere de acordare a indemnizației de șomaj",
        ),
        keywords=(
            "vă rog să aprobați plata indemnizației de șomaj",
            "acte prezentate în vederea acordării indemnizației de șomaj",
            "contract de asigurare pentru șomaj",
            "informații privind indemnizarea",
            "categoria de șomer indemnizat",
            "stagiu de cotizare",
            "acordarea indemnizației de șomaj",
            "numele și prenumele",
        ),
        filename_hints=("cerere", "cerere somaj", "cerere indemnizatie", "indemnizatie", "anexa 3", "anexa nr 3"),
        field_hints=("indemnizatie", "contract asigurare", "acte prezentate", "ajofm"),
        priority=2,
    ),
    DocumentKind(
        name="declaration",
        description="declaration on medical restrictions (Anexa 1^1)",
        titles=(
            "declarație pe propria răspundere",
            "declarație pe proprie răspundere",
            "declarație pe propria răspundere privind restricțiile medicale",
        ),
        keywords=(
            "declarație pe propria răspundere",
            "nu am restricții medicale",
            "am restricții medicale",
            "mă împiedică să prestez",
            "declar prin prezenta",
            "declar pe propria răspundere",
            "dau această declarație și o susțin",
            "art. 326",
            "falsul în declarații",
        ),
        filename_hints=(
            "declaratie",
            "declaratia",
            "propria raspundere",
            "proprie raspundere",
            "restrictii medicale",
            "anexa 1 1",
            "anexa nr 1 1",
            "anexa 11",
        ),
        field_hints=("restrictii", "restrictii medicale", "declarant"),
        priority=1,
    ),
    DocumentKind(
        name="registration_form",
        description="job seeker registration record (fișa, Anexa 1)",
        titles=(
            "fișa de înregistrare",
            "fișă de înregistrare",
            "fișa persoanei în căutarea unui loc de muncă",
            "fișă persoană în căutarea unui loc de muncă",
            "fișa de înregistrare a persoanei în căutarea unui loc de muncă",
            "fișa de evidență a persoanei în căutarea unui loc de muncă",
        ),
        keywords=(
            "datele de identificare a persoanei înregistrate",
            "adresa persoanei înregistrate",
            "date cu caracter social ale persoanei înregistrate",
            "opțiunile persoanei înregistrate",
            "prezenta fișă este conformă cu declarațiile și documentele prezentate",
            "semnătura persoanei înregistrate",
            "persoană în căutarea unui loc de muncă",
            "experiența profesională dobândită prin muncă",
        ),
        filename_hints=("fisa", "fisa inregistrare", "fisa de inregistrare", "inregistrare", "anexa 1", "anexa nr 1"),
        field_hints=("cod cor", "caen", "persoana inregistrata"),
    ),
    DocumentKind(
        name="id_document",
        several=True,
        description="identity document",
        titles=(
            "carte de identitate",
            "carte electronică de identitate",
            "carte de identitate provizorie",
            "buletin de identitate",
            "romania identity card",
            "carte d'identité",
            "pașaport",
            "passport",
            "permis de ședere",
        ),
        keywords=("idrou", "spclep", "valabilitate", "cod numeric personal", "loc naștere", "domiciliu", "seria"),
        filename_hints=(
            "ci",
            "bi",
            "id",
            "cie",
            "buletin",
            "carte identitate",
            "carte de identitate",
            "act identitate",
            "act de identitate",
            "identitate",
            "pasaport",
            "passport",
            "permis de sedere",
        ),
    ),
    DocumentKind(
        name="diploma",
        several=True,
        description="education or qualification certificate",
        titles=(
            "diplomă",
            "diplomă de bacalaureat",
            "diplomă de licență",
            "diplomă de master",
            "diplomă de absolvire",
            "certificat de absolvire",
            "certificat de calificare",
            "certificat de calificare profesională",
            "atestat",
            "foaie matricolă",
            "suplimentul la diplomă",
        ),
        keywords=("a absolvit", "media generală", "sesiunea", "specializarea", "instituția de învățământ", "promoția"),
        filename_hints=(
            "diploma",
            "diplome",
            "atestat",
            "certificat absolvire",
            "certificat de absolvire",
            "certificat calificare",
            "foaie matricola",
            "foaia matricola",
            "bacalaureat",
            "licenta",
            "acte studii",
            "studii",
        ),
    ),
    DocumentKind(
        name="cv",
        description="curriculum vitae",
        titles=("curriculum vitae", "europass"),
        keywords=(
            "informații personale",
            "experiența profesională",
            "educație și formare",
            "competențe personale",
            "limba maternă",
            "limbi străine",
            "competențe digitale",
            "permis de conducere",
        ),
        filename_hints=("cv", "curriculum", "europass", "resume"),
        field_hints=("europass",),
    ),
    DocumentKind(
        name="employment_record",
        several=True,
        description="employment record (carnet de muncă / Revisal)",
        titles=(
            "carnet de muncă",
            "carnetul de muncă",
            "extras revisal",
            "extras din registrul general de evidență a salariaților",
            "registrul general de evidență a salariaților",
        ),
        keywords=(
            "revisal",
            "contract individual de muncă",
            "data angajării",
            "data încetării",
            "temei legal încetare",
            "registrul general de evidență a salariaților",
        ),
        filename_hints=("carnet", "carnet munca", "carnet de munca", "revisal", "extras revisal", "registru salariati"),
    ),
    DocumentKind(
        name="employer_certificate",
        description="employer certificate (adeverință, Anexa 26 to the Norms)",
        titles=("adeverință",),
        keywords=(
            "angajator",
            "stagiu de cotizare",
            "contribuția de asigurări pentru șomaj",
            "a fost angajat",
            "a fost angajată",
            "contract individual de muncă",
            "art. 18",
            "anexa nr. 26",
        ),
        filename_hints=("adeverinta", "adeverinta angajator", "adeverinta salariat", "anexa 26"),
    ),
    # ----------------------------------------------------------------------------------------------
    # The benefit's category documents (001 Art. 5(4) A-E) that have a recognisable form.
    DocumentKind(
        name="medical_review_decision",
        description="medical review decision on the work capacity (001 Art. 5(4) B b)",
        titles=(
            "decizie medicală asupra capacității de muncă",
            "decizia medicală asupra capacității de muncă",
            "decizie de revizuire medicală",
            "decizia de revizuire medicală",
            "decizie de revizuire",
        ),
        keywords=(
            "revizuire medicală",
            "capacitatea de muncă",
            "capacității de muncă",
            "medicul expert al asigurărilor sociale",
            "medic expert al asigurărilor sociale",
            "și-a redobândit capacitatea de muncă",
            "pensie de invaliditate",
            "gradul de invaliditate",
        ),
        filename_hints=(
            "revizuire",
            "revizuire medicala",
            "decizie medicala",
            "decizie revizuire",
            "expertiza medicala",
        ),
    ),
    DocumentKind(
        name="no_vacancy_certificate",
        description="employer's certificate that no vacant post allows re-employment (001 Art. 5(4) B c)",
        titles=("adeverință",),
        context=("post vacant", "posturi vacante", "lipsa unui post vacant", "lipsa postului vacant"),
        refines="employer_certificate",
        keywords=("lipsa unui post vacant", "nu există post vacant", "reîncadrarea nu este posibilă"),
        filename_hints=("adeverinta post vacant", "lipsa post vacant", "post vacant"),
    ),
    DocumentKind(
        name="successor_certificate",
        description="certificate of the employer that took over the former employer's assets (001 Art. 5(4) A c)",
        titles=("adeverință",),
        context=("a preluat patrimoniul", "preluat patrimoniul", "preluarea patrimoniului", "succesorul"),
        refines="employer_certificate",
        keywords=("a preluat patrimoniul", "preluarea patrimoniului", "postul a fost desființat"),
        filename_hints=("adeverinta succesor", "succesor", "preluare patrimoniu"),
    ),
    DocumentKind(
        name="suspension_end_document",
        description="document showing when the reason for the suspension ended (001 Art. 5(4) C b)",
        titles=("adeverință", "decizie", "decizia"),
        context=(
            "încetarea suspendării",
            "încetării suspendării",
            "încetarea motivului suspendării",
            "încetării motivului suspendării",
            "încetarea cauzei de suspendare",
        ),
        refines="employer_certificate",
        keywords=("încetarea suspendării", "încetării suspendării", "încetarea motivului suspendării"),
        filename_hints=("incetare suspendare", "incetarea suspendarii", "sfarsit suspendare"),
    ),
    DocumentKind(
        name="provider_certificate",
        description="employment-services provider's certificate of the registration date (001 Art. 5(4) D b)",
        titles=("adeverință",),
        context=(
            "furnizor de servicii de ocupare",
            "furnizorul de servicii de ocupare",
            "furnizor de servicii specializate",
            "în vederea medierii",
            "servicii de mediere",
        ),
        refines="employer_certificate",
        keywords=("furnizor de servicii de ocupare", "în vederea medierii", "s-a înregistrat la data de"),
        filename_hints=("adeverinta furnizor", "furnizor servicii", "adeverinta mediere"),
    ),
    DocumentKind(
        name="court_judgment",
        description="final court judgment ordering reinstatement (001 Art. 5(4) A b)",
        titles=(
            "sentința civilă",
            "sentință civilă",
            "decizia civilă",
            "hotărâre judecătorească",
            "hotărârea judecătorească",
        ),
        keywords=("reintegrarea în muncă", "reintegrarea", "definitivă", "instanța", "tribunalul", "în numele legii"),
        filename_hints=("sentinta", "hotarare judecatoreasca", "hotarare instanta", "decizie civila"),
    ),
    # ----------------------------------------------------------------------------------------------
    # Requests of a registered person other than the benefit (001 Art. 20, 22; 003 Art. 40-45).
    DocumentKind(
        name="reinstatement_request",
        description="request to reinstate the benefit payment (001 Art. 20, Anexa 9)",
        titles=(
            "cerere de repunere în plată",
            "cerere pentru repunerea în plată",
            "cerere privind repunerea în plată",
            "cererea de repunere în plată",
            "cerere",
        ),
        context=("repunerea în plată", "repunere în plată", "reluarea plății indemnizației"),
        keywords=(
            "repunerea în plată",
            "repunere în plată",
            "motivul suspendării",
            "numărul carnetului de evidență",
            "carnetul de evidență nr",
            "solicit repunerea",
        ),
        filename_hints=("repunere", "repunere in plata", "cerere repunere", "anexa 9", "anexa nr 9"),
        field_hints=("repunere", "motiv suspendare", "motivul suspendarii"),
    ),
    DocumentKind(
        name="transfer_request",
        description="request to transfer the file to another agency (001 Art. 22, no model form)",
        titles=(
            "cerere de transfer",
            "cerere de transfer al dosarului",
            "cerere privind transferul dosarului",
            "cerere pentru transferul dosarului",
            "cerere",
        ),
        context=("transferul dosarului", "transfer al dosarului", "transferarea dosarului", "transferați dosarul"),
        keywords=(
            "transferul dosarului",
            "transfer al dosarului",
            "transferarea dosarului",
            "solicit transferul",
            "noul domiciliu",
            "schimbarea domiciliului",
        ),
        filename_hints=("transfer", "cerere transfer", "transfer dosar"),
        field_hints=("transfer", "noul domiciliu"),
    ),
    DocumentKind(
        name="allowance_application",
        description="application for the monthly allowance of Law Art. 72 (003 Art. 40, Anexa 10)",
        titles=(
            "cerere pentru acordarea drepturilor prevăzute la art. 72",
            "cerere privind acordarea drepturilor prevăzute la art. 72",
            "cerere pentru acordarea sumei lunare",
            "cerere",
        ),
        context=(
            "art. 72 din lege",
            "art. 72 din legea",
            "articolul 72",
            "anexa nr. 10",
            "înainte de expirarea perioadei de acordare a indemnizației",
            "30% din indemnizația de șomaj",
        ),
        keywords=(
            "art. 72 din lege",
            "art. 72 din legea",
            "înainte de expirarea perioadei",
            "30% din indemnizația",
            "suma lunară",
            "anexa nr. 10",
        ),
        filename_hints=("anexa 10", "anexa nr 10", "art 72", "cerere art 72", "suma lunara"),
    ),
    DocumentKind(
        name="graduate_bonus_application",
        description="application for the graduate hiring bonus of Law Art. 73^1(1) (003 Art. 43^1, Anexa 23)",
        titles=(
            "cerere pentru acordarea primei prevăzute la art. 73^1 alin. (1)",
            "cerere pentru acordarea primei pentru absolvenți",
            "cerere",
        ),
        context=(
            "art. 73^1 alin. (1)",
            "art. 731 alin. (1)",
            "art. 73 indice 1 alin. (1)",
            "anexa nr. 23",
            "prima pentru absolvenți",
            "primei pentru absolvenți",
            "prima de absolvent",
        ),
        keywords=("art. 73^1 alin. (1)", "art. 731 alin. (1)", "anexa nr. 23", "primei pentru absolvenți"),
        filename_hints=("anexa 23", "anexa nr 23", "prima absolvent", "prima absolventi", "cerere prima absolvent"),
    ),
    DocumentKind(
        name="graduate_sum_application",
        description="application for the graduates' 12-month sum of Law Art. 73^1(2) (003 Art. 43^3, Anexa 24)",
        titles=("cerere pentru acordarea sumei prevăzute la art. 73^1 alin. (2)", "cerere"),
        context=(
            "art. 73^1 alin. (2)",
            "art. 731 alin. (2)",
            "art. 73 indice 1 alin. (2)",
            "anexa nr. 24",
            "menținerea raportului de muncă",
        ),
        keywords=("art. 73^1 alin. (2)", "art. 731 alin. (2)", "anexa nr. 24", "timp de 12 luni"),
        filename_hints=("anexa 24", "anexa nr 24", "suma absolventi", "cerere suma 12 luni"),
    ),
    DocumentKind(
        name="hiring_bonus_application",
        description="application for the hiring bonus of Law Art. 74 (003 Art. 45, Anexa 11)",
        titles=(
            "cerere pentru acordarea primei de încadrare",
            "cerere privind acordarea primei de încadrare",
            "cerere",
        ),
        context=("prima de încadrare", "primei de încadrare", "art. 74 din lege", "art. 74 din legea"),
        keywords=("prima de încadrare", "primei de încadrare", "art. 74 din lege"),
        filename_hints=("prima incadrare", "prima de incadrare", "cerere prima incadrare"),
    ),
    DocumentKind(
        name="installation_bonus_application",
        description="application for the installation bonus of Law Art. 75 (003 Art. 45, Anexa 12)",
        titles=(
            "cerere pentru acordarea primei de instalare",
            "cerere privind acordarea primei de instalare",
            "cerere",
        ),
        context=("prima de instalare", "primei de instalare", "art. 75 din lege", "art. 75 din legea"),
        keywords=("prima de instalare", "primei de instalare", "art. 75 din lege"),
        filename_hints=("prima instalare", "prima de instalare", "anexa 12", "anexa nr 12"),
    ),
    DocumentKind(
        name="undertaking",
        description="undertaking to respect Law Art. 76(1), an enforceable title (003 Art. 43^1, 45, Anexa 13)",
        titles=("angajament", "angajamentul"),
        keywords=("mă angajez", "art. 76 alin. (1)", "titlu executoriu", "să restitui", "anexa nr. 13"),
        filename_hints=("angajament", "anexa 13", "anexa nr 13"),
    ),
    DocumentKind(
        name="employment_notice",
        description="employer's notice of employment (001 Anexa 2, înștiințare)",
        titles=("înștiințare privind încadrarea în muncă", "înștiințare de încadrare în muncă", "înștiințare"),
        keywords=(
            "privind încadrarea în muncă",
            "a fost încadrat",
            "a fost încadrată",
            "nu a fost încadrat",
            "pe durată nedeterminată",
            "pe durată determinată",
            "dispoziția de repartizare",
        ),
        filename_hints=("instiintare", "instiintare angajare", "instiintare incadrare"),
    ),
    DocumentKind(
        name="employment_contract",
        description="the act of employment: individual employment contract or appointment (copy)",
        titles=(
            "contract individual de muncă",
            "contractul individual de muncă",
            "contract de ucenicie la locul de muncă",
            "contract de ucenicie",
            "decizie de numire",
            "act administrativ de numire",
        ),
        keywords=(
            "părțile contractului",
            "durata contractului",
            "felul muncii",
            "salariul de bază",
            "durata muncii",
            "concediul de odihnă",
        ),
        filename_hints=(
            "cim",
            "contract munca",
            "contract de munca",
            "contract individual",
            "contract",
            "decizie numire",
        ),
        several=True,
    ),
    # Sworn statements share the title of the Anexa 1^1 declaration: what they declare tells them apart. The
    # employer's speaks for a company ("subscrisa", its representative) about the last 2 years; the graduate's is
    # about the graduation and education.
    DocumentKind(
        name="employer_statement",
        description="employer's sworn statement (no employment in the last 2 years; 003 Art. 40, 43^1, 59)",
        titles=("declarație pe propria răspundere", "declarație pe proprie răspundere", "declarație"),
        context=(
            "subscrisa",
            "reprezentată legal prin",
            "reprezentant legal",
            "reprezentantul legal",
            "cu sediul în",
            "în ultimii 2 ani",
            "în ultimii doi ani",
            "nu are obligația",
            "nu avem obligația",
        ),
        exclude=("restricții medicale", "de a angaja persoane cu handicap", "familiei monoparentale"),
        refines="declaration",
        keywords=("subscrisa", "în ultimii 2 ani", "reprezentată legal prin", "nu avem obligația"),
        filename_hints=("declaratie angajator", "declaratia angajatorului", "declaratie firma"),
    ),
    DocumentKind(
        name="graduate_statement",
        description="graduate's sworn statement (not employed since graduating, not in education; 003 Art. 43^1, 43^3)",
        titles=("declarație pe propria răspundere", "declarație pe proprie răspundere", "declarație"),
        context=(
            "data absolvirii",
            "absolvirii studiilor",
            "nu urmez o formă de învățământ",
            "nu urmez nicio formă de învățământ",
            "absolvent al",
            "absolventă a",
        ),
        exclude=("restricții medicale",),
        refines="declaration",
        keywords=("data absolvirii", "absolvirii studiilor", "nu urmez o formă de învățământ"),
        filename_hints=("declaratie absolvent", "declaratia absolventului"),
    ),
    # ----------------------------------------------------------------------------------------------
    # Employers (003 Art. 48-62) and Laws 279/2005, 335/2013, 72/2007 (000 section a).
    DocumentKind(
        name="community_convention",
        description="convention for community development programmes (Law Art. 78-79; 003 Art. 49, Anexa 14)",
        titles=("convenție",),
        context=(
            "dezvoltarea comunităților locale",
            "dezvoltării comunităților locale",
            "ocuparea temporară a forței de muncă",
            "art. 78 din lege",
            "art. 78 din legea",
            "anexa nr. 14",
        ),
        keywords=("dezvoltarea comunităților locale", "ocuparea temporară a forței de muncă", "anexa nr. 14"),
        filename_hints=("conventie art 78", "conventie comunitati", "anexa 14", "anexa nr 14"),
    ),
    DocumentKind(
        name="graduate_convention",
        description="convention for hiring graduates (Law Art. 80; 003 Art. 52, Anexa 15)",
        titles=("convenție",),
        context=(
            "art. 80 din lege",
            "art. 80 din legea",
            "anexa nr. 15",
            "încadrarea în muncă a absolvenților",
            "absolvenți ai instituțiilor de învățământ",
            "absolvenților instituțiilor de învățământ",
        ),
        keywords=("art. 80 din lege", "anexa nr. 15", "încadrarea în muncă a absolvenților"),
        filename_hints=("conventie absolventi", "conventie art 80", "anexa 15", "anexa nr 15"),
    ),
    DocumentKind(
        name="graduate_monthly_table",
        description="monthly nominal table of the graduates hired under Law Art. 80 (003 Art. 54(4), Anexa 16)",
        titles=("tabel nominal", "tabelul nominal"),
        context=(
            "art. 80 din lege",
            "art. 80 din legea",
            "anexa nr. 16",
            "absolvenți încadrați",
            "absolvenților încadrați",
        ),
        keywords=("anexa nr. 16", "absolvenți încadrați", "art. 80 din lege"),
        filename_hints=("anexa 16", "anexa nr 16", "tabel absolventi"),
    ),
    DocumentKind(
        name="training_addendum",
        description="addendum to the Art. 80 convention: training by the employer (Law Art. 84; 003 Art. 57, Anexa 17)",
        titles=("act adițional", "actul adițional"),
        context=(
            "pregătire profesională",
            "pregătirii profesionale",
            "formare profesională",
            "art. 84",
            "anexa nr. 17",
        ),
        exclude=("contractul individual de muncă",),
        keywords=("act adițional la convenția", "anexa nr. 17", "art. 84 din lege"),
        filename_hints=("act aditional conventie", "act aditional", "anexa 17", "anexa nr 17"),
    ),
    DocumentKind(
        name="training_graduates_table",
        description="nominal table of the graduates who passed the training (003 Art. 58 a, Anexa 18)",
        titles=("tabel nominal", "tabelul nominal"),
        context=("au promovat examenul", "examenul de absolvire", "anexa nr. 18", "pregătire profesională", "art. 84"),
        keywords=("au promovat examenul de absolvire", "anexa nr. 18"),
        filename_hints=("anexa 18", "anexa nr 18", "tabel promovati", "tabel absolventi curs"),
    ),
    DocumentKind(
        name="cost_estimate",
        description="cost estimate per trainee (devizul cheltuielilor; 003 Art. 58 c)",
        titles=("deviz", "devizul cheltuielilor", "deviz de cheltuieli", "deviz estimativ"),
        keywords=("devizul cheltuielilor", "cheltuieli pe cursant", "cost pe cursant"),
        filename_hints=("deviz", "deviz cheltuieli"),
    ),
    DocumentKind(
        name="disadvantaged_convention",
        description="convention for hiring disadvantaged unemployed people (Law Art. 85; 003 Art. 59, Anexa 19)",
        titles=("convenție",),
        context=(
            "art. 85 din lege",
            "art. 85 din legea",
            "anexa nr. 19",
            "peste 45 de ani",
            "părinți unici susținători",
            "părinte unic susținător",
            "pensie anticipată parțială",
        ),
        keywords=("art. 85 din lege", "anexa nr. 19", "peste 45 de ani", "părinți unici susținători"),
        filename_hints=("conventie art 85", "anexa 19", "anexa nr 19"),
    ),
    DocumentKind(
        name="disadvantaged_monthly_table",
        description="monthly nominal table of the people hired under Law Art. 85 (003 Art. 60(5), Anexa 20)",
        titles=("tabel nominal", "tabelul nominal"),
        context=("art. 85 din lege", "art. 85 din legea", "anexa nr. 20"),
        keywords=("anexa nr. 20", "art. 85 din lege"),
        filename_hints=("anexa 20", "anexa nr 20"),
    ),
    DocumentKind(
        name="contribution_reduction_application",
        description="application for the reduction of the 2.5% contribution (Law Art. 93; 003 Art. 62, Anexa 21)",
        titles=("cerere pentru reducerea contribuției", "cerere privind reducerea contribuției", "cerere"),
        context=(
            "reducerea contribuției",
            "reducerea sumei reprezentând contribuția",
            "art. 93 din lege",
            "art. 93 din legea",
            "anexa nr. 21",
        ),
        keywords=("reducerea contribuției", "art. 93 din lege", "anexa nr. 21"),
        filename_hints=("reducere contributie", "anexa 21", "anexa nr 21", "art 93"),
    ),
    DocumentKind(
        name="hires_table",
        description="nominal table of the unemployed hired and kept at least 6 months (003 Art. 62(1) a)",
        titles=("tabel nominal", "tabelul nominal"),
        context=("cel puțin 6 luni", "menținut în activitate", "menținute în activitate", "art. 93"),
        keywords=("menținut în activitate", "cel puțin 6 luni"),
        filename_hints=("tabel someri", "tabel nominal someri"),
    ),
    DocumentKind(
        name="timesheet",
        description="timesheet (pontaj)",
        titles=("pontaj", "foaie colectivă de prezență", "foaia colectivă de prezență", "condica de prezență"),
        keywords=("foaie colectivă de prezență", "ore lucrate", "pontaj"),
        filename_hints=("pontaj", "foaie prezenta", "foaie colectiva", "condica"),
        several=True,
    ),
    DocumentKind(
        name="payroll",
        description="payroll (stat de plată)",
        titles=("stat de plată", "statul de plată", "stat de salarii", "stat de plată salarii"),
        keywords=("stat de plată", "salariu brut", "rest de plată", "total venit brut"),
        filename_hints=("stat plata", "stat de plata", "stat salarii", "state de plata", "statul de plata"),
        several=True,
    ),
    DocumentKind(
        name="disability_certificate",
        description="disability certificate of the assessment commission (003 Art. 56, 59(3) A a)",
        titles=(
            "certificat de încadrare în grad de handicap",
            "certificat de încadrare în grad și tip de handicap",
            "certificat de încadrare într-o categorie de persoane cu handicap",
            "certificat de încadrare în grad de handicap și tip de handicap",
        ),
        keywords=(
            "comisia de evaluare a persoanelor adulte cu handicap",
            "comisia de expertiză medicală a persoanelor cu handicap",
            "grad de handicap",
            "tip de handicap",
        ),
        filename_hints=("certificat handicap", "handicap", "grad handicap", "certificat dizabilitate"),
        several=True,
    ),
    DocumentKind(
        name="disability_quota_statement",
        description="employer's statement on its legal quota of disabled employees (003 Art. 59(3) A d, 60(5))",
        titles=("declarație pe propria răspundere", "declarație pe proprie răspundere", "declarație"),
        context=(
            "de a angaja persoane cu handicap",
            "obligația de a angaja persoane cu handicap",
            "angaja persoane cu handicap",
        ),
        exclude=("restricții medicale",),
        refines="declaration",
        keywords=("obligația de a angaja persoane cu handicap",),
        filename_hints=("declaratie handicap", "declaratie cota handicap"),
    ),
    DocumentKind(
        name="single_parent_statement",
        description="single parent's statement that the family lives together (003 Art. 59(3) C d)",
        titles=("declarație pe propria răspundere", "declarație pe proprie răspundere", "declarație"),
        context=("familiei monoparentale", "familie monoparentală", "locuiesc împreună"),
        exclude=("restricții medicale",),
        refines="declaration",
        keywords=("familiei monoparentale", "locuiesc împreună"),
        filename_hints=("declaratie monoparentala", "declaratie parinte unic"),
    ),
    DocumentKind(
        name="power_of_attorney",
        description="power of attorney for the person who files for the company (împuternicire, procură)",
        titles=("împuternicire", "procură", "procură specială", "procura specială", "mandat"),
        keywords=("împuternicesc", "împuternicim", "în numele și pe seama", "mandatar", "împuternicitul"),
        filename_hints=("imputernicire", "procura", "mandat"),
    ),
    DocumentKind(
        name="apprenticeship_request",
        description="employer's request for the apprenticeship measure (Law 279/2005)",
        titles=("cerere", "convenție"),
        context=("279/2005", "ucenicia la locul de muncă", "contract de ucenicie", "ucenici"),
        keywords=("279/2005", "ucenicia la locul de muncă", "contract de ucenicie"),
        filename_hints=("ucenicie", "cerere ucenicie", "ucenic"),
    ),
    DocumentKind(
        name="traineeship_request",
        description="employer's request for the graduate traineeship measure (Law 335/2013)",
        titles=("cerere", "convenție"),
        context=("335/2013", "efectuarea stagiului", "stagiului pentru absolvenții", "stagiari"),
        keywords=("335/2013", "efectuarea stagiului", "stagiari"),
        filename_hints=("stagiu", "stagiar", "stagiari", "cerere stagiu"),
    ),
    DocumentKind(
        name="student_employment_request",
        description="employer's request for the pupils and students employment incentive (Law 72/2007)",
        titles=("cerere", "convenție"),
        context=("72/2007", "elevilor și studenților", "elevi și studenți"),
        keywords=("72/2007", "elevilor și studenților", "elevi și studenți"),
        filename_hints=("elevi studenti", "elevi si studenti", "cerere elevi"),
    ),
    DocumentKind(
        name=OTHER,
        description="other document",
        several=True,
        # Certificates that are not the employer's: the more specific title wins over "adeverință".
        titles=("adeverință de venit", "adeverință medicală", "certificat medical"),
        filename_hints=("adeverinta venit", "adeverinta de venit", "certificat medical"),
    ),
)

KINDS_BY_NAME: dict[str, DocumentKind] = {kind.name: kind for kind in DOCUMENT_KINDS}
# Kinds a case may hold several of (a later one adds to the earlier ones, it does not replace them).
SEVERAL_KINDS: frozenset[str] = frozenset(kind.name for kind in DOCUMENT_KINDS if kind.several)


@dataclass(frozen=True)
class FormText:
    """What a form says: its kind, its text and its AcroForm fields (empty for images: no OCR here)."""

    kind: str
    text: str
    fields: Mapping[str, str]


def read_form(kind: str, data: bytes, detected_type: str | None) -> FormText:
    """The text and fields of a stored attachment, for the readers of categories and addresses; never raises."""
    if detected_type != "pdf":
        return FormText(kind, "", {})
    return FormText(kind, extract_pdf_text(data), pdf_form_fields(data))


MIN_KEYWORD_POINTS = 2
FIELD_HINT_POINTS = 2


@dataclass(frozen=True)
class Classification:
    kind: str
    confidence: str  # "title" | "keywords" | "filename" | "none"
    evidence: str  # short, English
    also: tuple[str, ...] = ()  # other kinds whose title is in the same file (a combined PDF)


@dataclass(frozen=True)
class _TitleHit:
    kind: DocumentKind
    phrase: str
    start: int
    length: int
    original: str
    context_points: int = 0  # how many of the kind's context phrases the text has


# --------------------------------------------------------------------------------------------------
# Classification


def classify(filename: str, text: str, fields: Mapping[str, str]) -> Classification:
    try:
        return _classify(filename or "", text or "", fields or {})
    except Exception:  # a bug here must not stop the intake of a submission
        log.exception("document classification failed")
        return Classification(OTHER, CONFIDENCE_NONE, "classification failed")


def _classify(filename: str, text: str, fields: Mapping[str, str]) -> Classification:
    text = text[:MAX_TEXT_CHARS]
    folded = fold(text)
    by_title = _classify_by_title(text, folded)
    if by_title:
        return by_title
    by_keywords = _classify_by_keywords(folded, fields)
    if by_keywords:
        return by_keywords
    by_name = _classify_by_filename(filename)
    if by_name:
        return by_name
    return Classification(OTHER, CONFIDENCE_NONE, "no title, keywords or file name hint")


def _classify_by_title(text: str, folded: Folded) -> Classification | None:
    hits = _narrowed([hit for kind in DOCUMENT_KINDS for hit in _title_hits(kind, text, folded)])
    if not hits:
        return None
    # Strictest rule first, then the first title in the file, then the most specific (longest) title there, then
    # the kind whose context the text confirms best, then the table's order.
    order = {kind.name: index for index, kind in enumerate(DOCUMENT_KINDS)}
    hits.sort(key=lambda hit: (-hit.kind.priority, hit.start, -hit.length, -hit.context_points, order[hit.kind.name]))
    best = hits[0]
    also = tuple(dict.fromkeys(hit.kind.name for hit in hits if hit.kind.name not in (best.kind.name, OTHER)))
    evidence = f"title '{_one_line(best.original)}' ({best.kind.description})"
    if also:
        evidence += "; also titles of: " + ", ".join(also) + " (combined PDF)"
    return Classification(best.kind.name, CONFIDENCE_TITLE, evidence, also)


def _narrowed(hits: list[_TitleHit]) -> list[_TitleHit]:
    """One kind per title: "ADEVERINȚĂ" that speaks of a vacant post is no longer the employer's Art. 18
    certificate, a sworn statement by a company is not the Anexa 1^1 declaration, and of several forms titled
    "CERERE" or "CONVENȚIE" the one whose context the text confirms best is kept. Where titles of different
    length start at the same place, the longer one is the title ("CERERE pentru acordarea indemnizației de
    șomaj" is not a bare "CERERE")."""
    refined = {(hit.start, hit.kind.refines) for hit in hits if hit.kind.refines}
    hits = [hit for hit in hits if (hit.start, hit.kind.name) not in refined]
    longest: dict[int, int] = {}
    for hit in hits:
        longest[hit.start] = max(longest.get(hit.start, 0), hit.length)
    hits = [hit for hit in hits if hit.length == longest[hit.start]]
    order = {kind.name: index for index, kind in enumerate(DOCUMENT_KINDS)}
    best: dict[int, _TitleHit] = {}
    for hit in hits:
        if not hit.kind.context:
            continue
        current = best.get(hit.start)
        if current is None or (hit.context_points, -order[hit.kind.name]) > (
            current.context_points,
            -order[current.kind.name],
        ):
            best[hit.start] = hit
    return [hit for hit in hits if not hit.kind.context or best[hit.start].kind is hit.kind]


def _title_hits(kind: DocumentKind, text: str, folded: Folded) -> list[_TitleHit]:
    points = 0
    if kind.context:
        points = sum(1 for phrase in kind.context if phrase_pattern(phrase).search(folded.text))
        if not points:
            return []
    if any(phrase_pattern(phrase).search(folded.text) for phrase in kind.exclude):
        return []
    hits = []
    for phrase in kind.titles:
        for start, end in folded.find(phrase):
            if _is_heading(text, start, end):
                hits.append(_TitleHit(kind, phrase, start, end - start, text[start:end], points))
    return hits


_ANNEX_PREFIX = re.compile(r"anexa\b.{0,25}")


def _is_heading(text: str, start: int, end: int) -> bool:
    """A title starts a line, with a capital, and is either in capitals or alone on its line(s).

    The capital matters: a wrapped paragraph can leave "adeverința de venit" alone at the start of a line.
    """
    line_start = text.rfind("\n", 0, start) + 1
    before = text[line_start:start].strip()
    if before and not _ANNEX_PREFIX.fullmatch(normalize(before)):
        return False
    first_word = re.match(r"[^\W\d_]+", text[start:end])
    if not first_word or not first_word.group()[0].isupper():
        return False
    if len(first_word.group()) > 1 and first_word.group().isupper():
        return True
    line_end = text.find("\n", end)
    rest = text[end : line_end if line_end >= 0 else len(text)]
    return not rest.strip(" \t.:;,-–—*_")


def _classify_by_keywords(folded: Folded, fields: Mapping[str, str]) -> Classification | None:
    haystack = folded.text
    values = " ".join(str(value) for value in fields.values() if value)
    if values:
        haystack += " " + normalize(values[:MAX_TEXT_CHARS])
    field_words = [_filename_words(name) for name in fields]
    scored = []
    for kind in DOCUMENT_KINDS:
        words = [kw for kw in kind.keywords if phrase_pattern(kw).search(haystack)]
        field_hits = [hint for hint in kind.field_hints if any(_hint_pattern(hint).search(w) for w in field_words)]
        points = len(words) + FIELD_HINT_POINTS * len(field_hits)
        if points >= MIN_KEYWORD_POINTS:
            scored.append((points, kind.priority, kind, words, field_hits))
    if not scored:
        return None
    # Ties go to the stricter kind; `sorted` is stable, so then to the earlier row of the table.
    points, _, kind, words, field_hits = sorted(scored, key=lambda row: (-row[0], -row[1]))[0]
    parts = []
    if words:
        parts.append("keywords " + ", ".join(f"'{word}'" for word in words[:4]))
    if field_hits:
        parts.append("form fields like " + ", ".join(f"'{hint}'" for hint in field_hits[:3]))
    return Classification(kind.name, CONFIDENCE_KEYWORDS, f"{'; '.join(parts)} ({kind.description})")


# --------------------------------------------------------------------------------------------------
# File names

_EXTENSIONS = frozenset({".pdf", ".jpg", ".jpeg", ".png", ".p7m", ".p7s", ".tif", ".tiff", ".heic", ".gif"})


def _filename_words(name: str) -> str:
    """`CI_fata-2.JPG` → `ci fata 2`; `anexa3` → `anexa 3`; `Declarație.pdf.p7m` → `declaratie`."""
    path = PurePath(name.replace("\\", "/")).name
    while PurePath(path).suffix.lower() in _EXTENSIONS:
        path = path[: -len(PurePath(path).suffix)]
    words = re.sub(r"(?<=[a-z])(?=\d)|(?<=\d)(?=[a-z])", " ", normalize(path))
    return " ".join(re.split(r"[^a-z0-9]+", words)).strip()


@lru_cache(maxsize=512)
def _hint_pattern(hint: str) -> re.Pattern[str]:
    """A hint starts a word; short hints and hints ending in a digit ("ci", "anexa 1") must end it too."""
    words = normalize(hint).split()
    body = " ".join(re.escape(word) for word in words)
    whole_word = len(hint) < 4 or hint[-1].isdigit()
    return re.compile(r"(?<![a-z0-9])" + body + (r"(?![a-z0-9])" if whole_word else ""))


def _classify_by_filename(filename: str) -> Classification | None:
    words = _filename_words(filename)
    if not words:
        return None
    matches = [
        (len(hint), -match.start(), kind, hint)
        for kind in DOCUMENT_KINDS
        for hint in kind.filename_hints
        if (match := _hint_pattern(hint).search(words))
    ]
    if not matches:
        return None
    # The longest hint is the most specific ("anexa 1 1" over "anexa 1"); then the earliest in the name.
    _, _, kind, hint = max(matches, key=lambda row: (row[0], row[1]))
    return Classification(kind.name, CONFIDENCE_FILENAME, f"file name contains '{hint}' ({kind.description})")


def _one_line(text: str) -> str:
    return " ".join(text.split())[:80]


# --------------------------------------------------------------------------------------------------
# Reading PDFs: bounded, never raising

MAX_PDF_BYTES = pdf_budget.MAX_PDF_BYTES
# A decoded content stream larger than this is a drawing, not a form: checked while decoding (issue 10 point 1).
MAX_PAGE_CONTENT_BYTES = pdf_budget.MAX_STREAM_BYTES
MAX_TEXT_CHARS = 100_000  # three pages of a form are ~10 000 characters
MAX_FIELDS = 500
MAX_FIELD_DEPTH = 20
MAX_FIELD_VALUE_CHARS = 2_000
TEXT_TIME_BUDGET_SECONDS = 5.0


def _open_pdf(data: bytes) -> PdfReader | None:
    if not data or len(data) > MAX_PDF_BYTES:
        return None
    try:
        reader = PdfReader(io.BytesIO(data), strict=False)
        # Many "protected" PDFs only have an owner password: the empty user password opens them.
        if reader.is_encrypted and reader.decrypt("") == PasswordType.NOT_DECRYPTED:
            return None
        return reader
    except Exception as exc:  # pypdf raises many types on broken files
        log.debug("PDF not readable: %s", type(exc).__name__)
        return None


class _RecentResults:
    """The last few results per content digest: the verify and assess stages read the same PDF's text and fields
    one after the other (pypdf parsing ~25 ms a PDF each time); a handful covers the documents of one message."""

    def __init__(self, size: int = 8) -> None:
        self._size = size
        self._entries: OrderedDict[tuple[object, ...], Any] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: tuple[object, ...]) -> Any | None:
        with self._lock:
            if key in self._entries:
                self._entries.move_to_end(key)
                return self._entries[key]
        return None

    def put(self, key: tuple[object, ...], value: Any) -> None:
        with self._lock:
            self._entries[key] = value
            while len(self._entries) > self._size:
                self._entries.popitem(last=False)


_RECENT = _RecentResults()


def extract_pdf_text(data: bytes, max_pages: int = 3) -> str:
    """Text of the first `max_pages` pages, pages separated by a line break; "" when unreadable.

    A page whose streams do not fit the decoding budget (`pdf_budget`: per stream and per document) is not read
    and contributes "", as a scanned page without a text layer does: the readers downstream take missing text
    as "not stated", never as a contradiction."""
    key = ("text", hashlib.sha256(data).digest(), max_pages)
    cached = _RECENT.get(key)
    if cached is None:
        cached = _extract_pdf_text(data, max_pages)
        _RECENT.put(key, cached)
    return str(cached)


def _extract_pdf_text(data: bytes, max_pages: int) -> str:
    with pdf_budget.limits():  # pypdf decodes lazily: its lowered limits must cover the whole reading
        reader = _open_pdf(data)
        if reader is None:
            return ""
        deadline = time.monotonic() + TEXT_TIME_BUDGET_SECONDS
        budget = pdf_budget.Budget()
        parts: list[str] = []
        try:
            count = min(len(reader.pages), max(0, max_pages))
        except Exception:
            return ""
        for index in range(count):
            if time.monotonic() > deadline or sum(map(len, parts)) >= MAX_TEXT_CHARS or budget.exhausted:
                break
            parts.append(_page_text(reader, index, budget))
    return "\n".join(parts)[:MAX_TEXT_CHARS]


def _page_text(reader: PdfReader, index: int, budget: pdf_budget.Budget) -> str:
    try:
        page = reader.pages[index]
        budget.precheck_text(page)  # decoded within the caps before pypdf decodes it for extract_text
        return page.extract_text() or ""
    except pdf_budget.TooLarge:
        log.info("page %d: content too large for text extraction", index + 1)
        return ""
    except Exception as exc:
        log.debug("page %d: no text (%s)", index + 1, type(exc).__name__)
        return ""


def pdf_form_fields(data: bytes) -> dict[str, str]:
    """AcroForm fields (fully qualified name → value as text; "" when empty); {} when none or unreadable."""
    key = ("fields", hashlib.sha256(data).digest())
    cached = _RECENT.get(key)
    if cached is None:
        cached = _pdf_form_fields(data)
        _RECENT.put(key, cached)
    return dict(cached)  # a copy: callers may add to theirs


def _pdf_form_fields(data: bytes) -> dict[str, str]:
    with pdf_budget.limits():
        reader = _open_pdf(data)
        if reader is None:
            return {}
        result: dict[str, str] = {}
        try:
            form = _get(reader.trailer["/Root"], "/AcroForm")
            roots = _get(form, "/Fields")
            if isinstance(roots, ArrayObject):
                _walk_fields(roots, "", None, result, seen=set(), depth=0)
        except Exception as exc:
            log.debug("form fields not readable: %s", type(exc).__name__)
    return result


def _walk_fields(
    refs: ArrayObject, parent: str, inherited_type: object, out: dict[str, str], seen: set[int], depth: int
) -> None:
    """Our own walk rather than pypdf's get_fields: that one parses every signature value (/Contents can be
    megabytes of hex, seconds of parsing), and a field's value here only needs to be text."""
    for ref in refs:
        if len(out) >= MAX_FIELDS or depth > MAX_FIELD_DEPTH:
            return
        if isinstance(ref, IndirectObject):
            if ref.idnum in seen:
                continue
            seen.add(ref.idnum)
        field = ref.get_object()
        if not isinstance(field, DictionaryObject):
            continue
        name = str(_get(field, "/T") or "")
        qualified = f"{parent}.{name}" if parent and name else name or parent
        field_type = _get(field, "/FT") or inherited_type
        child_fields = [kid for kid in _as_array(_get(field, "/Kids")) if _is_new_field(kid, seen)]
        if child_fields:
            _walk_fields(ArrayObject(child_fields), qualified, field_type, out, seen, depth + 1)
        elif qualified and qualified not in out:
            raw = field.raw_get("/V") if "/V" in field else None
            value = "" if field_type == "/Sig" else _field_value(raw)
            out[qualified] = value[:MAX_FIELD_VALUE_CHARS]


def _as_array(value: object) -> list[object]:
    return list(value) if isinstance(value, ArrayObject) else []


def _is_new_field(kid: object, seen: set[int]) -> bool:
    """A kid with a name is a field (without one it is only a widget); one already visited is a loop."""
    if isinstance(kid, IndirectObject) and kid.idnum in seen:
        return False
    return _get(kid, "/T") is not None


def _get(container: object, key: str) -> object:
    """`container[key]` resolved, or None (pypdf's `get` may return an unresolved reference)."""
    if isinstance(container, IndirectObject):
        container = container.get_object()
    if not isinstance(container, DictionaryObject) or key not in container:
        return None
    return container[key]


def _field_value(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, NameObject):  # check boxes and radio buttons: /Yes, /Off, /Da
        return str(value)[1:]
    if isinstance(value, ByteStringObject):
        return bytes(value).decode("latin-1")
    if isinstance(value, ArrayObject):  # multi-select lists
        return ", ".join(_field_value(item) for item in value)
    if isinstance(value, IndirectObject):
        return _field_value(value.get_object())
    if isinstance(value, (str, int, float)):  # TextStringObject, NumberObject, FloatObject
        return str(value).strip()
    return ""  # a signature field's value is the signature dictionary: not text, and large
