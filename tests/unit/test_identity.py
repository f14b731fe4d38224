"""Tests of intake.validation.identity: CNP checks, names, and the applicant read from a form.

Every CNP below is synthetic. The check digits were computed by hand with the weights 279146358279, e.g.
1960523123457: 1·2 + 9·7 + 6·9 + 0·1 + 5·4 + 2·6 + 3·3 + 1·5 + 2·8 + 3·2 + 4·7 + 5·9 = 260; 260 mod 11 = 7.
6050312123455: 12 + 0 + 45 + 0 + 12 + 6 + 6 + 5 + 16 + 6 + 28 + 45 = 181; 181 mod 11 = 5.
2850101120011: 4 + 56 + 45 + 0 + 4 + 0 + 3 + 5 + 16 + 0 + 0 + 9 = 142; 142 mod 11 = 10, written as 1.
"""

from __future__ import annotations

import logging
from datetime import date

import pytest

from intake.privacy import mask_cnp
from intake.validation.identity import (
    Applicant,
    CnpCheck,
    applicant_from_form,
    cnp_check_digit,
    find_cnps,
    name_tokens,
    same_person,
    semantics_cnp,
    validate_cnp,
)

TODAY = date(2026, 6, 1)

# --------------------------------------------------------------------------------------------------
# CNP

VALID = [
    # cnp, birth date, sex, county
    ("1960523123457", date(1996, 5, 23), "M", 12),  # Cluj
    ("1630615123457", date(1963, 6, 15), "M", 12),
    ("2960523123459", date(1996, 5, 23), "F", 12),
    ("6050312123455", date(2005, 3, 12), "F", 12),  # born after 2000
    ("2850101120011", date(1985, 1, 1), "F", 12),  # remainder 10 → check digit 1
    ("2800229400014", date(1980, 2, 29), "F", 40),  # leap day; București
    ("5000229470011", date(2000, 2, 29), "M", 47),  # 2000 is a leap year; former sector 7
    ("4000101400010", date(1800, 1, 1), "F", 40),  # born in the 19th century
    ("6111115510018", date(2011, 11, 15), "F", 51),  # Călărași
    ("8500101520019", date(1950, 1, 1), "F", 52),  # foreign resident (8); Giurgiu
    ("7900515700042", date(1990, 5, 15), "M", 70),  # foreign resident (7); code 70 of CNPs generated since 2024
    ("1981215700012", date(1998, 12, 15), "M", 70),
    ("9000101800018", date(2000, 1, 1), None, 80),  # foreigner (9): no sex; registered at a mission abroad
    ("5260101120015", date(2026, 1, 1), "M", 12),  # born this year
]


@pytest.mark.parametrize(("cnp", "birth_date", "sex", "county"), VALID)
def test_valid_cnps(cnp: str, birth_date: date, sex: str | None, county: int) -> None:
    assert validate_cnp(cnp, today=TODAY) == CnpCheck(True, None, birth_date, sex, county)


def test_born_today_is_valid_tomorrow_is_not() -> None:
    assert validate_cnp("5260101120015", today=date(2026, 1, 1)).valid
    check = validate_cnp("5260102120018", today=date(2026, 1, 1))  # 2 January 2026
    assert (check.valid, check.reason, check.birth_date) == (False, "date", date(2026, 1, 2))


@pytest.mark.parametrize(
    ("cnp", "reason"),
    [
        ("1960523123458", "checksum"),  # last digit changed
        ("1960523123467", "checksum"),  # a typo in the serial number (346 → check 5)
        ("1690523123457", "checksum"),  # two digits swapped
        ("1960230120011", "date"),  # 30 February, with a right check digit
        ("1000229120012", "date"),  # 29 February 1900: not a leap year
        ("3000229010153", "date"),  # 29 February 1800: not a leap year
        ("5300101120012", "date"),  # 1 January 2030: in the future
        ("1960523990010", "county"),  # county 99
        ("1960523000014", "county"),  # county 00
        ("196052312345A", "format"),
        ("19605231234", "format"),
        ("196052312345", "format"),  # 12 digits
        ("19605231234570", "format"),  # 14 digits
        ("0960523123457", "format"),  # first digit 0
        ("1960523 123457", "format"),  # grouped: callers compact first
        ("１９６０５２３１２３４５７", "format"),  # full-width digits
        ("", "format"),
    ],
)
def test_invalid_cnps(cnp: str, reason: str) -> None:
    check = validate_cnp(cnp, today=TODAY)
    assert (check.valid, check.reason) == (False, reason)


