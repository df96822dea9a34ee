"""Printable QR posters for the counter: the agency's name, a call to action, the QR's link."""

from __future__ import annotations

from pathlib import Path

import segno
from matplotlib import rc_context
from matplotlib.figure import Figure

from survey.visits import is_visit_payload

CALL_TO_ACTION = "Quét mã QR để đánh giá sự hài lòng\nvề sự phục vụ của cơ quan"
FOOTER = "Ẩn danh · 2–4 phút · Mở bằng Telegram"
WEB_FOOTER = "Ẩn danh · 2–4 phút · Mở bằng máy ảnh hoặc trình duyệt của điện thoại"
ZALO_INVITATION = "Đánh giá sự hài lòng về sự phục vụ của cơ quan"
ZALO_INSTRUCTION = "Mở Zalo, quét mã, rồi gửi:"
ZALO_INSTRUCTION_EN = "Open Zalo, scan the code, then send the text in the box"
ZALO_FOOTER = "Ẩn danh · 2–4 phút · Mở bằng Zalo"

PAGE = (5.83, 8.27)  # A5 in inches
DPI = 200
MONO_ADVANCE = 0.602  # DejaVu Sans Mono's character width, in ems
MESSAGE_POINTS = 30  # the text to send, when it is short enough
MESSAGE_WIDTH = 0.84  # of the page, at most, so the box stays inside the margins


def web_link(public_url: str, payload: str) -> str:
    """The web page of an agency (`/s/<code>`) or of one signed visit (`/s/v/<token>`)."""
    base = public_url.rstrip("/")
    return f"{base}/s/v/{payload}" if is_visit_payload(payload) else f"{base}/s/{payload}"


def zalo_message(payload: str) -> str:
    """What a Zalo citizen types to start: the agency code, or `/start <token>` for a visit.

    Zalo has no start payload, so the typed text does its job; a bare agency code is accepted
    as a first message, but a visit token is only read as the argument of `/start`.
    """
    return f"/start {payload}" if is_visit_payload(payload) else payload


def qr_matrix(link: str) -> list[list[int]]:
    """The modules of the poster's QR code (1 = dark), without the quiet zone."""
    return [[1 if cell else 0 for cell in row] for row in segno.make(link, error="m").matrix]


def write_poster(agency_name: str, link: str, out: Path, footer: str = FOOTER) -> Path:
    """An A5-proportioned Telegram (or web) poster as PNG or SVG (by the extension of `out`)."""
    check_poster_format(out)
    figure = Figure(figsize=PAGE, dpi=DPI)
    figure.text(
        0.5, 0.93, agency_name, ha="center", va="top", fontsize=20, weight="bold", wrap=True
    )
    figure.text(0.5, 0.82, CALL_TO_ACTION, ha="center", va="top", fontsize=13, linespacing=1.4)
    _draw_qr(figure, link, left=0.15, bottom=0.22, width=0.7)
    figure.text(0.5, 0.15, link, ha="center", fontsize=9, family="monospace")
    figure.text(0.5, 0.08, footer, ha="center", fontsize=11, color="#444444")
    return _save(figure, out)


def write_zalo_poster(agency_name: str, chat_link: str, message: str, out: Path) -> Path:
    """The Zalo poster: the QR opens the bot's chat, the boxed `message` is what to send."""
    check_poster_format(out)
    figure = Figure(figsize=PAGE, dpi=DPI)
    figure.text(
        0.5, 0.95, agency_name, ha="center", va="top", fontsize=20, weight="bold", wrap=True
    )
    figure.text(0.5, 0.84, ZALO_INVITATION, ha="center", va="top", fontsize=12)
    _draw_qr(figure, chat_link, left=0.23, bottom=0.405, width=0.54)
    figure.text(0.5, 0.35, ZALO_INSTRUCTION, ha="center", fontsize=17, weight="bold")
    # Monospace in a box: the citizen copies it character by character (0/O, 1/l differ).
    figure.text(
        0.5,
        0.265,
        message,
        ha="center",
        va="center",
        fontsize=message_points(message),
        family="monospace",
        weight="bold",
        bbox={"boxstyle": "round,pad=0.5", "facecolor": "#f2f2f2", "edgecolor": "#222222"},
    )
    figure.text(0.5, 0.185, ZALO_INSTRUCTION_EN, ha="center", fontsize=11, style="italic")
    figure.text(0.5, 0.13, chat_link, ha="center", fontsize=9, family="monospace")
    figure.text(0.5, 0.07, ZALO_FOOTER, ha="center", fontsize=11, color="#444444")
    return _save(figure, out)


def message_points(message: str) -> float:
    """The largest font size (at most MESSAGE_POINTS) that keeps `message` on one line.

    One line because a line break would be typed as part of the message.
    """
    room = PAGE[0] * 72 * MESSAGE_WIDTH
    return min(MESSAGE_POINTS, room / (MONO_ADVANCE * max(len(message), 1)))


def check_poster_format(out: Path) -> None:
    """ValueError (one line) unless `out` ends in a format the poster is written in."""
    if out.suffix.lower() not in (".png", ".svg"):
        raise ValueError(f"{out}: the poster is written as .png or .svg")


def _draw_qr(figure: Figure, link: str, *, left: float, bottom: float, width: float) -> None:
    """The QR code in a square of `width` (a fraction of the page's width)."""
    axes = figure.add_axes((left, bottom, width, width * PAGE[0] / PAGE[1]))
    axes.imshow(qr_matrix(link), cmap="binary", interpolation="nearest")
    axes.set_axis_off()


def _save(figure: Figure, out: Path) -> Path:
    out.parent.mkdir(parents=True, exist_ok=True)
    # SVG keeps its text as text, so a print shop can still edit the agency's name.
    with rc_context({"svg.fonttype": "none"}):
        figure.savefig(out, format=out.suffix.lower().lstrip("."))
    return out
