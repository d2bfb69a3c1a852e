"""Text for raw content streams: TTF fonts encoded glyph by glyph, measured with
fpdf2's own advances, and split into runs when a string needs the fallback font.

Glyph encoding uses the font's own ``encode_text()`` one character at a time
(which registers the glyph in fpdf2's subset, so subsetting and the ToUnicode
map stay correct) and is then applied with ``str.translate``.  Widths are the
per-glyph advances fpdf2 itself uses (no kerning, no text shaping).  Text that
DejaVu Sans cannot draw (CJK, ...) is split into runs, and the runs DejaVu
lacks are drawn with Droid Sans Fallback, switched with ``Tf`` inside the same
text object.  That font is only parsed when such text first appears in a
process (~0.3 s, ~40 MB: most files never need it, so no process pays for it
up front).

The order in which characters are first learned decides their glyph ids in the
subset, so it is part of the output: learn in the same order to get the same bytes.

Parsed once per process
-----------------------
fpdf2's ``add_font()`` parses the whole TTF again for every document (cmap,
widths, glyph names, the 'glyf' table: ~45 ms per DejaVu face), and its
``output()`` subsets a font by changing that parse in place, so a parse serves
one file only.  :class:`ParsedFont` does the parsing once per process (in the
Celery worker, once in the prefork parent: :func:`preload`, so the pool children
share the pages copy-on-write) and gives each document, for the cost of a few
shallow copies (~1 ms):

* fpdf2's font object for the file: a copy of the one ``add_font()`` made, with
  its own subset map (the glyphs this file uses) and font descriptor (``output()``
  writes into it), sharing the read-only rest (cmap, widths, glyph ids);
* the fontTools font that ``output()`` subsets: made over the file's bytes (kept
  in memory), with the tables that are costly to decode ('glyf', 'cmap', 'hmtx',
  'vmtx', 'post') given as copies of the parsed ones, whose parts subsetting
  changes (glyphs, cmap subtables) made afresh; the small tables are decoded
  from the bytes each time.  GSUB, GPOS, GDEF and MATH, which fpdf2's
  subsetting drops first (and with GPOS the legacy 'kern'), are left out up
  front, so they are never decoded; and just before ``output()`` the cmap is
  narrowed to the glyphs the file uses (:func:`prepare_output`), which is all
  the subsetter keeps of it;
* and each glyph's encoding as fontTools writes it (:class:`_Glyph`), made once
  per process: the next file with that glyph reuses it.

The result is byte for byte what fpdf2's own ``add_font()`` gives
(tests/generators/test_pdf_fonts_once.py compares the two on random text);
the fpdf2 surface this relies on is listed in engine.py.
"""
from __future__ import annotations

import copy
import io
import itertools
import threading
from pathlib import Path

from fontTools.ttLib import TTFont
from fontTools.ttLib.tables._g_l_y_f import Glyph
from fpdf import FPDF
from fpdf.fonts import SubsetMap

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
            add_font(pdf, family, style, fonts_dir / name)


def add_font(pdf: FPDF, family: str, style: str, path: Path) -> None:
    """``pdf.add_font(family, style, path)``, with the file parsed once per process."""
    parsed_font(path, family, style).add_to(pdf)


def preload(fonts_dir: Path = DEFAULT_FONTS_DIR, *, fallback: bool = False) -> None:
    """Parse the text fonts (and the CJK fallback too, with ``fallback``) now, so that
    no document has to."""
    for (family, style), name in FONT_FILES.items():
        if family == FAMILY or fallback:
            parsed_font(fonts_dir / name, family, style)


def prepare_output(pdf: FPDF) -> None:
    """Just before ``pdf.output()``: narrow the cmap of each font :func:`add_font` added
    to the glyphs the file uses, which are all of it the subsetter keeps (finding them
    in four subtables of ~5,500 codes each was a sixth of its time)."""
    for font in pdf.fonts.values():
        parsed = _parsed.get((str(getattr(font, "ttffile", "")), getattr(font, "fontkey", "")))
        if parsed is not None:
            parsed.narrow_cmap(font)


