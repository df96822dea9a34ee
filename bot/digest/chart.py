"""The digest chart as PNG bytes: element indices with 95% whiskers and the SIPAS trend.

Drawn with matplotlib's object API on the Agg canvas (no pyplot, no GUI backend, no global
figure registry), imported inside `render_chart` so importing this module costs nothing. Text is
set in DejaVu Sans, which ships with matplotlib and has every Vietnamese diacritic.
"""

from __future__ import annotations

import io
import math
import textwrap
import threading
from typing import TYPE_CHECKING

from survey.digest import ChartSpec

if TYPE_CHECKING:
    from matplotlib.axes import Axes

WIDTH, HEIGHT, DPI = 1200, 600, 100
FONT = "DejaVu Sans"
LABEL_WIDTH = 24
"""Element titles are wrapped at about this many characters to keep the bars wide."""

_BAR = "#2f6db5"
_LINE = "#1f4e8c"
_BAND = "#9dbfe6"
_ALERT = "#c0392b"
_MUTED = "#777777"
# rcParams are process-wide and the digest renders in worker threads: one figure at a time.
_LOCK = threading.Lock()


def render_chart(spec: ChartSpec) -> bytes:
    """A WIDTH×HEIGHT PNG: elements on the left, the trend on the right, the title on top."""
    from matplotlib import rc_context
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    style = rc_context(
        {
            "font.family": FONT,
            "font.size": 10,
            "axes.spines.top": False,
            "axes.spines.right": False,
        }
    )
    with _LOCK, style:
        figure = Figure(figsize=(WIDTH / DPI, HEIGHT / DPI), dpi=DPI, layout="constrained")
        FigureCanvasAgg(figure)
        elements, trend = figure.subplots(1, 2, width_ratios=(1.1, 1.0))
        figure.suptitle(spec.title, fontsize=13, fontweight="bold")
        _draw_elements(elements, spec)
        _draw_trend(trend, spec)
        buffer = io.BytesIO()
        figure.savefig(buffer, format="png", dpi=DPI, metadata={"Software": None})
    return buffer.getvalue()


def _draw_elements(axes: Axes, spec: ChartSpec) -> None:
    axes.set_title(spec.elements_title, loc="left", fontsize=11)
    axes.set_xlim(0, 100)
    axes.set_xlabel("%")
    if not spec.bars:
        axes.set_yticks([])
        axes.text(
            50, 0.5, spec.empty_note or "", ha="center", va="center", fontsize=12, color=_MUTED
        )
        axes.set_ylim(0, 1)
        return
    # The first element on top, as in the text.
    positions = list(range(len(spec.bars)))[::-1]
    for y, bar in zip(positions, spec.bars, strict=True):
        estimate = bar.estimate
        if estimate is None:
            axes.text(1, y, bar.value_text, va="center", color=_MUTED)
            continue
        axes.barh(y, estimate.value, height=0.6, color=_BAR, alpha=0.85)
        axes.errorbar(
            estimate.value,
            y,
            xerr=[[estimate.value - estimate.low], [estimate.high - estimate.value]],
            fmt="none",
            ecolor="black",
            capsize=4,
            linewidth=1.2,
        )
        # The value sits inside the bar's base so it never collides with the whisker.
        axes.text(2, y, bar.value_text, va="center", color="white", fontweight="bold")
    axes.set_yticks(positions, [textwrap.fill(bar.label, LABEL_WIDTH) for bar in spec.bars])


def _draw_trend(axes: Axes, spec: ChartSpec) -> None:
    axes.set_title(spec.trend_title, loc="left", fontsize=11)
    xs = list(range(len(spec.trend)))
    nan = math.nan
    # NaN breaks the line and the band: a suppressed week is a visible gap, not a zero.
    values = [m.estimate.value if m.estimate else nan for m in spec.trend]
    lows = [m.estimate.low if m.estimate else nan for m in spec.trend]
    highs = [m.estimate.high if m.estimate else nan for m in spec.trend]
    axes.fill_between(xs, lows, highs, color=_BAND, alpha=0.5, linewidth=0)
    axes.plot(xs, values, color=_LINE, marker="o", linewidth=2)
    for x, mark in zip(xs, spec.trend, strict=True):
        if mark.estimate is None:
            axes.text(x, 3, mark.gap_text, ha="center", fontsize=8, color=_MUTED)
            continue
        # Whiskers too: a week between two gaps has no band to show its interval.
        axes.vlines(x, mark.estimate.low, mark.estimate.high, color=_LINE, linewidth=1)
    axes.axhline(spec.threshold, color=_ALERT, linestyle="--", linewidth=1)
    axes.text(
        len(xs) - 0.5,
        spec.threshold + 1.5,
        spec.threshold_label,
        ha="right",
        color=_ALERT,
        fontsize=8,
    )
    axes.set_ylim(0, 100)
    axes.set_ylabel("SIPAS (%)")
    axes.set_xticks(xs, [mark.label for mark in spec.trend])
    axes.set_xlim(-0.5, max(len(xs) - 0.5, 0.5))
    axes.grid(axis="y", alpha=0.3)
