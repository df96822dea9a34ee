"""Zalo QR posters: the QR opens the bot's chat, the poster prints the text to send."""

from __future__ import annotations

import base64
import io
import re
from pathlib import Path

import numpy as np
import segno
from matplotlib.image import imread

from bot.files.posters import write_zalo_poster, zalo_message
from tests.test_posters import qr

ROOT = Path(__file__).resolve().parent.parent
CHAT = "https://zalo.me/1234567890123456789"
TOKEN = "v_htikq_n70tmwo2_e3927e0e0266_ubnd_xa_a"


def embedded_qr(svg: str) -> list[list[int]]:
    """The modules of the QR image inside an SVG poster, read back at each module's centre.

    No QR decoder is installed, so the test compares modules with segno's for the same link.
    """
    images = re.findall(r'xlink:href="data:image/png;base64,([^"]+)"[^>]*transform="([^"]+)"', svg)
    assert len(images) == 1
    data, transform = images[0]
    gray = imread(io.BytesIO(base64.b64decode(data)), format="png")[..., :3].mean(axis=2)
    if "scale(1 -1)" in transform:  # matplotlib stores the image bottom row first
        gray = gray[::-1]
    side = gray.shape[0]
    # The finder pattern's top edge is 7 dark modules, then a light separator.
    modules = round(side * 7 / int(np.argmax(gray[0] > 0.5)))
    centres = [int((i + 0.5) * side / modules) for i in range(modules)]
    return [[1 if gray[y, x] < 0.5 else 0 for x in centres] for y in centres]


def segno_modules(link: str) -> list[list[int]]:
    return [[1 if cell else 0 for cell in row] for row in segno.make(link, error="m").matrix]


def test_the_text_to_send_is_the_code_or_start_with_a_visit_token() -> None:
    assert zalo_message("ubnd_xa_a") == "ubnd_xa_a"  # the contract accepts the bare code
    assert zalo_message(TOKEN) == f"/start {TOKEN}"  # a token is read only after /start


def test_a_png_zalo_poster_is_a_printable_image_with_ink(tmp_path: Path) -> None:
    out = write_zalo_poster("UBND xã A", CHAT, "ubnd_xa_a", tmp_path / "z.png")
    pixels = imread(out)
    height, width = pixels.shape[:2]
    assert (width, height) == (1166, 1654)  # A5 at 200 dpi, like the Telegram poster
    dark = (pixels[..., :3].mean(axis=2) < 0.5).mean()
    assert 0.05 < dark < 0.6


def test_an_svg_zalo_poster_prints_what_to_send_and_the_chat_qr(tmp_path: Path) -> None:
    out = write_zalo_poster("Sở Tư pháp", CHAT, "so_tu_phap", tmp_path / "z.svg")
    text = out.read_text("utf-8")
    assert text.startswith("<?xml")
    for shown in ("Sở Tư pháp", "Mở Zalo, quét mã, rồi gửi:", ">so_tu_phap<", "Open Zalo", CHAT):
        assert shown in text
    assert embedded_qr(text) == segno_modules(CHAT)


def test_a_visit_poster_prints_start_and_the_token_on_one_line(tmp_path: Path) -> None:
    out = write_zalo_poster("UBND xã A", CHAT, f"/start {TOKEN}", tmp_path / "v.svg")
    assert f">/start {TOKEN}<" in out.read_text("utf-8")


def test_the_qr_command_writes_a_zalo_poster_without_any_bot_token(tmp_path: Path) -> None:
    out = tmp_path / "zalo.svg"
    done = qr("--agency", "ubnd_xa_a", "--channel", "zalo", "--zalo-url", CHAT, "--out", str(out))
    assert done.returncode == 0, done.stderr  # no getMe: the example config has no token
    assert "the citizen sends: ubnd_xa_a" in done.stdout
    assert ">ubnd_xa_a<" in out.read_text("utf-8")
    visit = tmp_path / "visit.svg"
    done = qr(
        *("--agency", "ubnd_xa_a", "--channel", "zalo", "--zalo-url", CHAT, "--visit"),
        *("--out", str(visit)),
    )
    assert done.returncode == 0, done.stderr
    sent = re.search(
        r">(/start v_[0-9a-z]+_[0-9a-z]{8}_[0-9a-f]{12}_ubnd_xa_a)<", visit.read_text()
    )
    assert sent is not None
    assert f"the citizen sends: {sent[1]}" in done.stdout


def test_a_zalo_poster_without_its_url_is_refused_in_one_line(tmp_path: Path) -> None:
    out = tmp_path / "none.png"
    for url in ((), ("--zalo-url", "zalo.me/123")):
        refused = qr("--agency", "ubnd_xa_a", "--channel", "zalo", *url, "--out", str(out))
        assert refused.returncode == 2
        assert "--zalo-url" in refused.stderr
        assert "start" in refused.stderr  # why: Zalo links carry no start code
        assert len(refused.stderr.strip().splitlines()) == 1
    assert not out.exists()


def test_a_zalo_url_on_a_telegram_poster_is_refused(tmp_path: Path) -> None:
    refused = qr("--agency", "ubnd_xa_a", "--bot-username", "b", "--zalo-url", CHAT)
    assert refused.returncode == 2
    assert "--channel zalo" in refused.stderr


def test_the_telegram_channel_is_the_default_and_unchanged(tmp_path: Path) -> None:
    default, explicit = tmp_path / "default.png", tmp_path / "explicit.png"
    args = ("--agency", "ubnd_xa_a", "--bot-username", "sipas_bot")
    assert qr(*args, "--out", str(default)).returncode == 0
    done = qr(*args, "--channel", "telegram", "--out", str(explicit))
    assert done.returncode == 0, done.stderr
    assert "https://t.me/sipas_bot?start=ubnd_xa_a" in done.stdout
    assert default.read_bytes() == explicit.read_bytes()
