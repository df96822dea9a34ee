"""Printable QR posters for the counter: the agency's name, a call to action, the deep link."""

from __future__ import annotations

from pathlib import Path

import segno
from matplotlib import rc_context
from matplotlib.figure import Figure
from telegram.helpers import create_deep_linked_url

CALL_TO_ACTION = "Quét mã QR để đánh giá sự hài lòng\nvề sự phục vụ của cơ quan"
FOOTER = "Ẩn danh · 2–4 phút · Mở bằng Telegram"


def deep_link(bot_username: str, agency_code: str) -> str:
    """`https://t.me/<bot>?start=<code>`: Telegram opens the bot and sends `/start <code>`."""
    return create_deep_linked_url(bot_username.lstrip("@"), agency_code)


def write_poster(agency_name: str, link: str, out: Path) -> Path:
    """An A5-proportioned poster as PNG or SVG (by the extension of `out`)."""
    if out.suffix.lower() not in (".png", ".svg"):
        raise ValueError(f"{out}: the poster is written as .png or .svg")
    matrix = [[1 if cell else 0 for cell in row] for row in segno.make(link, error="m").matrix]
    figure = Figure(figsize=(5.83, 8.27), dpi=200)  # A5 in inches
    figure.text(
        0.5, 0.93, agency_name, ha="center", va="top", fontsize=20, weight="bold", wrap=True
    )
    figure.text(0.5, 0.82, CALL_TO_ACTION, ha="center", va="top", fontsize=13, linespacing=1.4)
    axes = figure.add_axes((0.15, 0.22, 0.7, 0.7 * 5.83 / 8.27))
    axes.imshow(matrix, cmap="binary", interpolation="nearest")
    axes.set_axis_off()
    figure.text(0.5, 0.15, link, ha="center", fontsize=9, family="monospace")
    figure.text(0.5, 0.08, FOOTER, ha="center", fontsize=11, color="#444444")
    out.parent.mkdir(parents=True, exist_ok=True)
    # SVG keeps its text as text, so a print shop can still edit the agency's name.
    with rc_context({"svg.fonttype": "none"}):
        figure.savefig(out, format=out.suffix.lower().lstrip("."))
    return out