_parsed: dict[tuple[str, str], ParsedFont] = {}  # (file, fpdf2's font key) -> parsed font
_parsing = threading.Lock()


def parsed_font(path: Path, family: str, style: str) -> ParsedFont:
    """The process's :class:`ParsedFont` of this file under this name (parsed on first use)."""
    path = Path(path).resolve()
    key = (str(path), f"{family.lower()}{''.join(sorted(style.upper()))}")  # as add_font()
    found = _parsed.get(key)
    if found is None:
        with _parsing:
            found = _parsed.get(key)
            if found is None:
                found = _parsed[key] = ParsedFont(path, family, style)
    return found


# Tables fpdf2's output() has fontTools' subsetter drop before anything else (its
# Options.drop_tables), costly to decode, so left out of a document's font up front.
# The subsetter drops the legacy 'kern' when the font has GPOS (Options.legacy_kern).
_DROPPED_FIRST = ("GDEF", "GPOS", "GSUB", "MATH")


class ParsedFont:
    """One TTF file, parsed once: the parts every document's copy of it shares."""

    def __init__(self, path: Path, family: str, style: str) -> None:
        pdf = FPDF()
        pdf.add_font(family, style, str(path))  # fpdf2's own parse, kept as the prototype
        (proto,) = pdf.fonts.values()
        self.proto = proto
        source = proto.ttfont
        if proto.is_compressed or proto.color_font is not None or "glyf" not in source:
            source.close()  # not the TrueType outlines this copying is made for
            self.data = None
            self.path, self.family, self.style = path, family, style
            return
        self.data = path.read_bytes()
        self.number = proto.collection_font_number
        self.glyph_order = list(source.getGlyphOrder())
        tags = source.keys()  # (a TTFont is no dict: it cannot be iterated)
        self.dropped = [tag for tag in tags
                        if tag in _DROPPED_FIRST or (tag == "kern" and "GPOS" in tags)]
        self.glyf = source["glyf"]
        # tables whose decoding costs, and of which subsetting only replaces attributes
        self.plain = {tag: source[tag] for tag in ("hmtx", "vmtx", "post") if tag in tags}
        self.cmap = source["cmap"]
        self.cmap.ensureDecompiled()  # its subtables are decoded lazily otherwise
        source.close()  # everything used from here on is decoded: release the file
        # per cmap subtable: glyph name -> its codes (equal subtables share one)
        self.codes: list[dict[str, tuple[int, ...]] | None] = []
        seen: list[tuple[dict, dict]] = []
        for sub in self.cmap.tables:
            if sub.format in (14, 15):  # variation sequences: left whole
                self.codes.append(None)
                continue
            codes = next((index for mapping, index in seen if mapping == sub.cmap), None)
            if codes is None:
                grouped: dict[str, list[int]] = {}
                for code, name in sub.cmap.items():
                    grouped.setdefault(name, []).append(code)
                codes = {name: tuple(found) for name, found in grouped.items()}
                seen.append((sub.cmap, codes))
            self.codes.append(codes)

    def add_to(self, pdf: FPDF) -> None:
        """Register a copy of the font in ``pdf`` as ``pdf.add_font()`` would."""
        proto = self.proto
        if self.data is None:
            pdf.add_font(self.family, self.style, str(self.path))
            return
        if proto.fontkey in pdf.fonts:
            raise ValueError(f"font {proto.fontkey!r} is already in this document")
        font = copy.copy(proto)
        font.i = len(pdf.fonts) + 1  # its /F<i> resource name, as add_font() numbers them
        font.subset = SubsetMap(font)
        font.missing_glyphs = []
        font.biggest_size_pt = 0
        font.desc = copy.copy(proto.desc)  # output() writes the file's object id into it
        font.ttfont = self.fonttools_font()
        pdf.fonts[proto.fontkey] = font

    def narrow_cmap(self, font) -> None:
        """Leave in the cmap of ``font`` (a copy :meth:`add_to` made) only the codes of
        the glyphs its subset holds: what subsetting keeps of it, for glyphs asked by
        name (fpdf2's way), whatever the order of the codes."""
        if self.data is None:
            return
        names = font.subset.get_all_glyph_names()
        for sub, codes in zip(font.ttfont["cmap"].tables, self.codes, strict=True):
            if codes is not None:
                sub.cmap = {code: name for name in names for code in codes.get(name, ())}

    def fonttools_font(self) -> TTFont:
        """A fontTools font of this file for one document, for fpdf2's subsetting to change."""
        font = TTFont(io.BytesIO(self.data), recalcTimestamp=False, lazy=True,
                      fontNumber=self.number)
        for tag in self.dropped:
            del font[tag]
        font.setGlyphOrder(list(self.glyph_order))
        glyf = copy.copy(self.glyf)
        glyf.glyphs = _FreshGlyphs(self.glyf.glyphs)
        glyf.setGlyphOrder(list(self.glyph_order))  # its own order (and reverse map)
        cmap = copy.copy(self.cmap)
        cmap.tables = [copy.copy(sub) for sub in self.cmap.tables]  # each gets its own .cmap
        font["glyf"], font["cmap"] = glyf, cmap
        for tag, table in self.plain.items():
            font[tag] = copy.copy(table)
        return font


