"""Server-rendered SVG charts for the ops dashboard (/panou): bars or lines on a labelled grid, no JavaScript and
nothing fetched from elsewhere.

Every chart carries a <title> and <desc> (what a screen reader announces) and every bar or point its own <title>
(what a mouse hover shows), in Romanian. Input is data only (`Chart`); all text is escaped here.
"""

from __future__ import annotations

import math
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from html import escape

from markupsafe import Markup

WIDTH = 720
HEIGHT = 240
PAD_LEFT, PAD_RIGHT, PAD_TOP, PAD_BOTTOM = 46, 12, 48, 26
GRID_STEPS = 4
COLOURS = ("#1f5fa8", "#2e8b57", "#c0392b", "#b8860b", "#6a4c93")
HIGHLIGHT = "#fff3c4"  # the background of highlighted columns (e.g. the legal window)
LIMIT = "#555"

Scale = Callable[[float], float]  # a value to its y coordinate


@dataclass(frozen=True)
class Series:
    name: str  # Romanian, shown in the legend
    values: tuple[float, ...]
    colour: str | None = None


@dataclass(frozen=True)
class Chart:
    title: str  # Romanian; also the accessible name
    labels: tuple[str, ...]  # one per column (x axis)
    series: tuple[Series, ...]
    kind: str = "bar"  # "bar": grouped bars; "line": one polyline per series
    unit: str = ""  # after each value in the hover titles ("mesaje", "s")
    limits: tuple[float, ...] | None = None  # a mark per column (e.g. capacity), drawn as a short dark line
    limit_name: str = ""  # the legend of the marks
    highlight: frozenset[int] = field(default_factory=frozenset)  # columns drawn on a coloured background
    highlight_name: str = ""  # the legend of the highlight
    label_every: int = 1  # show every n-th x label (48 hourly labels do not fit)
    description: str = ""  # longer accessible description


def nice_ceiling(value: float, *, integer: bool = False) -> float:
    """The axis top: four grid steps of 1, 2, 2.5 or 5 times a power of ten, covering `value`. With `integer`
    (counts) the steps are whole numbers: no "0,75 mesaje" on the axis."""
    if value <= 0:
        return float(GRID_STEPS) if integer else 1.0
    power = 10 ** math.floor(math.log10(value / GRID_STEPS))
    for multiple in (1, 2, 2.5, 5, 10):
        step = multiple * power
        if integer and (step < 1 or not float(step).is_integer()):
            continue
        if step * GRID_STEPS >= value:
            return float(step * GRID_STEPS)
    return float(10 * power * GRID_STEPS)  # reached only for integer steps below 1: 10 x power covers value


def _number(value: float) -> str:
    """Romanian decimal comma; integers without decimals."""
    if float(value).is_integer():
        return str(int(value))
    return f"{value:.2f}".rstrip("0").rstrip(".").replace(".", ",")


def render(chart: Chart) -> Markup:
    count = len(chart.labels)
    for series in chart.series:
        if len(series.values) != count:
            raise ValueError(f"series {series.name!r} has {len(series.values)} values for {count} labels")
    peak = max([0.0, *(v for s in chart.series for v in s.values), *(chart.limits or ())])
    values = [v for s in chart.series for v in s.values] + list(chart.limits or ())
    top = nice_ceiling(peak, integer=all(float(v).is_integer() for v in values))
    plot_w, plot_h = WIDTH - PAD_LEFT - PAD_RIGHT, HEIGHT - PAD_TOP - PAD_BOTTOM
    column = plot_w / max(count, 1)

    def y(value: float) -> float:
        return PAD_TOP + plot_h - plot_h * value / top

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" '
        f'aria-labelledby="{_id(chart)}-t {_id(chart)}-d">',
        f'<title id="{_id(chart)}-t">{escape(chart.title)}</title>',
        f'<desc id="{_id(chart)}-d">{escape(chart.description or _summary(chart))}</desc>',
    ]
    for index in sorted(chart.highlight):
        parts.append(
            f'<rect x="{PAD_LEFT + index * column:.1f}" y="{PAD_TOP}" width="{column:.1f}" height="{plot_h}" '
            f'fill="{HIGHLIGHT}"/>'
        )
    parts.append(f'<text x="{PAD_LEFT}" y="16" font-size="14" font-weight="bold">{escape(chart.title)}</text>')
    for step in range(GRID_STEPS + 1):  # horizontal grid with the value of each line
        value = top * step / GRID_STEPS
        parts.append(
            f'<line x1="{PAD_LEFT}" x2="{WIDTH - PAD_RIGHT}" y1="{y(value):.1f}" y2="{y(value):.1f}" '
            f'stroke="#ddd"/><text x="{PAD_LEFT - 6}" y="{y(value) + 4:.1f}" text-anchor="end" '
            f'font-size="11">{_number(value)}</text>'
        )
    parts.append(f'<line x1="{PAD_LEFT}" x2="{WIDTH - PAD_RIGHT}" y1="{y(0):.1f}" y2="{y(0):.1f}" stroke="#333"/>')
    for index, label in enumerate(chart.labels):
        if index % max(chart.label_every, 1) == 0:
            x = PAD_LEFT + (index + 0.5) * column
            parts.append(
                f'<text x="{x:.1f}" y="{HEIGHT - PAD_BOTTOM + 15}" text-anchor="middle" font-size="11">'
                f"{escape(label)}</text>"
            )
    if chart.kind == "line":
        parts.extend(_lines(chart, column, y))
    else:
        parts.extend(_bars(chart, column, y))
    if chart.limits is not None:
        for index, limit in enumerate(chart.limits):
            x = PAD_LEFT + index * column
            parts.append(
                f'<line x1="{x + column * 0.1:.1f}" x2="{x + column * 0.9:.1f}" y1="{y(limit):.1f}" '
                f'y2="{y(limit):.1f}" stroke="{LIMIT}" stroke-width="3"><title>{escape(chart.labels[index])}: '
                f"{escape(chart.limit_name)} {_number(limit)}</title></line>"
            )
    parts.extend(_legend(chart))
    parts.append("</svg>")
    return Markup("".join(parts))


