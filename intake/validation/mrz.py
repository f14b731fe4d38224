"""The machine-readable zone (MRZ) of an identity card: parse it and verify its check digits (pure; the scan and the
OCR are `intake.validation.mrz_scan`).

Romanian identity cards carry two layouts:

- the classic card (CI, 2x36 characters, the TD2 layout of ICAO Doc 9303 Part 6): line 1 `IDROU` and the name
  (`SURNAME<<GIVEN<NAMES`); line 2 the series and number (2 letters + 6 digits) and its check digit, ROU, birth date
  YYMMDD and its check digit, sex, expiry date YYMMDD and its check digit, 7 characters of optional data holding
  the CNP's first digit and its last six digits, and the composite check digit. With the birth date, that is the
  whole CNP (S + YYMMDD + JJNNNC), whose own check digit then confirms the reading;
- the electronic card (CEI, since 2021; ID-1 with the MRZ on the back, HG 295/2021 Annex 5, issued under
  Regulation (EU) 2019/1157, which requires ICAO 9303): 3x30 characters, the TD1 layout of Part 5, the document
  number and optional data on line 1, dates, sex and nationality on line 2, the name on line 3. Where its optional
  data hold the CNP is not published: the CNP is taken as a 13-digit run whose CNP check digit is right, wherever
  the optional data put it; without one, the caller compares the birth date and sex (CNP digits 1-7) instead.

Nothing is trusted that the check digits (ICAO Doc 9303 Part 3, §4.9: weights 7-3-1, `<` = 0, A = 10 … Z = 35) do
not confirm: a reading whose document-number, birth-date or expiry check digit fails is unreadable, and an
unreadable card is never held against the citizen (the caller records "not checked automatically" for staff). The
optional data (the CNP digits) have no check digit of their own but the composite one, the last character of the
MRZ, which OCR is the likeliest to drop or misread: when it fails, the card is still read (its dates and number are
confirmed on their own) but gives no CNP, and only its birth date and sex are compared.
The names have no check digit: the caller compares them leniently. Nothing here logs the MRZ text or the CNP.

Why not the `mrz` package of PyPI (0.6.2, evaluated): it is GPL-3.0 (copyleft the daemon cannot take on), has not
been released since 2020, and checks the whole text including country tables; the check-digit rule it would bring
is the ten lines of `check_digit` below.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

from intake.validation import identity

REASON_NO_MRZ = "no_mrz"  # no MRZ-shaped lines in what OCR read
REASON_CHECK_DIGITS = "check_digits"  # lines found, a check digit wrong: a misread (or a forged card: staff look)
REASON_OCR_FAILED = "ocr_failed"  # Tesseract missing, failed or timed out
REASON_NO_IMAGE = "no_image"  # nothing to OCR (a PDF without an image, an undecodable file)

_VALUES = {**{str(d): d for d in range(10)}, **{chr(ord("A") + i): 10 + i for i in range(26)}, "<": 0}


def check_digit(text: str) -> str:
    """ICAO Doc 9303 Part 3 §4.9: weights 7, 3, 1 repeating; digits as such, A-Z as 10-35, the filler `<` as 0."""
    return str(sum(_VALUES.get(char, 0) * (7, 3, 1)[index % 3] for index, char in enumerate(text)) % 10)


@dataclass(frozen=True)
class CardReading:
    """A card's MRZ read and verified; `read` False means nothing here may be relied on (see `reason`)."""

    read: bool
    reason: str | None = None
    layout: str | None = None  # "TD2" (classic CI) | "TD1" (electronic CEI)
    surname: str = ""
    given_names: str = ""
    name_truncated: bool = False  # the name filled its field: the last word may be cut
    document_number: str = ""
    birth_date: date | None = None
    sex: str | None = None  # "M" | "F" | None (`<`: unspecified)
    expiry: date | None = None  # None: no expiry printed (a card issued after 55 is valid without limit)
    cnp: str | None = None  # the whole CNP, when the card gives it and its check digit confirms it

    @property
    def name(self) -> str:
        return f"{self.surname} {self.given_names}".strip()


def unreadable(reason: str) -> CardReading:
    return CardReading(False, reason)


# --------------------------------------------------------------------------------------------------
# Parsing (pure)


def parse(text: str, *, today: date) -> CardReading:
    """The first TD1 or TD2 MRZ in OCR output (any other text around it is ignored)."""
    lines = [re.sub(r"\s+", "", line) for line in text.upper().splitlines()]
    lines = [line for line in lines if len(line) >= 5]
    found_shape = False
    # Name lines are mostly fillers, and OCR drops some of a run of `<`: only the lines with data need their length.
    for index, line in enumerate(lines):
        if line[:1].translate(_AS_LETTER) not in ("I", "A", "C"):
            continue
        rest = lines[index + 1 : index + 3]
        if len(rest) >= 2 and 26 <= len(line) <= 33 and 24 <= len(rest[0]) <= 33:
            found_shape = True
            reading = _parse_td1(line, rest[0], rest[1], today)
            if reading.read:
                return reading
        if rest and 32 <= len(rest[0]) <= 39:
            found_shape = True
            reading = _parse_td2(line, rest[0], today)
            if reading.read:
                return reading
    return unreadable(REASON_CHECK_DIGITS if found_shape else REASON_NO_MRZ)


