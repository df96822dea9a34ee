"""QR posters: a printable file with the agency's name and the bot's deep link."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from matplotlib.image import imread

from bot.files.posters import write_poster
from handlers.telegram.links import deep_link

ROOT = Path(__file__).resolve().parent.parent


def test_the_deep_link_opens_the_bot_with_the_agency_code() -> None:
    assert deep_link("@sipas_bot", "ubnd_xa_a") == "https://t.me/sipas_bot?start=ubnd_xa_a"


def test_a_png_poster_is_a_printable_image_with_ink(tmp_path: Path) -> None:
    out = write_poster("UBND xã A", deep_link("sipas_bot", "ubnd_xa_a"), tmp_path / "a.png")
    pixels = imread(out)
    height, width = pixels.shape[:2]
    assert (width, height) == (1166, 1654)  # A5 at 200 dpi
    dark = (pixels[..., :3].mean(axis=2) < 0.5).mean()
    assert 0.05 < dark < 0.6  # a QR code and text, not a blank page


def test_an_svg_poster_names_the_agency_and_the_link(tmp_path: Path) -> None:
    out = write_poster("Sở Tư pháp", deep_link("sipas_bot", "so_tu_phap"), tmp_path / "b.svg")
    text = out.read_text("utf-8")
    assert text.startswith("<?xml")
    assert "Sở Tư pháp" in text
    assert "https://t.me/sipas_bot?start=so_tu_phap" in text


def qr(*args: str) -> subprocess.CompletedProcess[str]:
    """`python -m bot qr` on the example config, which has no Telegram or Zalo token."""
    return subprocess.run(
        [sys.executable, "-m", "bot", "qr", "--config", "config.example.toml", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )


def test_the_qr_command_writes_a_poster_and_refuses_an_unknown_agency(tmp_path: Path) -> None:
    out = tmp_path / "poster.png"
    done = qr("--agency", "ubnd_xa_a", "--bot-username", "sipas_bot", "--out", str(out))
    assert done.returncode == 0, done.stderr
    assert out.exists()
    assert "https://t.me/sipas_bot?start=ubnd_xa_a" in done.stdout
    refused = qr("--agency", "nope", "--bot-username", "sipas_bot", "--out", str(out))
    assert refused.returncode == 2
    assert "unknown agency 'nope'" in refused.stderr


@pytest.mark.parametrize(
    ("args", "reason"),
    [
        (["--out", "poster.txt"], "poster.txt: the poster is written as .png or .svg"),
        (["--visit", "--valid-minutes", "-5"], "--valid-minutes must be from 1 to"),
        (["--visit", "--valid-minutes", "0"], "--valid-minutes must be from 1 to"),
        (["--visit", "--valid-minutes", "600000"], "--valid-minutes must be from 1 to"),
        (["--visit", "--valid-minutes", str(10**13)], "--valid-minutes must be from 1 to"),
    ],
    ids=["txt", "negative", "zero", "over-a-year", "overflow"],
)
def test_a_bad_qr_request_is_one_line_and_writes_nothing(
    tmp_path: Path, args: list[str], reason: str
) -> None:
    default = ["--out", str(tmp_path / "poster.png")]
    wanted = [arg.replace("poster.txt", str(tmp_path / "poster.txt")) for arg in args]
    done = qr("--agency", "ubnd_xa_a", "--bot-username", "sipas_bot", *default, *wanted)
    assert done.returncode == 2, done.stdout
    assert done.stderr.count("\n") == 1, done.stderr
    assert reason in done.stderr
    assert list(tmp_path.iterdir()) == []