_compiled: dict[tuple[bytes, bool], bytes] = {}  # a simple glyph's data -> fontTools' encoding
_COMPILED_MAX = 20_000  # entries (~100 bytes each) before the cache starts again


class _Glyph(Glyph):
    """A glyph of one document's font.  fontTools writes each glyph of a subset by
    decoding it, recomputing its bounds and encoding its points again; for a glyph
    of contours (all but composites) that encoding depends on its data alone, so it
    is made once per process.  The glyph is still decoded and its bounds
    recomputed: the tables written after 'glyf' read them."""

    def compile(self, glyfTable, recalcBBoxes=True, *, boundsDone=None, optimizeSize=True):
        data = getattr(self, "data", None)
        if not (data and recalcBBoxes and optimizeSize) or data[0] & 0x80:  # composite: < 0
            return super().compile(glyfTable, recalcBBoxes, boundsDone=boundsDone,
                                   optimizeSize=optimizeSize)
        key = (bytes(data), glyfTable.extended)
        compiled = _compiled.get(key)
        if compiled is None:
            if len(_compiled) >= _COMPILED_MAX:
                _compiled.clear()
            compiled = _compiled[key] = super().compile(
                glyfTable, recalcBBoxes, boundsDone=boundsDone, optimizeSize=optimizeSize)
        else:
            self.expand(glyfTable)
            self.recalcBounds(glyfTable, boundsDone=boundsDone)
        return compiled


class _FreshGlyphs(dict):
    """The 'glyf' glyphs of one document's font: every glyph name of the file, each
    glyph made afresh from the parsed one when first looked up (subsetting changes
    the glyphs it keeps in place; the parsed ones are shared by every document)."""

    def __init__(self, parsed: dict[str, Glyph]) -> None:
        super().__init__(dict.fromkeys(parsed))
        self.parsed = parsed

    def __getitem__(self, name: str) -> Glyph:
        glyph = super().__getitem__(name)
        if glyph is None:
            shared = self.parsed[name]
            # unexpanded (raw bytes, immutable) unless fpdf2 drew it (a missing .notdef)
            glyph = _Glyph(shared.data) if hasattr(shared, "data") else copy.deepcopy(shared)
            super().__setitem__(name, glyph)
        return glyph

    def get(self, name: str, default=None):
        if name not in self:
            return default
        return self[name]

    def values(self):
        return [self[name] for name in self]

    def items(self):
        return [(name, self[name]) for name in self]


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
            add_font(pdf, FALLBACK_FAMILY, "", self.fonts_dir / FONT_FILES[FALLBACK_FAMILY, ""])
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
