"""A PDF's first page as PNG (PDFium through pypdfium2), and a check that it shows
something: dark pixels (text, rules) and colour (the charts)."""

from __future__ import annotations

from pathlib import Path

import pypdfium2 as pdfium
from PIL import Image


def first_page_png(pdf: bytes, out: Path, scale: float = 1.5) -> Path:
    document = pdfium.PdfDocument(pdf)
    try:
        document[0].render(scale=scale).to_pil().save(out)
    finally:
        document.close()
    return out


def ink(image: Image.Image) -> tuple[float, int]:
    """Share of dark pixels, and how many distinct colours the page uses."""
    rgb = image.convert("RGB")
    small = rgb.resize((rgb.width // 2, rgb.height // 2))
    raw = small.tobytes()
    pixels = [tuple(raw[i : i + 3]) for i in range(0, len(raw), 3)]
    dark = sum(1 for r, g, b in pixels if r + g + b < 300)
    return dark / len(pixels), len(set(pixels))


def assert_not_blank(image: Image.Image) -> None:
    dark, colours = ink(image)
    assert dark > 0.005, f"the page is (nearly) blank: {dark:.4%} dark pixels"
    assert colours > 16, f"the page has {colours} colours: no chart drawn"
