"""Issue 13 §1: the identity card's MRZ parsed and verified (ICAO Doc 9303), and compared with the forms and the
signer; the texts of the findings. OCR runs in two tests only (each Tesseract call costs a third of a second)."""

from __future__ import annotations

import io
from datetime import date

import pytest
from PIL import Image

from intake import texts
from intake.validation import mrz
from intake.validation.id_card import SOURCE_FORM, SOURCE_SIGNER, Person, cross_check, names_agree, same_holder
from intake.validation.mrz import CardReading, check_digit, parse
from intake.validation.mrz_scan import read_card
from tests.idcards import Holder, Shot, cnp_for, mrz_lines, photographed
from tests.mailfactory import jpeg_image

TODAY = date(2026, 12, 6)
HOLDER = Holder()  # POPESCU ION, born 12.04.1985, M, CNP 1850412120017 (county 12, serial 001)
APPLICATION = "cererea pentru acordarea indemnizației de șomaj"


def read(holder: Holder = HOLDER) -> CardReading:
    return parse("\n".join(mrz_lines(holder)), today=TODAY)


# --------------------------------------------------------------------------------------------------
# Check digits and layouts


def test_icao_9303_part3_check_digit_known_answers() -> None:
    # The worked examples of ICAO Doc 9303 Part 3 §4.9 and the TD1 specimen of Part 5 (document number D23145890).
    assert check_digit("520727") == "3"
    assert check_digit("L898902C<") == "3"
    assert check_digit("D23145890") == "7"
    assert check_digit("740812") == "2"


def test_icao_9303_part5_td1_specimen_parses() -> None:
    specimen = "I<UTOD231458907<<<<<<<<<<<<<<<\n7408122F1204159UTO<<<<<<<<<<<6\nERIKSSON<<ANNA<MARIA<<<<<<<<<<"
    reading = parse(specimen, today=TODAY)
    assert reading.read and reading.layout == "TD1"
    assert (reading.surname, reading.given_names) == ("ERIKSSON", "ANNA MARIA")
    assert (reading.birth_date, reading.sex, reading.expiry) == (date(1974, 8, 12), "F", date(2012, 4, 15))
    assert reading.cnp is None


def test_classic_card_td2_icao_9303_part6_gives_the_whole_cnp() -> None:
    """The classic CI: optional data = CNP digit 1 and digits 8-13; with the birth date, the whole CNP."""
    reading = read()
    assert reading.read and reading.layout == "TD2"
    assert reading.cnp == HOLDER.cnp == "1850412120017"
    assert (reading.name, reading.birth_date, reading.sex) == ("POPESCU ION", date(1985, 4, 12), "M")
    assert (reading.document_number, reading.expiry) == ("CJ123456", date(2031, 4, 12))


def test_electronic_card_td1_carries_the_whole_cnp() -> None:
    holder = Holder(layout="TD1", number="CJ1234567", surname="MURESAN", given="ANA MARIA", sex="F")
    reading = read(holder)
    assert reading.read and reading.layout == "TD1"
    assert reading.cnp == holder.cnp and reading.given_names == "ANA MARIA"


def test_ocr_confusions_settled_by_field_type_and_lost_fillers_restored() -> None:
    line1, line2 = mrz_lines(HOLDER)
    misread = "1DR0U" + line1[5:].rstrip("<") + "<<<"  # I→1, O→0, most of the padding lost
    misread2 = line2.replace("ROU", "R0U").replace("8504", "85O4")
    reading = parse(f"noise on the card\n{misread}\n{misread2}\n", today=TODAY)
    assert reading.read and reading.cnp == HOLDER.cnp and reading.surname == "POPESCU"


@pytest.mark.parametrize("position", [9, 19, 27])  # number, birth, expiry check digits
def test_a_wrong_check_digit_makes_the_card_unreadable(position: int) -> None:
    line1, line2 = mrz_lines(HOLDER)
    wrong = str((int(line2[position]) + 1) % 10)
    reading = parse(f"{line1}\n{line2[:position]}{wrong}{line2[position + 1 :]}", today=TODAY)
    assert not reading.read and reading.reason == mrz.REASON_CHECK_DIGITS


@pytest.mark.parametrize("last", ["<", "7"])  # the composite check digit lost or misread
def test_without_the_composite_check_digit_the_card_is_read_but_gives_no_cnp(last: str) -> None:
    line1, line2 = mrz_lines(HOLDER)
    reading = parse(f"{line1}\n{line2[:35]}{last}", today=TODAY)
    assert reading.read and reading.cnp is None and reading.birth_date == HOLDER.birth


def test_no_mrz_in_the_text() -> None:
    assert parse("ROMANIA\nCARTE DE IDENTITATE\n", today=TODAY).reason == mrz.REASON_NO_MRZ


# --------------------------------------------------------------------------------------------------
# Cross-check (the case and its control)

FORM = Person(SOURCE_FORM, APPLICATION, "Ion Popescu", HOLDER.cnp)
SIGNER = Person(SOURCE_SIGNER, APPLICATION, "POPESCU ION", HOLDER.cnp)


def test_matching_card_raises_nothing() -> None:
    assert cross_check(read(), [FORM, SIGNER], received_on=TODAY) == []


def test_another_cnp_on_the_form_is_an_identity_mismatch() -> None:
    other = Person(SOURCE_FORM, APPLICATION, "Ion Popescu", cnp_for(date(1985, 4, 12), "M", serial=2))
    [issue] = cross_check(read(), [other, SIGNER], received_on=TODAY)
    assert (issue.code, issue.staff_only, issue.detail["compared"]) == ("identity_mismatch", False, "cnp")
    message = texts.render(issue.template, **issue.wording)
    assert message.startswith("CNP-ul din actul de identitate (1***********7) nu corespunde cu CNP-ul din cererea")
    assert HOLDER.cnp not in message and other.cnp not in message  # masked


