"""The digest chart: a real PNG of the expected size, drawn, with Vietnamese text."""

from __future__ import annotations

import io
import subprocess
import sys
import warnings
from pathlib import Path

from PIL import Image

from bot.digest.chart import HEIGHT, WIDTH, render_chart
from survey.digest import Bar, ChartSpec, TrendMark
from survey.index import Estimate

ROOT = Path(__file__).resolve().parent.parent
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
WHITE = (255, 255, 255)
ELEMENTS = (
    "Tiếp cận dịch vụ hành chính công",
    "Thủ tục hành chính",
    "Công chức trực tiếp giải quyết công việc",
    "Kết quả giải quyết thủ tục hành chính",
    "Tiếp nhận, xử lý phản ánh, kiến nghị",
)


def estimate(value: float, half: float = 8.0, n: int = 40) -> Estimate:
    return Estimate(value=value, n=n, low=value - half, high=value + half, se=half / 1.96)


def spec(*, suppressed: bool = False) -> ChartSpec:
    values = (74.4, 68.0, 82.5, 90.1, 55.0)
    bars: tuple[Bar, ...] = ()
    if not suppressed:
        bars = tuple(
            Bar(label, estimate(v), f"{v:.1f}%".replace(".", ","))
            for label, v in zip(ELEMENTS, values, strict=True)
        )
    weekly = (61.0, None, 66.0, 70.5, 72.0, None, 75.0, 79.3)
    trend = tuple(
        TrendMark(f"{day:02d}/09", None if v is None else estimate(v), "n=4")
        for day, v in zip(range(1, 9), weekly, strict=True)
    )
    return ChartSpec(
        title="UBND xã Đông Hưng · Tuần 28/09/2026 – 04/10/2026",
        elements_title="Các yếu tố (KTC 95%)",
        trend_title="SIPAS 8 tuần gần nhất (KTC 95%)",
        bars=bars,
        empty_note="Chưa đủ phiếu (n=3)" if suppressed else None,
        trend=trend,
        threshold=70.0,
        threshold_label="Ngưỡng cảnh báo 70%",
    )


def pixels(png: bytes) -> Image.Image:
    assert png.startswith(PNG_SIGNATURE)
    image = Image.open(io.BytesIO(png))
    image.load()
    return image.convert("RGB")


def ink(image: Image.Image, box: tuple[int, int, int, int] | None = None) -> float:
    """The share of pixels that are not white, in ``box`` or the whole image."""
    region = image.crop(box) if box else image
    colours = region.getcolors(maxcolors=region.width * region.height) or []
    white = sum(count for count, colour in colours if colour == WHITE)
    return 1 - white / (region.width * region.height)


def test_the_chart_is_a_png_of_the_expected_size_and_not_blank() -> None:
    image = pixels(render_chart(spec()))
    assert image.size == (WIDTH, HEIGHT) == (1200, 600)
    assert 0.05 < ink(image) < 0.6
    # Both panels are drawn: the bars on the left and the trend's band on the right.
    assert ink(image, (250, 60, 650, 560)) > 0.1
    assert ink(image, (800, 60, 1180, 540)) > 0.05
    colours = image.getcolors(maxcolors=WIDTH * HEIGHT) or []
    assert len(colours) > 50  # antialiased text, bars, band, lines: not a flat fill


def test_vietnamese_text_renders_without_missing_glyphs() -> None:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        png = render_chart(spec())
    missing = [str(w.message) for w in caught if "missing" in str(w.message).lower()]
    assert missing == []
    assert png.startswith(PNG_SIGNATURE)


def test_a_suppressed_week_still_draws_the_trend_and_a_note() -> None:
    image = pixels(render_chart(spec(suppressed=True)))
    assert image.size == (WIDTH, HEIGHT)
    assert ink(image, (800, 60, 1180, 540)) > 0.05


def test_an_all_gap_trend_renders() -> None:
    empty = spec(suppressed=True)
    gaps = tuple(TrendMark(mark.label, None, "n=0") for mark in empty.trend)
    blank = ChartSpec(**{**empty.__dict__, "trend": gaps})
    assert pixels(render_chart(blank)).size == (WIDTH, HEIGHT)


def test_a_glyph_outside_the_font_would_be_noticed() -> None:
    """The check above is not vacuous: a character DejaVu Sans lacks does warn."""
    chinese = ChartSpec(**{**spec().__dict__, "title": "中文"})
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        render_chart(chinese)
    assert any("missing from font" in str(w.message) for w in caught)


def test_importing_the_chart_module_does_not_load_matplotlib() -> None:
    probe = "import sys, bot.digest.chart; print('matplotlib' in sys.modules)"
    result = subprocess.run(
        [sys.executable, "-c", probe],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert result.stdout.strip() == "False"