def _fit(line: str, length: int) -> str:
    """OCR drops or adds a filler in a run of `<` more often than anything else: the longest run (the padding) is
    what gets stretched or shrunk to the line's length."""
    if len(line) == length:
        return line
    runs = list(re.finditer(r"<+", line))
    if not runs:
        return line[:length].ljust(length, "<")
    run = max(runs, key=lambda match: len(match.group()))
    size = max(1, len(run.group()) + length - len(line))
    return (line[: run.start()] + "<" * size + line[run.end() :])[:length].ljust(length, "<")


def _header(line: str) -> str:
    """`IDROU` read as `1DR0U` or `IDRO0U`: a Romanian card's first line starts with document type ID and state
    ROU, whatever OCR made of them."""
    match = re.match(r"^.{0,4}?R[O0Q]{1,2}U", line[:8])
    return "IDROU" + line[match.end() :] if match else line


def _parse_td2(line1: str, line2: str, today: date) -> CardReading:
    """ICAO 9303 Part 6 (TD2): 9 document number, 1 check, 3 nationality, 6 birth, 1 check, 1 sex, 6 expiry,
    1 check, 7 optional, 1 composite check over number, birth, expiry and optional data with their checks."""
    line1 = _typed(_fit(_header(line1), 36), "A" * 36)
    line2 = _typed(_fit(line2, 36), TD2_LINE2, romanian=line1[2:5] == "ROU")
    number, nationality = line2[0:10], line2[10:13]
    birth, sex, expiry, optional = line2[13:20], line2[20], line2[21:28], line2[28:35]
    if not (_ok(number) and _ok(birth) and _ok_expiry(expiry)):
        return unreadable(REASON_CHECK_DIGITS)
    composite = check_digit(number + birth + expiry + optional) == line2[35]
    birth_date = _date(birth[:6], today, past=True)
    if birth_date is None or nationality.strip("<") == "":
        return unreadable(REASON_CHECK_DIGITS)
    cnp = _classic_cnp(optional, birth[:6], today) if composite else None
    return _reading("TD2", line1[5:36], number, birth_date, sex, expiry, today, cnp)


def _parse_td1(line1: str, line2: str, line3: str, today: date) -> CardReading:
    """ICAO 9303 Part 5 (TD1): line 1 type, state, 9 document number, 1 check, 15 optional; line 2 birth + check,
    sex, expiry + check, nationality, 11 optional, composite check; line 3 the name."""
    romanian = _header(line1).startswith("IDROU")
    lines = (_header(line1), line2, line3)
    line1, line2, line3 = (
        _typed(_fit(line, 30), types, romanian=romanian) for line, types in zip(lines, TD1_LINES, strict=True)
    )
    number, optional1 = line1[5:15], line1[15:30]
    birth, sex, expiry, optional2 = line2[0:7], line2[7], line2[8:15], line2[18:29]
    if not (_ok(number) and _ok(birth) and _ok_expiry(expiry)):
        return unreadable(REASON_CHECK_DIGITS)
    composite = check_digit(line1[5:30] + birth + expiry + optional2) == line2[29]
    birth_date = _date(birth[:6], today, past=True)
    if birth_date is None:
        return unreadable(REASON_CHECK_DIGITS)
    cnp = _whole_cnp(optional1 + optional2, today) if composite else None
    return _reading("TD1", line3, number, birth_date, sex, expiry, today, cnp)


def _reading(
    layout: str, name: str, number: str, birth_date: date, sex: str, expiry: str, today: date, cnp: str | None
) -> CardReading:
    """A read card from its checked fields (`number` and `expiry` with their check digits)."""
    surname, given, truncated = _names(name)
    return CardReading(
        True,
        layout=layout,
        surname=surname,
        given_names=given,
        name_truncated=truncated,
        document_number=number[:9].rstrip("<"),
        birth_date=birth_date,
        sex=_sex(sex),
        expiry=_date(expiry[:6], today, past=False),
        cnp=cnp,
    )