def test_without_the_whole_cnp_birth_date_and_sex_are_compared() -> None:
    reading = read()
    partial = CardReading(**{**reading.__dict__, "cnp": None})
    woman = Person(SOURCE_SIGNER, APPLICATION, "Ion Popescu", cnp_for(date(1985, 4, 12), "F"))
    assert cross_check(partial, [FORM], received_on=TODAY) == []
    [issue] = cross_check(partial, [woman], received_on=TODAY)
    assert issue.detail == {"source": "signer", "compared": "birth_date_and_sex"}
    assert texts.render(issue.template, **issue.wording).startswith("Data nașterii sau sexul din actul de identitate")


def test_another_name_is_a_mismatch_but_a_misread_letter_is_not() -> None:
    [issue] = cross_check(read(), [Person(SOURCE_FORM, APPLICATION, "Maria Ionescu", None)], received_on=TODAY)
    assert issue.wording["motiv"] == "card_name"
    assert texts.render(issue.template, **issue.wording) == (
        f"Numele din actul de identitate (POPESCU ION) nu corespunde cu numele din {APPLICATION} (Maria Ionescu)."
    )
    misread = CardReading(**{**read().__dict__, "given_names": "IOANACELENA", "surname": "NAGY"})
    assert names_agree(misread, "Nagy Ioana-Elena") and names_agree(misread, "Ioana Elena Nagy")


@pytest.mark.parametrize(
    ("surname", "given", "name", "agree"),
    [
        ("NAGY", "ILON CC", "Ion Nagy", True),  # a filler read as C, a letter too many
        ("NAGY C ANA CMARIA", "", "Ana Maria Nagy", True),  # the surname separator misread
        ("POP", "", "Pop Ion", True),  # the given names lost: the surname is all there is
        ("LONESCUCCANDRELCC", "", "Andrei Ionescu", True),  # both fillers read as C, the words glued together
        ("LONESCUCCANDRELCC", "", "Maria Ionescu", False),
        ("POP", "", "Ion Nagy", False),
        ("IONESCU", "MARIA", "Ana Popa", False),
    ],
)
def test_names_leniently_compared(surname: str, given: str, name: str, agree: bool) -> None:
    assert names_agree(CardReading(**{**read().__dict__, "surname": surname, "given_names": given}), name) is agree


def test_fillers_read_as_letters_in_the_name_padding_are_dropped() -> None:
    line1, line2 = mrz_lines(Holder(surname="NAGY", given="ION"))
    reading = parse(f"{line1[:14]}<CC<CC{line1[20:]}\n{line2}", today=TODAY)
    assert (reading.surname, reading.given_names) == ("NAGY", "ION")


def test_card_expired_before_receipt_is_a_clarification_finding_001_art5_alin3_lit_a() -> None:
    expired = read(Holder(expiry=date(2026, 12, 5)))
    [issue] = cross_check(expired, [FORM], received_on=TODAY)
    assert (issue.code, issue.staff_only) == ("id_expired", False)
    assert texts.render(issue.template, **issue.wording).startswith(
        "Actul de identitate trimis a expirat la 05.12.2026, înainte de data primirii e-mailului."
    )
    assert cross_check(read(Holder(expiry=TODAY)), [FORM], received_on=TODAY) == []  # valid through its last day
    holder = issue.detail["holder"]
    assert same_holder(read(), holder) and not same_holder(read(Holder(surname="IONESCU", given="MARIA")), holder)


def test_unreadable_card_is_a_staff_only_note_never_a_finding_against_the_citizen() -> None:
    [issue] = cross_check(mrz.unreadable(mrz.REASON_CHECK_DIGITS), [FORM], received_on=TODAY)
    assert (issue.code, issue.staff_only) == ("id_not_checked", True)
    assert "nu a fost verificat automat" in texts.render(issue.template, **issue.wording)


# --------------------------------------------------------------------------------------------------
# OCR (Tesseract): a phone photo, and a PDF scan


def test_phone_photo_of_a_classic_card_is_read() -> None:
    shot = Shot(angle=3.0, perspective=0.06, noise=10, blur=0.8, quality=70)
    reading = read_card(photographed(HOLDER, shot), "jpeg", today=TODAY, timeout=10)
    assert reading.read, reading.reason
    assert reading.cnp == HOLDER.cnp and names_agree(reading, "Ion Popescu")


def test_card_scanned_into_a_pdf_is_read_and_a_pdf_without_image_is_not() -> None:
    photo = Image.open(io.BytesIO(photographed(HOLDER, Shot(angle=-2.0, frame=(1200, 900)))))
    buffer = io.BytesIO()
    photo.save(buffer, "PDF", resolution=150)
    reading = read_card(buffer.getvalue(), "pdf", today=TODAY, timeout=10)
    assert reading.read and reading.cnp == HOLDER.cnp
    assert read_card(b"%PDF-1.4 no page", "pdf", today=TODAY, timeout=10).reason == mrz.REASON_NO_IMAGE


def test_no_time_left_is_an_ocr_failure_for_staff_not_a_wait() -> None:
    reading = read_card(photographed(HOLDER, Shot(frame=(800, 600))), "jpeg", today=TODAY, timeout=0)
    assert reading.reason == mrz.REASON_OCR_FAILED


def test_a_page_is_not_read_as_a_card() -> None:
    """A portrait page (the usual blank or text scan): no Tesseract run, "not checked" for staff."""
    assert read_card(jpeg_image(), "jpeg", today=TODAY, timeout=10).reason == mrz.REASON_NO_MRZ
