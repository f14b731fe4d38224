"""Images for legibility tests, drawn at test time with Pillow: a synthetic identity card (ID-1, 85.6 × 54 mm)
as a phone would photograph it, and the ways such a photo goes wrong (blur, glare, cut off, blank, tiny)."""

from __future__ import annotations

import io
import math
from functools import cache
from pathlib import Path

from PIL import Image, ImageChops, ImageDraw, ImageFilter, ImageFont

FONT = Path(__file__).resolve().parents[1] / "intake" / "receipts" / "fonts" / "DejaVuSans.ttf"
BOLD = FONT.with_name("DejaVuSans-Bold.ttf")

CARD_MM = (85.6, 54.0)
CARD_PAPER = (208, 222, 228)  # the pale blue-green of a Romanian identity card
TABLE = (92, 74, 60)  # a dark wooden table

# (x mm, y mm, size mm, bold, text): labels small and grey, data larger and dark, as on a card.
_CARD_TEXT: tuple[tuple[float, float, float, bool, str], ...] = (
    (4.0, 3.0, 2.4, True, "ROUMANIE  ROMÂNIA  ROMANIA"),
    (4.0, 6.5, 1.8, False, "CARTE DE IDENTITATE  IDENTITY CARD"),
    (30.0, 11.0, 1.4, False, "CNP"),
    (36.0, 10.6, 2.2, True, "1850412120019"),
    (30.0, 15.0, 1.4, False, "Nume/Nom/Last name"),
    (30.0, 17.2, 2.4, True, "POPESCU"),
    (30.0, 21.5, 1.4, False, "Prenume/Prenom/First name"),
    (30.0, 23.7, 2.4, True, "ION"),
    (30.0, 28.0, 1.4, False, "Loc naștere/Lieu de naissance"),
    (30.0, 30.2, 2.0, True, "Mun. Cluj-Napoca Jud. CJ"),
    (30.0, 34.5, 1.4, False, "Domiciliu/Adresse/Address"),
    (30.0, 36.7, 2.0, True, "Mun. Cluj-Napoca Str. Memorandumului nr. 28"),
    (30.0, 39.6, 2.0, True, "ap. 14"),
    (4.0, 44.0, 2.2, True, "IDROUPOPESCU<<ION<<<<<<<<<<<<<<<<<<<"),
    (4.0, 47.8, 2.2, True, "KX123456<7ROU8504120M3104123<<<<<<<4"),
)


@cache
def card(px_per_mm: float = 12.0, *, printed: bool = True) -> Image.Image:
    """The front of an identity card, drawn at `px_per_mm` (12 ≈ 305 dpi), margins free of print; `printed=False`:
    the bare card stock (a photo of the wrong side of a blank card)."""
    size = (round(CARD_MM[0] * px_per_mm), round(CARD_MM[1] * px_per_mm))
    image = Image.new("RGB", size, CARD_PAPER)
    draw = ImageDraw.Draw(image)
    if not printed:
        return image
    # Security print: fine, pale guilloche lines (no ink for a legibility check, as on a real card).
    for index in range(0, size[0], max(2, round(px_per_mm * 1.5))):
        draw.line([(index, 0), (index + size[1] // 2, size[1])], fill=(190, 208, 216), width=1)
    # The holder's photograph: a darker block with a face-like oval.
    photo = (round(4 * px_per_mm), round(10 * px_per_mm), round(26 * px_per_mm), round(40 * px_per_mm))
    draw.rectangle(photo, fill=(168, 176, 180))
    draw.ellipse(
        (photo[0] + (photo[2] - photo[0]) // 5, photo[1] + (photo[3] - photo[1]) // 8,
         photo[2] - (photo[2] - photo[0]) // 5, photo[3] - (photo[3] - photo[1]) // 4),
        fill=(120, 96, 84),
    )
    for x_mm, y_mm, size_mm, bold, text in _CARD_TEXT:
        font = ImageFont.truetype(str(BOLD if bold else FONT), max(6, round(size_mm * px_per_mm)))
        colour = (24, 28, 36) if bold else (70, 78, 90)
        draw.text((round(x_mm * px_per_mm), round(y_mm * px_per_mm)), text, fill=colour, font=font)
    return image


@cache
def phone_photo(
    size: tuple[int, int] = (1600, 1000),
    *,
    fill: float = 0.8,
    offset: tuple[float, float] = (0.0, 0.0),
    surface: tuple[int, int, int] = TABLE,
    noise: int = 6,
    soft: float = 0.6,
    printed: bool = True,
) -> Image.Image:
    """An identity card lying on a table, photographed: the card spans `fill` of the frame's width (limited by
    its height), shifted by `offset` (fractions of the frame), with sensor noise and a slightly soft lens."""
    width, height = size
    card_width = min(fill * width, fill * height * CARD_MM[0] / CARD_MM[1])
    scale = card_width / CARD_MM[0]
    drawn = card(max(4.0, min(scale, 24.0)), printed=printed).resize(
        (round(card_width), round(card_width * CARD_MM[1] / CARD_MM[0])), Image.Resampling.LANCZOS
    )
    photo = Image.new("RGB", size, surface)
    left = round((width - drawn.width) / 2 + offset[0] * width)
    top = round((height - drawn.height) / 2 + offset[1] * height)
    photo.paste(drawn, (left, top))
    if soft:
        photo = photo.filter(ImageFilter.GaussianBlur(soft * max(size) / 1600))
    if noise:
        photo = _noisy(photo, noise)
    return photo


def blurred(image: Image.Image, radius_fraction: float = 0.006) -> Image.Image:
    """Out of focus: a Gaussian blur of `radius_fraction` of the long side (0.006 ≈ 10 px on 1600)."""
    return image.filter(ImageFilter.GaussianBlur(radius_fraction * max(image.size)))


def glared(image: Image.Image, area: float = 0.15, centre: tuple[float, float] = (0.55, 0.45)) -> Image.Image:
    """A flash reflected by the laminated card: a blown-out oval over `area` of the frame, the print under it
    gone."""
    width, height = image.size
    rx, ry = width * (area / math.pi) ** 0.5, height * (area / math.pi) ** 0.5
    cx, cy = centre[0] * width, centre[1] * height
    mask = Image.new("L", image.size, 0)
    ImageDraw.Draw(mask).ellipse((cx - rx, cy - ry, cx + rx, cy + ry), fill=255)
    mask = mask.filter(ImageFilter.GaussianBlur(min(width, height) * 0.01))
    return Image.composite(Image.new("RGB", image.size, (255, 255, 255)), image, mask)


def encode(image: Image.Image, fmt: str = "JPEG", **options: object) -> bytes:
    buffer = io.BytesIO()
    if fmt == "JPEG":
        options.setdefault("quality", 88)
    image.convert("RGB").save(buffer, fmt, **options)
    return buffer.getvalue()


def _noisy(image: Image.Image, sigma: int) -> Image.Image:
    """Sensor noise (Pillow's Gaussian noise field, centred on 128): only its spread matters here."""
    field = Image.effect_noise(image.size, sigma).convert("RGB")
    return ImageChops.add(image, field, 1, -128)