def test_an_invalid_cnp_still_shows_what_can_be_read() -> None:
    check = validate_cnp("1960523123458", today=TODAY)
    assert (check.birth_date, check.sex, check.county_code) == (date(1996, 5, 23), "M", 12)
    assert validate_cnp("1960230120011", today=TODAY).birth_date is None


def test_check_digit_matches_the_table() -> None:
    for cnp, *_ in VALID:
        assert cnp_check_digit(cnp[:12]) == int(cnp[12])


def test_find_cnps() -> None:
    text = (
        "CNP: 1 960523 123457; tel. 0740123456; cont RO49AAAA1B31007593840000; "
        "nr. 29605231234590 (14 cifre); cod numeric personal 2960523-12345-9, iar 6050312123455 la final"
    )
    assert find_cnps(text) == ["1960523123457", "2960523123459", "6050312123455"]
    assert find_cnps("") == []
    assert find_cnps("CNP .................") == []


@pytest.mark.parametrize(
    ("identifier", "cnp"),
    [
        ("PNORO-1960523123457", "1960523123457"),
        ("pnoro-1960523123457", "1960523123457"),
        (" PNORO-1960523123457 ", "1960523123457"),
        ("PNOBG-1960523123457", None),  # another country's personal number is no CNP
        ("PNORO-196052312345", None),
        ("IDCRO-1960523123457", None),
        ("1960523123457", None),
        ("", None),
        (None, None),
    ],
)
def test_semantics_cnp(identifier: str | None, cnp: str | None) -> None:
    assert semantics_cnp(identifier) == cnp


# --------------------------------------------------------------------------------------------------
# Names


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("Maria Ionescu", "IONESCU MARIA"),  # order and case
        ("Ștefan Țurcanu", "Stefan Turcanu"),  # diacritics
        ("Ştefan Ţurcanu", "Ștefan Țurcanu"),  # cedilla vs comma below
        ("Ionescu-Pop Maria Elena", "Maria Elena IONESCU POP"),  # hyphenated double name
        ("Ionescu-Pop Maria-Elena", "Ionescu Pop Maria Elena"),
        ("Ionescu Maria Elena", "Maria IONESCU"),  # middle name missing
        ("Popescu I. Ion", "Ion Popescu"),  # the father's initial
        ("Dl. Ion Popescu", "POPESCU ION"),  # honorific
        ("  Ion   Popescu ", "Popescu\nIon"),
    ],
)
def test_same_person(a: str, b: str) -> None:
    assert same_person(a, b)
    assert same_person(b, a)


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("Ion Popescu", "Ioana Popescu"),  # different people of one family
        ("Ion Popescu", "Ion Pop"),
        ("Maria Ionescu", "Maria Ionesc"),  # a letter short
        ("Maria Ionescu", "Maria"),  # one word in common is not enough
        ("Maria Elena Ionescu", "Maria Ana Ionescu"),  # neither contains the other
        ("Maria Ionescu", ""),
        ("", ""),
        ("...", "..."),
    ],
)
def test_different_people(a: str, b: str) -> None:
    assert not same_person(a, b)
    assert not same_person(b, a)


def test_name_tokens() -> None:
    assert name_tokens("IONESCU-POP Maria Elena") == frozenset({"ionescu", "pop", "maria", "elena"})
    assert name_tokens("Popescu I. Ion") == frozenset({"popescu", "ion"})
    assert name_tokens("Şerban Ţepeş") == name_tokens("serban tepes")
    assert name_tokens("") == frozenset()


