"""Issue 9 point 11: territorial competence (001 Art. 1, 16^1) from the domicile or residence on the form."""

from __future__ import annotations

from collections.abc import Mapping

import pytest

from intake.validation.documents import FormText, read_form
from intake.validation.territory import COUNTIES, Address, competence, read_address
from tests import forms


def _address(text: str, fields: Mapping[str, str] | None = None, kind: str = "application") -> Address:
    return read_address([FormText(kind, text, fields or {})])


def _domicile(text: str, fields: Mapping[str, str] | None = None) -> str | None:
    county = _address(text, fields).domicile
    return county.code if county else None


def test_the_table_has_every_county_and_bucharest() -> None:
    assert len(COUNTIES) == 42
    assert len({county.code for county in COUNTIES}) == 42


@pytest.mark.parametrize(
    ("text", "county"),
    [
        ("domiciliată în Cluj-Napoca, str. Memorandumului nr. 21, jud. Cluj, telefon 0740", "CJ"),
        ("Domiciliul/Reședința: localitatea Alba Iulia, str. Avram Iancu nr. 3, județul/sectorul Alba, tel.", "AB"),
        ("cu domiciliul în Gherla, str. Bobâlnei nr. 2", "CJ"),  # a Cluj locality, no county written
        ("cu domiciliul în comuna Florești, sat Luna de Sus", "CJ"),
        ("domiciliul: jud. BN, loc. Beclean, str. Gării 4", "BN"),
        ("domiciliat în București, sectorul 3, str. Baba Novac 1", "B"),
        ("DOMICILIUL: Județul Bistrița-Năsăud, localitatea Bistrița", "BN"),
        ("domiciliat in Satu Mare, judetul Satu Mare", "SM"),
        ("domiciliul: judeţul Mureş, municipiul Târgu Mureş", "MS"),  # cedilla forms
    ],
)
def test_the_domicile_county(text: str, county: str) -> None:
    assert _domicile(text) == county


@pytest.mark.parametrize(
    "text",
    [
        "",
        "Domiciliul/Reședința: localitatea ............, județul/sectorul ..........",  # the blank form
        "cu domiciliul în str. Sibiului nr. 3",  # a street named after a town
        "născută în Sibiu, județul Sibiu; CNP 2900523123455",  # the place of birth is not the domicile
        "angajator: SC Exemplu SRL, cu sediul în județul Alba",
    ],
)
def test_no_county_no_opinion(text: str) -> None:
    assert _domicile(text) is None
    assert competence(_address(text)) is None


def test_fields() -> None:
    assert _domicile("", {"domiciliu_judet": "AB"}) == "AB"
    assert _domicile("", {"Judetul": "Sălaj"}) == "SJ"
    assert _domicile("", {"localitate": "Turda"}) == "CJ"
    assert _domicile("", {"judet_nastere": "Sibiu"}) is None
    address = _address("", {"domiciliu.judet": "Alba", "resedinta.judet": "Cluj"})
    assert (address.domicile.code, address.residence.code) == ("AB", "CJ")  # type: ignore[union-attr]


def test_domicile_in_cluj_is_competent() -> None:
    assert competence(_address("domiciliată în Turda, jud. Cluj")) is None


def test_domicile_elsewhere_belongs_to_that_county() -> None:
    found = competence(_address("domiciliată în Alba Iulia, jud. Alba"))
    assert found is not None and (found.county, found.to_check) == ("AB", False)
    assert "Agenției Județene pentru Ocuparea Forței de Muncă Alba" in found.message
    bucharest = competence(_address("domiciliat în București, sectorul 2"))
    assert bucharest is not None and "Agenției Municipiului București" in bucharest.message


def test_residence_in_cluj_counts_only_with_the_last_job_there() -> None:
    text = "cu domiciliul în Sibiu, jud. Sibiu; cu reședința în Cluj-Napoca, str. Horea 1, jud. Cluj."
    unknown = competence(_address(text))
    assert unknown is not None and unknown.to_check and "de verificat" in unknown.message
    assert competence(_address(text + " Ultimul loc de muncă: SC Exemplu SRL, Turda.")) is None
    elsewhere = competence(_address(text + " Ultimul loc de muncă: SC Exemplu SRL, Sibiu."))
    assert elsewhere is not None and (elsewhere.county, elsewhere.to_check) == ("SB", False)


def test_residence_elsewhere_with_domicile_in_cluj_is_competent() -> None:
    assert competence(_address("cu domiciliul în Dej, jud. Cluj; cu reședința în Zalău, jud. Sălaj")) is None


def test_residence_elsewhere_and_no_domicile_is_to_be_checked() -> None:
    found = competence(_address("cu reședința în Zalău, jud. Sălaj"))
    assert found is not None and found.to_check


def test_the_generated_application() -> None:
    here = read_form("application", forms.benefit_application(), "pdf")
    assert competence(read_address([here])) is None
    alba = read_form("application", forms.benefit_application(locality="Alba Iulia", county="Alba"), "pdf")
    assert read_address([alba]).domicile.code == "AB"  # type: ignore[union-attr]


def test_the_first_form_that_says_wins() -> None:
    forms_ = [FormText("application", "domiciliul: jud. Alba", {}), FormText("declaration", "domiciliat în Dej", {})]
    assert read_address(forms_).domicile.code == "AB"  # type: ignore[union-attr]