# What each position holds, to undo OCR's O/0, I/1 and similar confusions that the field's type settles: A a letter
# (or filler), N a digit (or filler); L and D a letter and a digit on a Romanian card only (the series of two letters
# and the digits of the document number, the CNP digits of the optional data), kept as read on any other card.
TD2_LINE2 = "LL" + "D" * 7 + "N" + "AAA" + "N" * 7 + "A" + "N" * 7 + "D" * 7 + "N"
TD1_LINES = ("A" * 5 + "LL" + "D" * 7 + "N" + "D" * 15, "N" * 7 + "A" + "N" * 7 + "AAA" + "D" * 11 + "N", "A" * 30)
_AS_LETTER = str.maketrans("0125864", "OIZSBGA")
_AS_DIGIT = str.maketrans("OQDIZSBGL", "000125861")
_ROMANIAN = {"A": _AS_LETTER, "N": _AS_DIGIT, "L": _AS_LETTER, "D": _AS_DIGIT}
_FOREIGN = {"A": _AS_LETTER, "N": _AS_DIGIT}


def _typed(line: str, types: str, *, romanian: bool = True) -> str:
    table = _ROMANIAN if romanian else _FOREIGN
    return "".join(
        char.translate(table[kind]) if kind in table else char for char, kind in zip(line, types, strict=True)
    )


def _ok(field_with_check: str) -> bool:
    return check_digit(field_with_check[:-1]) == field_with_check[-1]


def _ok_expiry(field_with_check: str) -> bool:
    """ICAO 9303 Part 3 allows an expiry left blank (`<<<<<<`, check digit `<` or 0) for a card without one."""
    if field_with_check[:6] == "<<<<<<":
        return field_with_check[6] in "<0"
    return _ok(field_with_check)


def _date(yymmdd: str, today: date, *, past: bool) -> date | None:
    """A birth date is in the past (the most recent century that keeps it there); an expiry within a century from
    now the other way round."""
    if not yymmdd.isdigit():
        return None
    year, month, day = int(yymmdd[:2]), int(yymmdd[2:4]), int(yymmdd[4:6])
    century = today.year // 100 * 100
    if past:
        full = century + year if century + year <= today.year else century - 100 + year
    else:
        full = century + year if century + year >= today.year - 50 else century + 100 + year
    try:
        return date(full, month, day)
    except ValueError:
        return None


def _sex(char: str) -> str | None:
    return char if char in ("M", "F") else None


def _names(field: str) -> tuple[str, str, bool]:
    """`POPESCU<<ION<VASILE<<<` → ("POPESCU", "ION VASILE"). OCR sometimes reads a filler in the padding as a
    letter (`<<K<<`, `ION<CC<CC`): a lone letter between fillers, or a tail of fillers and the letters a filler is
    mistaken for (C, K, X, L, E) holding two fillers or more, is padding, not a name."""
    truncated = not field.endswith("<")
    field = re.sub(r"(?<=<<)[A-Z](?=<|$)", "<", field.rstrip("<")).rstrip("<")
    surname, _, given = field.partition("<<")
    # A filler too many after the surname is OCR's; text after a double filler in the given names is noise.
    given = re.sub(r"<{2,}.*$", "", given.lstrip("<"))
    given = re.sub(r"<[<CKXLE]*$", lambda tail: "" if tail.group().count("<") >= 2 else tail.group(), given)
    return surname.replace("<", " ").strip(), given.replace("<", " ").strip(), truncated


def _classic_cnp(optional: str, birth: str, today: date) -> str | None:
    """The classic card's optional data: the CNP's first digit and its last six; with the birth date, the CNP."""
    digits = optional[:7]
    if not digits.isdigit():
        return None
    cnp = digits[0] + birth + digits[1:]
    return cnp if identity.validate_cnp(cnp, today=today).valid else None


def _whole_cnp(optional: str, today: date) -> str | None:
    for match in re.finditer(r"(?=(\d{13}))", optional):
        if identity.validate_cnp(match.group(1), today=today).valid:
            return match.group(1)
    return None


def compose(
    layout: str, *, surname: str, given: str, number: str, birth: date, sex: str, expiry: date, cnp: str
) -> list[str]:
    """The MRZ lines of a Romanian card (the demo's card and the test cards are drawn from this): TD2 with the
    CNP's first and last six digits, or TD1 with the whole CNP in the optional data of line 1."""
    number = number.ljust(9, "<")[:9] + check_digit(number.ljust(9, "<")[:9])
    born = f"{birth:%y%m%d}" + check_digit(f"{birth:%y%m%d}")
    ends = f"{expiry:%y%m%d}" + check_digit(f"{expiry:%y%m%d}")
    name = surname.replace(" ", "<") + "<<" + given.replace(" ", "<")
    if layout == "TD2":
        optional = cnp[0] + cnp[7:]
        line2 = number + "ROU" + born + sex + ends + optional
        return ["IDROU" + name[:31].ljust(31, "<"), line2 + check_digit(number + born + ends + optional)]
    line1 = "IDROU" + number + cnp.ljust(15, "<")
    line2 = born + sex + ends + "ROU" + "<" * 11
    return [line1, line2 + check_digit(line1[5:30] + born + ends + "<" * 11), name[:30].ljust(30, "<")]
