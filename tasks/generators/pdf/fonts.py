"""Text for raw content streams: TTF fonts encoded glyph by glyph, measured with
fpdf2's own advances, and split into runs when a string needs the fallback font.

Glyph encoding uses the font's own ``encode_text()`` one character at a time
(which registers the glyph in fpdf2's subset, so subsetting and the ToUnicode
map stay correct) and is then applied with ``str.translate``.  Widths are the
per-glyph advances fpdf2 itself uses (no kerning, no text shaping).  Text that
DejaVu Sans cannot draw (CJK, ...) is split into runs, and the runs DejaVu
lacks are drawn with Droid Sans Fallback, switched with ``Tf`` inside the same
text object.  That font is only loaded when such text first appears (~0.2 s).

The order in which characters are first learned decides their glyph ids in the
subset, so it is part of the output: learn in the same order to get the same bytes.
"""
from __future__ import annotations

import itertools
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from fpdf import FPDF

DEFAULT_FONTS_DIR = Path(__file__).resolve().parents[3] / "static" / "fonts"
FAMILY = "DejaVu"
FALLBACK_FAMILY = "DroidSansFallback"
FONT_FILES = {
    (FAMILY, ""): "DejaVuSans.ttf",
    (FAMILY, "B"): "DejaVuSans-Bold.ttf",
    (FALLBACK_FAMILY, ""): "DroidSansFallbackFull.ttf",
}
FONT_PT = 8.0  # the table's size, and the size every raw font is selected at first
PT_PER_MM = 72 / 25.4
ELLIPSIS = "\u2026"


def add_text_fonts(pdf: FPDF, fonts_dir: Path) -> None:
    """Register the regular and bold text fonts (the fallback waits until needed)."""
    for (family, style), name in FONT_FILES.items():
        if family == FAMILY:
            pdf.add_font(family, style, str(fonts_dir / name))


class RawFont:
    """Encodes text for one TTF font for direct use in a content stream."""

    def __init__(self, pdf: FPDF, family: str, style: str) -> None:
        pdf.set_font(family, style, FONT_PT)
        self.font = pdf.current_font
        self.name = f"/F{self.font.i}"
        self.tf = f"{self.name} {FONT_PT:.2f} Tf"
        self.cmap = self.font.cmap
        self.enc: dict[int, str] = {}  # str.translate table: char -> escaped glyph id
        self.w: dict[str, int] = {}  # char -> advance in font units (1/1000 em)

    def covers(self, text: str) -> bool:
        cmap = self.cmap
        return all(ord(c) in cmap for c in text)

    def learn(self, text: str) -> None:
        w, font = self.w, self.font
        for c in set(text):
            if c not in w:
                # encode_text() gives "(<escaped glyph ids>) Tj"; keep the inside.
                self.enc[ord(c)] = font.encode_text(c)[1:-4]
                w[c] = round(font.get_text_width(c, 1000, None)[1])

    def literal(self, text: str) -> tuple[str, int]:
        """(PDF string literal, width in font units); learns unseen characters."""
        self.learn(text)
        return "(" + text.translate(self.enc) + ")", sum(map(self.w.__getitem__, text))


class Fonts:
    """The regular and bold text fonts of one file, and the fallback once text needs it.

    Made after fpdf2's page exists: selecting a font writes to that page."""

    def __init__(self, pdf: FPDF, fonts_dir: Path) -> None:
        self.pdf = pdf
        self.fonts_dir = fonts_dir
        self.fallback: RawFont | None = None
        self.bold = RawFont(pdf, FAMILY, "B")
        self.reg = RawFont(pdf, FAMILY, "")

    def font_for(self, c: str, primary: RawFont) -> RawFont:
        """The font a character is drawn with: ``primary`` unless only the fallback has it."""
        if ord(c) in primary.cmap:
            return primary
        fallback = self.fallback
        if fallback is None:
            pdf = self.pdf
            pdf.add_font(FALLBACK_FAMILY, "", str(self.fonts_dir / FONT_FILES[FALLBACK_FAMILY, ""]))
            fallback = self.fallback = RawFont(pdf, FALLBACK_FAMILY, "")
        return fallback if ord(c) in fallback.cmap else primary

    def runs(self, text: str, primary: RawFont) -> list[tuple[RawFont, str]]:
        """``text`` split into (font, text) runs."""
        if primary.covers(text):
            return [(primary, text)]
        return [
            (font, "".join(chars))
            for font, chars in itertools.groupby(text, lambda c: self.font_for(c, primary))
        ]

    def width_mm(self, text: str, primary: RawFont, size: float = FONT_PT) -> float:
        units = 0
        for font, part in self.runs(text, primary):
            font.learn(part)
            units += sum(map(font.w.__getitem__, part))
        return units * size / 1000 / PT_PER_MM

    def tj_text(self, text: str) -> tuple[str, int]:
        """(text for inside a regular-font ``TJ`` array, width in font units)."""
        reg = self.reg
        runs = self.runs(text, reg)
        if len(runs) == 1 and runs[0][0] is reg:
            return reg.literal(text)
        parts, width = [], 0
        for font, part in runs:
            lit, w = font.literal(part)
            width += w
            parts.append(lit if font is reg else f"]TJ {font.tf} [{lit}]TJ {reg.tf} [")
        return "".join(parts), width

    def show(self, text: str, primary: RawFont, size: float) -> tuple[str, int]:
        """(text-showing operators, with a ``Tf`` per run; width in font units)."""
        ops, width = [], 0
        for font, part in self.runs(text, primary):
            lit, w = font.literal(part)
            ops.append(f"{font.name} {size:.2f} Tf {lit} Tj")
            width += w
        return " ".join(ops), width

    def ellipsize(self, text: str, max_w: float, font: RawFont, size: float = FONT_PT) -> str:
        """``text`` cut with an ellipsis so that it is at most ``max_w`` mm wide."""
        if self.width_mm(text, font, size) <= max_w:
            return text
        lo, hi = 0, len(text)  # longest prefix that fits with the ellipsis
        while lo < hi:
            mid = (lo + hi + 1) // 2
            if self.width_mm(text[:mid].rstrip() + ELLIPSIS, font, size) <= max_w:
                lo = mid
            else:
                hi = mid - 1
        return text[:lo].rstrip() + ELLIPSIS