def _id(chart: Chart) -> str:
    return f"c{zlib.crc32(chart.title.encode()):08x}"  # stable across processes, distinct per title


def _summary(chart: Chart) -> str:
    totals = ", ".join(f"{s.name}: {_number(sum(s.values))} în total" for s in chart.series)
    return f"{chart.title}. {totals}."


def _colour(chart: Chart, index: int) -> str:
    return chart.series[index].colour or COLOURS[index % len(COLOURS)]


def _bars(chart: Chart, column: float, scale: Scale) -> list[str]:
    groups = max(len(chart.series), 1)
    width = column * 0.8 / groups
    parts = []
    for s_index, series in enumerate(chart.series):
        for index, value in enumerate(series.values):
            x = PAD_LEFT + index * column + column * 0.1 + s_index * width
            top = scale(value)
            parts.append(
                f'<rect x="{x:.1f}" y="{top:.1f}" width="{max(width - 1, 1):.1f}" height="{scale(0) - top:.1f}" '
                f'fill="{_colour(chart, s_index)}"><title>{escape(chart.labels[index])}: {escape(series.name)} '
                f"{_number(value)}{(' ' + escape(chart.unit)) if chart.unit else ''}</title></rect>"
            )
    return parts


def _lines(chart: Chart, column: float, scale: Scale) -> list[str]:
    parts = []
    for s_index, series in enumerate(chart.series):
        points = [(PAD_LEFT + (i + 0.5) * column, scale(v)) for i, v in enumerate(series.values)]
        colour = _colour(chart, s_index)
        path = " ".join(f"{x:.1f},{py:.1f}" for x, py in points)
        parts.append(f'<polyline points="{path}" fill="none" stroke="{colour}" stroke-width="2"/>')
        for (x, py), label, value in zip(points, chart.labels, series.values, strict=True):
            parts.append(
                f'<circle cx="{x:.1f}" cy="{py:.1f}" r="2.5" fill="{colour}"><title>{escape(label)}: '
                f"{escape(series.name)} {_number(value)}{(' ' + escape(chart.unit)) if chart.unit else ''}"
                "</title></circle>"
            )
    return parts


def _legend(chart: Chart) -> list[str]:
    entries = [(series.name, _colour(chart, index), "box") for index, series in enumerate(chart.series)]
    if chart.limits is not None and chart.limit_name:
        entries.append((chart.limit_name, LIMIT, "line"))
    if chart.highlight and chart.highlight_name:
        entries.append((chart.highlight_name, HIGHLIGHT, "box"))
    parts, x = [], PAD_LEFT
    for name, colour, shape in entries:
        if shape == "line":
            parts.append(f'<line x1="{x}" x2="{x + 12}" y1="32" y2="32" stroke="{colour}" stroke-width="3"/>')
        else:
            parts.append(f'<rect x="{x}" y="26" width="12" height="12" fill="{colour}" stroke="#999"/>')
        parts.append(f'<text x="{x + 16}" y="36" font-size="12">{escape(name)}</text>')
        x += 28 + int(len(name) * 6.6)
    return parts
