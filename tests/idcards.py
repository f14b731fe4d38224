"""Romanian identity cards drawn at test time, with a real machine-readable zone (MRZ) in OCR-B, and the ways a
phone photographs them: a few degrees of rotation, perspective, sensor noise, blur, JPEG compression.

The MRZ follows ICAO Doc 9303: the classic card (CI) in the TD2 layout of Part 6 (2x36: name; number, ROU, birth,
sex, expiry, the CNP's first and last six digits), the electronic card (CEI) in the TD1 layout of Part 5 (3x30, the
whole CNP in the optional data). OCR-B comes from Debian's `fonts-ocr-b` (scripts/install-test-servers); a machine
without it fails the tests that draw a card, it does not skip them.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import date
from functools import cache
from pathlib import Path

from PIL import Image, ImageChops, ImageDraw, ImageFilter, ImageFont

from intake.validation.identity import cnp_check_digit
from intake.validation.mrz import compose
from tests.images import BOLD, CARD_MM, CARD_PAPER, FONT, TABLE, encode

OCR_B = Path("/usr/share/fonts/opentype/ocr-b/OCRB.otf")


def cnp_for(birth: date, sex: str, county: int = 12, serial: int = 1) -> str:
    """A valid CNP: S (1/2 for 1900-1999, 5/6 from 2000), YYMMDD, county, serial, check digit."""
    first = {("M", 19): "1", ("F", 19): "2", ("M", 20): "5", ("F", 20): "6"}[(sex, birth.year // 100)]
    twelve = f"{first}{birth:%y%m%d}{county:02d}{serial:03d}"
    return twelve + str(cnp_check_digit(twelve))


@dataclass(frozen=True)
class Holder:
    surname: str = "POPESCU"
    given: str = "ION"
    birth: date = date(1985, 4, 12)
    sex: str = "M"
    expiry: date = date(2031, 4, 12)
    number: str = "CJ123456"  # classic: series (2 letters) + 6 digits; CEI: 9 characters
    layout: str = "TD2"
    county: int = 12
    serial: int = 1
    cnp: str = field(default="")

    def __post_init__(self) -> None:
        if not self.cnp:
            object.__setattr__(self, "cnp", cnp_for(self.birth, self.sex, self.county, self.serial))


def mrz_lines(holder: Holder) -> list[str]:
    return compose(
        holder.layout,
        surname=holder.surname,
        given=holder.given,
        number=holder.number,
        birth=holder.birth,
        sex=holder.sex,
        expiry=holder.expiry,
        cnp=holder.cnp,
    )


@cache
def _font(path: Path, size: int) -> ImageFont.FreeTypeFont:
    if not path.exists():
        raise AssertionError(f"{path} is missing: install Debian's fonts-ocr-b (scripts/install-test-servers)")
    return ImageFont.truetype(str(path), size)


def card_image(holder: Holder, px_per_mm: float = 12.0) -> Image.Image:
    """The front of the card: pale stock with guilloche, a photo, the printed data, the MRZ at the bottom."""
    size = (round(CARD_MM[0] * px_per_mm), round(CARD_MM[1] * px_per_mm))
    image = Image.new("RGB", size, CARD_PAPER)
    draw = ImageDraw.Draw(image)
    for x in range(0, size[0], max(2, round(px_per_mm * 1.5))):
        draw.line([(x, 0), (x + size[1] // 2, size[1])], fill=(190, 208, 216), width=1)
    mm = px_per_mm
    draw.rectangle((round(4 * mm), round(10 * mm), round(26 * mm), round(36 * mm)), fill=(150, 140, 132))
    printed = (
        (3.0, 2.4, True, "ROUMANIE  ROMÂNIA  ROMANIA"),
        (10.6, 2.2, True, f"CNP {holder.cnp}"),
        (15.0, 1.4, False, "Nume/Nom/Last name"),
        (17.2, 2.4, True, holder.surname),
        (21.5, 1.4, False, "Prenume/Prenom/First name"),
        (23.7, 2.4, True, holder.given),
        (28.0, 1.4, False, "Valabilitate/Validité/Validity"),
        (30.2, 2.0, True, f"{holder.expiry:%d.%m.%Y}"),
    )
    for y_mm, size_mm, bold, text in printed:
        font = _font(BOLD if bold else FONT, max(6, round(size_mm * mm)))
        draw.text((round(30 * mm), round(y_mm * mm)), text, fill=(24, 28, 36) if bold else (70, 78, 90), font=font)
    lines = mrz_lines(holder)
    # The MRZ spans the card's width less 3 mm margins, lines 3.8 mm apart, in the lowest third.
    text_width = CARD_MM[0] - 6.0
    font = _font(OCR_B, round(mm * 2.6))
    scale = text_width * mm / font.getlength(lines[0])
    font = _font(OCR_B, max(6, round(mm * 2.6 * scale)))
    top = CARD_MM[1] - 3.0 - 3.8 * len(lines)
    for index, line in enumerate(lines):
        draw.text((round(3 * mm), round((top + 3.8 * index) * mm)), line, fill=(20, 20, 24), font=font)
    return image


@dataclass(frozen=True)
class Shot:
    """How the card was photographed."""

    angle: float = 0.0  # degrees, counter-clockwise
    perspective: float = 0.0  # how far the far edge shrinks (0.06 = 6 % of the width)
    noise: int = 6  # spread of the sensor noise, in grey levels
    seed: int = 0  # of the noise: the same shot gives the same photo (a test that passes once always does)
    blur: float = 0.5  # px
    quality: int = 85  # JPEG quality
    fill: float = 0.85  # share of the frame's width the card takes
    frame: tuple[int, int] = (1600, 1200)


def photographed(holder: Holder, shot: Shot = Shot(), fmt: str = "JPEG") -> bytes:
    """The card lying on a table, photographed by a phone as `shot` says; the encoded file's bytes."""
    width, height = shot.frame
    card_width = round(shot.fill * width)
    drawn = card_image(holder, max(6.0, card_width / CARD_MM[0]))
    drawn = drawn.resize((card_width, round(card_width * CARD_MM[1] / CARD_MM[0])), Image.Resampling.LANCZOS)
    photo = Image.new("RGB", shot.frame, TABLE)
    photo.paste(drawn, ((width - drawn.width) // 2, (height - drawn.height) // 2))
    if shot.perspective:
        photo = _tilted(photo, shot.perspective)
    if shot.angle:
        photo = photo.rotate(shot.angle, resample=Image.Resampling.BICUBIC, fillcolor=TABLE)
    if shot.blur:
        photo = photo.filter(ImageFilter.GaussianBlur(shot.blur))
    if shot.noise:
        photo = _noisy(photo, shot.noise, shot.seed)
    return encode(photo, fmt, quality=shot.quality) if fmt == "JPEG" else encode(photo, fmt)


def _noisy(image: Image.Image, sigma: int, seed: int) -> Image.Image:
    """Sensor noise, reproducible (Pillow's `effect_noise` cannot be seeded): the sum of two uniform fields, roughly
    Gaussian, spread `sigma` grey levels, added to every channel."""
    rng = random.Random(seed)
    size = image.width * image.height
    fields = [Image.frombytes("L", image.size, rng.randbytes(size)) for _ in range(2)]
    # Two uniform 0-255 fields averaged: mean 128, standard deviation ~52; scaled to sigma around 128.
    field = ImageChops.add(fields[0], fields[1], scale=2.0).point(lambda v: round(128 + (v - 128) * sigma / 52))
    return ImageChops.add(image, Image.merge("RGB", (field, field, field)), 1, -128)


def _tilted(image: Image.Image, amount: float) -> Image.Image:
    """A phone held at an angle: the top edge of the frame appears narrower than the bottom one."""
    width, height = image.size
    inset = amount * width / 2
    # Where each corner of the output is taken from in the input (top corners spread out: the top looks smaller).
    source = [(-inset, 0), (width + inset, 0), (width, height), (0, height)]
    target = [(0, 0), (width, 0), (width, height), (0, height)]
    return image.transform(
        image.size, Image.Transform.PERSPECTIVE, _perspective_coefficients(target, source), fillcolor=TABLE
    )


def _perspective_coefficients(
    target: list[tuple[float, float]], source: list[tuple[float, float]]
) -> tuple[float, ...]:
    """The eight coefficients Pillow's PERSPECTIVE takes (output point → input point), solved by elimination."""
    rows: list[list[float]] = []
    for (x, y), (u, v) in zip(target, source, strict=True):
        rows.append([x, y, 1, 0, 0, 0, -u * x, -u * y, u])
        rows.append([0, 0, 0, x, y, 1, -v * x, -v * y, v])
    for col in range(8):
        pivot = max(range(col, 8), key=lambda r: abs(rows[r][col]))
        rows[col], rows[pivot] = rows[pivot], rows[col]
        for r in range(8):
            if r != col:
                factor = rows[r][col] / rows[col][col]
                rows[r] = [a - factor * b for a, b in zip(rows[r], rows[col], strict=True)]
    return tuple(rows[r][8] / rows[r][r] for r in range(8))


def random_cases(count: int, seed: int = 13) -> list[tuple[Holder, Shot]]:
    """`count` holders and shots, varied: layouts, names, dates, rotation up to 4°, perspective, noise, blur, JPEG."""
    rng = random.Random(seed)
    surnames = ["POPESCU", "IONESCU", "STEFANESCU", "MURESAN", "POP", "TARANU", "CONSTANTINESCU", "NAGY"]
    givens = ["ION", "MARIA", "ANA MARIA", "VASILE", "IOANA ELENA", "ANDREI", "ALEXANDRU MIHAI", "ZSOLT"]
    cases = []
    for index in range(count):
        birth = date(rng.randint(1950, 2006), rng.randint(1, 12), rng.randint(1, 28))
        layout = "TD2" if index % 3 else "TD1"
        number = f"{rng.choice(['CJ', 'KX', 'CT', 'AR'])}{rng.randint(0, 999999):06d}"
        if layout == "TD1":
            number += str(rng.randint(0, 9))
        holder = Holder(
            surname=rng.choice(surnames),
            given=rng.choice(givens),
            birth=birth,
            sex=rng.choice("MF"),
            expiry=date(rng.randint(2024, 2035), birth.month, birth.day),
            number=number,
            layout=layout,
            county=rng.randint(1, 46),
            serial=rng.randint(1, 999),
        )
        shot = Shot(
            angle=rng.uniform(-4, 4),
            perspective=rng.choice([0.0, 0.0, 0.04, 0.08]),
            noise=rng.choice([4, 8, 12]),
            blur=rng.choice([0.0, 0.6, 1.0]),
            quality=rng.choice([60, 75, 90]),
            fill=rng.uniform(0.7, 0.95),
            frame=rng.choice([(1600, 1200), (1200, 900), (2000, 1500)]),
            seed=rng.randrange(2**32),
        )
        cases.append((holder, shot))
    return cases
