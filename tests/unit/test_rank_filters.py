"""intake.validation.rank_filters gives Pillow's rank filters pixel for pixel: the legibility verdicts and the MRZ
reading must not move by a single pixel because they got faster."""

from __future__ import annotations

import random

import pytest
from PIL import Image, ImageFilter

from intake.validation import rank_filters
from tests import images

_rng = random.Random(11)
SIZES = [(1, 1), (1, 9), (9, 1), (2, 2), (3, 5), (5, 3), (4, 4), (7, 6)]
SIZES += [(_rng.randint(1, 80), _rng.randint(1, 80)) for _ in range(24)]


def _noise(size: tuple[int, int], spread: int, seed: int) -> Image.Image:
    """Grey levels drawn around mid-grey, `spread` wide (reproducible, unlike Image.effect_noise)."""
    rng = random.Random(seed)
    low = max(0, 128 - spread)
    return Image.frombytes("L", size, bytes(rng.randint(low, min(255, 128 + spread)) for _ in range(size[0] * size[1])))


def _binary(image: Image.Image, level: int = 128) -> Image.Image:
    return image.point([255 if value > level else 0 for value in range(256)])


def _photo() -> Image.Image:
    return images.phone_photo((480, 300)).convert("L")


def _gradients(size: tuple[int, int]) -> Image.Image:
    return Image.linear_gradient("L").resize(size).rotate(33, fillcolor=90)


@pytest.mark.parametrize("size", SIZES, ids=str)
def test_median3_is_pillows_median_filter(size: tuple[int, int]) -> None:
    for image in (_noise(size, 20, 1), _noise(size, 120, 2), _binary(_noise(size, 60, 3)), _gradients(size)):
        assert rank_filters.median3(image).tobytes() == image.filter(ImageFilter.MedianFilter(3)).tobytes()


@pytest.mark.parametrize("size", SIZES, ids=str)
def test_binary_min_and_max_are_pillows(size: tuple[int, int]) -> None:
    for image in (_binary(_noise(size, 60, 4)), _binary(_noise(size, 60, 5), 60), _binary(_gradients(size))):
        for window in rank_filters.BINARY_SIZES:
            erosion, dilation = ImageFilter.MinFilter(window), ImageFilter.MaxFilter(window)
            assert rank_filters.min_filter_binary(image, window).tobytes() == image.filter(erosion).tobytes()
            assert rank_filters.max_filter_binary(image, window).tobytes() == image.filter(dilation).tobytes()


@pytest.mark.parametrize("window", [9])
def test_a_single_pixel_is_not_rounded_away(window: int) -> None:
    """The box-blur form's weakest case: one black pixel in white (and one white in black), the largest window."""
    white, black = Image.new("L", (window, window), 255), Image.new("L", (window, window), 0)
    white.putpixel((window // 2, window // 2), 0)
    black.putpixel((window // 2, window // 2), 255)
    assert rank_filters.min_filter_binary(white, window).getpixel((window // 2, window // 2)) == 0
    assert rank_filters.max_filter_binary(black, window).getpixel((window // 2, window // 2)) == 255


def test_larger_windows_are_refused() -> None:
    with pytest.raises(ValueError):
        rank_filters.min_filter_binary(Image.new("L", (30, 30), 255), 23)


def test_on_a_photographed_card_as_the_checks_use_them() -> None:
    photo = _photo()
    assert rank_filters.median3(photo).tobytes() == photo.filter(ImageFilter.MedianFilter(3)).tobytes()
    for level in (60, 128, 200):
        binary = _binary(photo, level)
        opened = rank_filters.max_filter_binary(rank_filters.min_filter_binary(binary, 5), 5)
        assert opened.tobytes() == binary.filter(ImageFilter.MinFilter(5)).filter(ImageFilter.MaxFilter(5)).tobytes()