# --------------------------------------------------------------------------------------------------
# The applicant on a form


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (  # Anexa 1^1, filled in
            "DECLARAȚIE PE PROPRIA RĂSPUNDERE\nSubsemnatul/Subsemnata, Maria-Elena Ionescu Pop, având CNP "
            "2960523123459, domiciliat/domiciliată în Cluj-Napoca",
            Applicant("Maria-Elena Ionescu Pop", "2960523123459"),
        ),
        (  # the label at the end of a line, cedilla letters, CNP in groups
            "Subsemnata\nŢURCANU ŞTEFANIA, având CNP 2 960523 12345 9, domiciliată în Dej",
            Applicant("ŢURCANU ŞTEFANIA", "2960523123459"),
        ),
        (
            "Subsemnatul(a) Ion Popescu cu domiciliul în Turda",
            Applicant("Ion Popescu", None),
        ),
        (  # Anexa 3, filled in
            "CERERE\npentru acordarea indemnizației de șomaj\nNr. ..... data .....\n1. Numele și prenumele: POPESCU ION"
            "\n2. Actul de identitate: tip CI\n3. Codul numeric personal 1960523123457\n4. Data nașterii 23.05.1996",
            Applicant("POPESCU ION", "1960523123457"),
        ),
        (  # Anexa 1: family and given names apart
            "Numele Popescu, prenumele Ion, fiul/fiica lui Vasile și al Mariei, nume anterior ....., "
            "codul numeric personal 1960523123457, sex M",
            Applicant("Popescu Ion", "1960523123457"),
        ),
        (
            "Nume: Popescu\nPrenume: Ion\nC.N.P.: 1960523123457",
            Applicant("Popescu Ion", "1960523123457"),
        ),
        (  # the blank template: placeholders, no applicant
            "Subsemnatul/Subsemnata, ........................................, având CNP ..................., "
            "domiciliat/domiciliată în .............",
            Applicant(None, None),
        ),
        (  # Anexa 3 blank: the staff's "Numele și prenumele" is blank too (procedure §7 item 23)
            "1. Numele și prenumele ....................2. Actul de identitate: tip ......\nSolicitant,\n"
            "..............\n(numele și prenumele)\nSemnătura\nÎntocmit, funcționar public: Numele și prenumele ....",
            Applicant(None, None),
        ),
        (  # no label: the only number with a right check digit
            "Maria Pop 6050312123455, telefon 0740123456",
            Applicant(None, "6050312123455"),
        ),
        (  # no label and two candidates: undecided
            "1960523123457 și 6050312123455",
            Applicant(None, None),
        ),
        ("", Applicant(None, None)),
    ],
)
def test_applicant_from_text(text: str, expected: Applicant) -> None:
    assert applicant_from_form(text, {}) == expected


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        (
            {"nume": "IONESCU POP", "prenume": "Maria-Elena", "cnp": "2960523123459"},
            ("IONESCU POP Maria-Elena", "2960523123459"),
        ),
        ({"Numele si prenumele": "Ion Popescu", "CNP": "1 960523 123457"}, ("Ion Popescu", "1960523123457")),
        ({"NumePrenume": "Ion Popescu", "CodNumericPersonal": "1960523123457"}, ("Ion Popescu", "1960523123457")),
        ({"form1[0].subsemnatul[0]": "Ion Popescu"}, ("Ion Popescu", None)),
        # Somebody else's names are not the applicant's.
        ({"nume_tata": "Vasile", "nume_anterior": "Pop", "nume": "Popescu"}, (None, None)),
        ({"nume": "", "prenume": "", "cnp": ""}, (None, None)),
        ({"nume": "..........", "prenume": "....", "cnp": "............."}, (None, None)),
    ],
)
def test_applicant_from_fields(fields: dict[str, str], expected: tuple[str | None, str | None]) -> None:
    applicant = applicant_from_form("", fields)
    assert (applicant.name, applicant.cnp) == expected


def test_fields_beat_text() -> None:
    text = "Subsemnatul/Subsemnata, Ion Popescu, având CNP 1960523123457"
    applicant = applicant_from_form(text, {"nume": "Ionescu", "prenume": "Maria", "cnp": "6050312123455"})
    assert applicant == Applicant("Ionescu Maria", "6050312123455")


def test_nothing_logs_a_cnp(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    cnp = "1960523123457"
    validate_cnp(cnp, today=TODAY)
    validate_cnp(cnp[:-1] + "8", today=TODAY)
    find_cnps(f"CNP {cnp}")
    applicant_from_form(f"Subsemnatul Ion Popescu, CNP {cnp}", {"cnp": cnp})
    semantics_cnp(f"PNORO-{cnp}")
    assert cnp not in caplog.text
    assert mask_cnp(cnp) == "1***********7"
