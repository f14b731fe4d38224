"""Pillow's MedianFilter(3), and MinFilter/MaxFilter on black-and-white images, pixel for pixel, 3-20 times faster.

Pillow's rank filters sort every window of every pixel: a 3 x 3 median of a 1000-pixel scan took ~60 ms and a 5 x 5
minimum of a 400-pixel copy ~20 ms, about 60 ms a submission between the legibility checks and the MRZ reader
(bench/README.md, "Rank filters" under "Night of 2026-12-06"). Both have cheaper exact forms:

- the median of nine is the median of three numbers once each column of three is sorted: the largest of the column
  minima, the median of the column medians and the smallest of the column maxima (min/max of whole images:
  `ImageChops.darker` / `lighter`);
- on an image of 0 and 255 only, a 5 x 5 window holds only 255 exactly when its mean is 255, and some 255 exactly
  when its mean is above 0, and Pillow's box blur takes that mean (rounding cannot cross either line).

Borders are what Pillow's own filters do: the edge pixels repeated outwards. tests/unit/test_rank_filters.py
compares every function with the Pillow filter it replaces.
"""

from __future__ import annotations

from PIL import Image, ImageChops, ImageFilter

BINARY_SIZES = (3, 5, 7, 9)
_ONLY_WHITE = [255 if level == 255 else 0 for level in range(256)]
_ANY_WHITE = [255 if level > 0 else 0 for level in range(256)]


def median3(image: Image.Image) -> Image.Image:
    """`image.filter(ImageFilter.MedianFilter(3))` of a grayscale ("L") image. Intermediate images are let go as
    soon as they are used: at most about eight copies of the image are alive at a time."""
    width, height = image.size
    padded = _edge_padded(image)
    above, middle, below = (padded.crop((0, dy, width + 2, dy + height)) for dy in range(3))
    del padded
    # Each column of three sorted: low <= mid <= high.
    first_low, first_high = ImageChops.darker(above, middle), ImageChops.lighter(above, middle)
    del above, middle
    low, second_high = ImageChops.darker(first_low, below), ImageChops.lighter(first_low, below)
    del first_low, below
    mid, high = ImageChops.darker(first_high, second_high), ImageChops.lighter(first_high, second_high)
    del first_high, second_high

    def shifted(sorted_part: Image.Image) -> list[Image.Image]:
        return [sorted_part.crop((dx, 0, dx + width, height)) for dx in range(3)]

    lows = shifted(low)
    del low
    largest_low = ImageChops.lighter(ImageChops.lighter(lows[0], lows[1]), lows[2])
    del lows
    highs = shifted(high)
    del high
    smallest_high = ImageChops.darker(ImageChops.darker(highs[0], highs[1]), highs[2])
    del highs
    middle_mid = _median_of_three(*shifted(mid))
    del mid
    return _median_of_three(largest_low, middle_mid, smallest_high)


def min_filter_binary(image: Image.Image, size: int) -> Image.Image:
    """`image.filter(ImageFilter.MinFilter(size))` of an "L" image whose pixels are all 0 or 255 (erosion)."""
    return _box_mean(image, size).point(_ONLY_WHITE)


def max_filter_binary(image: Image.Image, size: int) -> Image.Image:
    """`image.filter(ImageFilter.MaxFilter(size))` of an "L" image whose pixels are all 0 or 255 (dilation)."""
    return _box_mean(image, size).point(_ANY_WHITE)


def _box_mean(image: Image.Image, size: int) -> Image.Image:
    # The blur rounds a row's mean, then the column's mean of those: up to 9 x 9 one 0 (or one 255) still keeps the
    # result off 255 (off 0); from 23 x 23 rounding can swallow it.
    if size not in BINARY_SIZES:
        raise ValueError(f"window {size} x {size}: only {BINARY_SIZES} are exact")
    return image.filter(ImageFilter.BoxBlur(size // 2))


def _median_of_three(a: Image.Image, b: Image.Image, c: Image.Image) -> Image.Image:
    return ImageChops.lighter(ImageChops.darker(a, b), ImageChops.darker(ImageChops.lighter(a, b), c))


def _edge_padded(image: Image.Image) -> Image.Image:
    """The image with a one-pixel border that repeats its edge pixels (corners included)."""
    width, height = image.size
    padded = Image.new(image.mode, (width + 2, height + 2))
    padded.paste(image, (1, 1))
    padded.paste(image.crop((0, 0, width, 1)), (1, 0))
    padded.paste(image.crop((0, height - 1, width, height)), (1, height + 1))
    padded.paste(padded.crop((1, 0, 2, height + 2)), (0, 0))
    padded.paste(padded.crop((width, 0, width + 1, height + 2)), (width + 1, 0))
    return padded
