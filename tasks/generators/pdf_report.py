"""PDF generator (fpdf2): an optional overview, then a paginated line-item table.

Layout: A4 landscape; title, scope lines, the time zone and the generation time
on page 1; a table whose header row is repeated on every page; ``Page X of Y``
in the footer.  For ``meta.kind == "summary"`` a subtotal line follows each
order and a grand total closes the report; for ``meta.kind == "order"`` an
order total closes it.

Every time is shown in ``meta.zone`` (rows carry UTC, naive = UTC) and the
header says which zone that is.

When ``meta.overview`` is set (summaries), the overview comes first: key
figures against the previous period, a bar chart of revenue per period, the
top customers and products, and the totals per customer (which may run over
several pages); the line items then start on a page of their own.  The chart
and the bars are vector paths written into the same raw content streams as the
text (``re f`` for bars, ``m l S`` for axes and grid lines), in greys only
(``g``/``G``), so they print the same on a black-and-white printer.  Money is
Decimal throughout; floats are used only for the geometry.  The overview is a
few hundred text objects drawn once, so it is laid out with the simple
one-text-object-per-string helpers, not the row path described below.

How it stays fast
-----------------
fpdf2's ``table()`` (~900 rows/s) and even ``cell()`` (30-50 us per call) are
too slow for 100k rows, so every page is written as a raw PDF content stream:
consecutive rows share one ``q 0 g BT ... ET Q`` text object and each row is a
single ``TJ`` whose numeric kerning adjustments move the pen to the next
column.  All positions are integers in text-space thousandths, so no float
formatting happens per row.  Rendered cells are cached by value: names, dates,
quantities and prices repeat.  Page furniture (continued title, table header,
footer) is raw text as well, built once and reused.

Glyph encoding uses the font's own ``encode_text()`` one character at a time
(which registers the glyph in fpdf2's subset, so subsetting and the ToUnicode
map stay correct) and is then applied with ``str.translate``.  Widths are the
per-glyph advances fpdf2 itself uses (no kerning, no text shaping).  Text that
DejaVu Sans cannot draw (CJK, ...) is split into runs, and the runs DejaVu
lacks are drawn with Droid Sans Fallback, switched with ``Tf`` inside the same
text object.  That font is only loaded when such text first appears (~0.2 s).

How it stays small
------------------
fpdf2 keeps every page's content uncompressed in memory until ``output()``
and then builds the whole file in one buffer, so memory grew with the row
count (~0.36 KB per row: 585 MB at 1M rows).  Here fpdf2 only ever holds one
empty page:

* each finished page's content is zlib-compressed at once and appended to an
  anonymous temporary file in the directory of ``path`` (:class:`_Spill`;
  only the compressed lengths stay in memory);
* at the end fpdf2 writes a one-page *skeleton* into memory: catalog, pages
  root, one shared ``/Resources`` dict, the subset fonts, info -- a few
  hundred KB whatever the row count;
* :class:`_Assembler` writes the real file: the skeleton's objects (its pages
  root rewritten with every page), then for each page its content stream
  (copied from the spill file), its footer stream and its page object, and a
  fresh cross-reference table.

The footer ``Page X of Y`` is a second, tiny content stream of each page,
made at the end when Y is known (a page's ``/Contents`` is ``[body footer]``),
so no alias substitution is needed and the page count is always exact.

fpdf2 surface relied on (fpdf2 is pinned in requirements.txt; the unit tests
read the produced files back with pypdf and pdfplumber):

* ``FPDF.current_font`` after ``set_font()``, and on that TTF font object
  ``.i`` (its ``/F<i>`` resource name), ``.cmap``, ``.encode_text()`` and
  ``.get_text_width()`` -- public names, but not documented API;
* ``FPDF.single_resources_object = True`` (a documented attribute): one
  ``/Resources`` dict listing every added font, which all our pages share --
  fonts used through raw ``Tf`` are never registered per page;
* the shape of fpdf2's own ``output()`` for a one-page unencrypted document:
  a classic ``xref`` table (one ``0 <size>`` section, every object in use), a
  trailer with ``/Size`` and ``/Root``, a catalog whose ``/Pages`` has one kid
  whose ``/Contents`` is one reference.  :class:`_Assembler` checks each of
  these and raises ``RuntimeError`` if one does not hold.

No underscore (private) fpdf2 API is used.
"""
from __future__ import annotations

import datetime as dt
import itertools
import math
import re
import tempfile
import zlib
from array import array
from decimal import ROUND_CEILING, Decimal
from pathlib import Path
from typing import TYPE_CHECKING

from fpdf import FPDF

from . import PROGRESS_EVERY, Progress, ReportMeta, Rows

if TYPE_CHECKING:
    from webapp.reports.overview import Overview, Ranked

__all__ = ["DEFAULT_FONTS_DIR", "EMPTY_MESSAGE", "NO_ORDERS_MESSAGE", "write_pdf"]

DEFAULT_FONTS_DIR = Path(__file__).resolve().parents[2] / "static" / "fonts"
EMPTY_MESSAGE = "No line items match this report."
NO_ORDERS_MESSAGE = "No completed orders in this range"

FAMILY = "DejaVu"
FALLBACK_FAMILY = "DroidSansFallback"
FONT_FILES = {
    (FAMILY, ""): "DejaVuSans.ttf",
    (FAMILY, "B"): "DejaVuSans-Bold.ttf",
    (FALLBACK_FAMILY, ""): "DroidSansFallbackFull.ttf",
}

ELLIPSIS = "\u2026"

# Geometry.  A4 landscape is 297 x 210 mm; the PDF unit is the point (1/72 in).
PT_PER_MM = 72 / 25.4
PAGE_W_PT, PAGE_H_PT = 841.89, 595.28  # fpdf2's A4, landscape
PAGE_W, PAGE_H = PAGE_W_PT / PT_PER_MM, PAGE_H_PT / PT_PER_MM  # mm
MARGIN = 10.0  # mm
PAD = 1.0  # mm, horizontal padding inside a cell (fpdf2's default c_margin)
FONT_PT = 8.0
ROW_PT = 12.5  # row pitch in points (4.41 mm): a round number keeps Td exact
ROW_H = ROW_PT / PT_PER_MM  # mm
HEADER_H = 6.0  # mm
FOOTER_Y = PAGE_H - 10.0  # mm: top of the footer line
FOOTER_PT = 7.0
BOTTOM = 210.0 - 14.0  # mm: rows must end above this
UNITS = 1000 / FONT_PT  # text-space thousandths per point, for TJ adjustments
GREY_TEXT = "0.353 g"  # fpdf2's set_text_color(90)
GREY_FILL = "0.882 g"  # fpdf2's set_fill_color(225)

# The overview.  Solid greys that stay apart from each other and from the table
# header band in a greyscale print; text on them is black or GREY_TEXT.
BAR_FILL = "0.40 g"  # revenue chart bars
RANK_FILL = "0.60 g"  # bars in the top lists
KPI_FILL = "0.93 g"  # key-figure boxes
GRID_STROKE = "0.80 G"
AXIS_STROKE = "0 G"
SECTION_PT = 11.0
SECTION_H = 6.0  # mm, a section heading's line
GAP = 3.0  # mm between sections
KPI_H = 20.0  # mm, a key-figure box
KPI_PT = 13.0  # the key figure itself, shrunk to fit its box if need be
PLOT_H = 40.0  # mm, the chart's plot area (ticks from 0 to the top value)
PLOT_HEADROOM = 6.0  # mm above the plot: the y axis title and the tallest bar's value
AXIS_PT = 7.0
VALUE_PT = 6.0
MAX_X_LABELS = 16
MAX_BAR_W = 18.0  # mm: a range of one or two periods still looks like a bar chart
TOP_GAP = 6.0  # mm between the two top lists
CENT = Decimal("0.01")
KPIS = (  # (Kpis attribute, label, money?)
    ("orders", "Orders", False),
    ("items", "Line items", False),
    ("units", "Units", False),
    ("revenue", "Revenue", True),
    ("average_order_value", "Average order value", True),
)
GRAIN_WORDS = {"day": "day", "week": "week", "month": "month"}
X_AXIS_TITLES = {"day": "Day", "week": "Week (starting Monday)", "month": "Month"}

# (label, width mm, right-aligned); widths add up to 297 - 2 * MARGIN.
COLUMNS = (
    ("Order", 16.0, False),
    ("Date", 20.0, False),
    ("Customer", 62.0, False),
    ("Status", 20.0, False),
    ("Product", 83.0, False),
    ("Qty", 14.0, True),
    ("Unit price", 30.0, True),
    ("Line total", 32.0, True),
)
TABLE_W = sum(c[1] for c in COLUMNS)
_LEFT_MM = tuple(itertools.accumulate((c[1] for c in COLUMNS[:-1]), initial=MARGIN))
# In TJ units (thousandths of the font size): left text edges, right text edges.
_X = tuple(round((x + PAD) * PT_PER_MM * UNITS) for x in _LEFT_MM)
_R = tuple(
    round((x + c[1] - PAD) * PT_PER_MM * UNITS) for x, c in zip(_LEFT_MM, COLUMNS, strict=True)
)

_NUMERIC_CHARS = "0123456789.,-"
_FOOTER_CHARS = "Page of0123456789"

# A rendered left-aligned cell: (TJ fragment: the text followed by the pen move to
# the next column; the text alone; that pen move alone).  A TJ number n moves the
# pen left by n/1000 of the font size.  The text is a string literal, or for text
# that needs the fallback font, literals with ``]TJ /Fn 8.00 Tf [`` switches
# between them, ending with the regular font selected again.
_Cell = tuple[str, str, int]
_CACHE_LIMIT = 50_000  # entries per value cache before it is reset
# Line totals have a long tail of distinct values: a smaller cache keeps memory flat.
_MONEY_CACHE_LIMIT = 16_384

# zlib level for page content: fpdf2's default.  Level 1 is ~2x faster (~60 vs
# ~115 us per page, ~1.5 s per 1M rows) for files ~10 % larger.
ZLIB_LEVEL = 6
_COPY_CHUNK = 1 << 20


def _money(value: Decimal) -> str:
    return f"{value:,.2f}"


def _whole(value: Decimal) -> str:
    return f"{value:,.0f}"


def _compact(value: Decimal) -> str:
    """``12.3k``, ``4.5M``: a bar's value when the full amount is wider than the bar."""
    for size, suffix in ((Decimal(10) ** 9, "bn"), (Decimal(10) ** 6, "M"), (Decimal(1000), "k")):
        if abs(value) >= size:
            return f"{value / size:.1f}{suffix}"
    return f"{value:.0f}"


def _change(pct: Decimal | None) -> str:
    if pct is None:
        return "n/a"
    if not pct:  # also -0.0 from a tiny drop
        return "0.0 %"
    return f"{pct:+} %"


def _ticks(peak: Decimal, target: int = 5) -> list[Decimal]:
    """Round axis values from 0 up to at least ``peak`` (steps of 1, 2, 2.5 or 5 x 10^n)."""
    if peak <= 0:
        peak = Decimal(1)
    raw = peak / target
    magnitude = Decimal(1).scaleb(raw.adjusted())
    # Whole cents only: a step of 0.025 would print as a mix of 0.02s and 0.03s.
    steps = (magnitude * m for m in (1, 2, Decimal("2.5"), 5, 10))
    step = next((s for s in steps if s >= raw and not s % CENT), CENT)
    count = int((peak / step).to_integral_value(rounding=ROUND_CEILING))
    return [step * i for i in range(count + 1)]


def _tick_labels(ticks: list[Decimal]) -> list[str]:
    """Money labels for the axis: without cents unless a step needs them."""
    if all(t == t.to_integral_value() for t in ticks):
        return [_whole(t) for t in ticks]
    return [_money(t) for t in ticks]


def _local(value: dt.datetime, zone) -> dt.datetime:
    """``value`` (UTC; naive is taken to be UTC) as wall-clock time in ``zone``."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.UTC)
    return value.astimezone(zone)


def _clean(text) -> str:
    """One-line display text: control characters and runs of whitespace become one space."""
    text = "" if text is None else str(text)
    if text.isprintable():
        return text
    return " ".join("".join(c if c.isprintable() else " " for c in text).split())


def _baseline(top: float, height: float, size_pt: float) -> float:
    """Baseline (mm from the top) of text in a cell, as fpdf2's cell() puts it."""
    return top + height / 2 + 0.3 * size_pt / PT_PER_MM


class _RawFont:
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


class _Spill:
    """Compressed page bodies, one after the other in ``file`` (an anonymous temporary
    file); only their lengths stay in memory."""

    def __init__(self, file) -> None:
        self.file = file
        self.lengths = array("q")

    def add(self, content: str) -> None:
        data = zlib.compress(content.encode("latin-1"), ZLIB_LEVEL)
        self.file.write(data)
        self.lengths.append(len(data))


class _Assembler:
    """Writes the final file from fpdf2's one-page skeleton and the spilled pages."""

    _XREF = re.compile(rb"startxref\s+(\d+)\s+%%EOF\s*$")
    _XREF_HEAD = re.compile(rb"xref\s+0 (\d+)\s+")
    _ENTRY = re.compile(rb"(\d{10}) (\d{5}) ([nf])")
    _REF = rb"(\d+) 0 R"

    def __init__(self, skeleton: bytes) -> None:
        self.skel = skeleton
        m = self._XREF.search(skeleton)
        head = m and self._XREF_HEAD.match(skeleton, int(m.group(1)))
        if not head:
            raise RuntimeError("unexpected fpdf2 output: no classic xref table")
        self.size = int(head.group(1))
        entries = self._ENTRY.findall(skeleton, head.end())[: self.size]
        offsets = {i: int(off) for i, (off, _gen, kind) in enumerate(entries) if kind == b"n"}
        if len(entries) != self.size or sorted(offsets) != list(range(1, self.size)):
            raise RuntimeError("unexpected fpdf2 output: xref table")
        xref_at = int(m.group(1))
        order = sorted(offsets, key=offsets.get)
        ends = [offsets[i] for i in order[1:]] + [xref_at]
        self.spans = {i: (offsets[i], end) for i, end in zip(order, ends, strict=True)}
        self.order = order
        self.header = skeleton[: offsets[order[0]]]
        start = skeleton.index(b"trailer", head.end())
        trailer = skeleton[start : skeleton.index(b"startxref", start)]
        self.trailer = trailer.rstrip()
        root = self._ref(trailer, rb"/Root ")
        self.pages_id = self._ref(self.obj(root), rb"/Pages ")
        pages = self.obj(self.pages_id)
        kids = re.search(rb"/Kids \[\s*" + self._REF + rb"\s*\]", pages)
        if not kids or not re.search(rb"/Count 1\b", pages):
            raise RuntimeError("unexpected fpdf2 output: pages root")
        self.page1_id = int(kids.group(1))
        page = self.obj(self.page1_id)
        body = page[page.index(b" obj") + 4 :]
        contents = re.search(rb"/Contents " + self._REF, body)
        if not contents:
            raise RuntimeError("unexpected fpdf2 output: page contents")
        self.page1_contents = int(contents.group(1))
        # A page object is: b"<id> 0 obj" + before + b"[<refs>]" + after.
        self.page_before = body[: contents.start() + len(b"/Contents ")]
        self.page_after = body[contents.end() :]

    def obj(self, obj_id: int) -> bytes:
        start, end = self.spans[obj_id]
        return self.skel[start:end]

    @classmethod
    def _ref(cls, text: bytes, key: bytes) -> int:
        m = re.search(re.escape(key) + cls._REF, text)
        if not m:
            raise RuntimeError(f"unexpected fpdf2 output: no {key.decode()}")
        return int(m.group(1))

    def page_ids(self, n_pages: int):
        """Object ids: (body, footer, page) per page; ours are numbered from ``size``."""
        nxt = self.size
        for number in range(1, n_pages + 1):
            if number == 1:
                yield nxt, nxt + 1, self.page1_id
                nxt += 2
            else:
                yield nxt, nxt + 1, nxt + 2
                nxt += 3

    def write(self, path, spill: _Spill, footer) -> None:
        """``footer(page, pages) -> bytes``: the footer stream's content."""
        n_pages = len(spill.lengths)
        total = self.size + 3 * n_pages - 1
        offsets = array("q", [0]) * total
        spill.file.flush()
        spill.file.seek(0)
        read = spill.file.read
        with open(path, "wb") as out:
            pos = 0

            def put(data: bytes) -> None:
                nonlocal pos
                out.write(data)
                pos += len(data)

            put(self.header)
            for obj_id in self.order:
                if obj_id == self.page1_id:
                    continue  # written with the other pages
                offsets[obj_id] = pos
                if obj_id == self.pages_id:
                    self._write_pages_root(put, n_pages)
                else:
                    put(self.obj(obj_id))
            for number, ((body, foot, page), length) in enumerate(
                zip(self.page_ids(n_pages), spill.lengths, strict=True), start=1
            ):
                offsets[body] = pos
                put(b"%d 0 obj\n<<\n/Filter /FlateDecode\n/Length %d\n>>\nstream\n"
                    % (body, length))
                left = length
                while left:
                    chunk = read(min(left, _COPY_CHUNK))
                    if not chunk:
                        raise RuntimeError("page spill file is short")
                    put(chunk)
                    left -= len(chunk)
                put(b"\nendstream\nendobj\n")
                data = footer(number, n_pages)
                offsets[foot] = pos
                put(b"%d 0 obj\n<<\n/Length %d\n>>\nstream\n%s\nendstream\nendobj\n"
                    % (foot, len(data), data))
                refs = b"[%d 0 R %d 0 R]" % (body, foot)
                if number == 1:
                    refs = b"[%d 0 R %d 0 R %d 0 R]" % (self.page1_contents, body, foot)
                offsets[page] = pos
                put(b"%d 0 obj" % page + self.page_before + refs + self.page_after)
            xref_at = pos
            put(b"xref\n0 %d\n0000000000 65535 f \n" % total)
            for start in range(1, total, 4096):
                put(b"".join(b"%010d 00000 n \n" % offsets[i]
                             for i in range(start, min(start + 4096, total))))
            trailer = re.sub(rb"/Size \d+", b"/Size %d" % total, self.trailer)
            put(trailer + b"\nstartxref\n%d\n%%%%EOF\n" % xref_at)

    def _write_pages_root(self, put, n_pages: int) -> None:
        pages = self.obj(self.pages_id)
        kids = re.search(rb"/Kids \[[^\]]*\]", pages)
        head = re.sub(rb"/Count 1\b", b"/Count %d" % n_pages, pages[: kids.start()])
        tail = re.sub(rb"/Count 1\b", b"/Count %d" % n_pages, pages[kids.end() :])
        put(head + b"/Kids [")
        page_ids = (page for _body, _foot, page in self.page_ids(n_pages))
        while chunk := list(itertools.islice(page_ids, 4096)):
            put(b" ".join(b"%d 0 R" % page for page in chunk) + b" ")
        put(b"]" + tail)


class _Writer:
    def __init__(self, meta: ReportMeta, fonts_dir: Path, spill: _Spill) -> None:
        self.meta = meta
        self.fonts_dir = Path(fonts_dir)
        self.spill = spill
        pdf = self.pdf = FPDF(orientation="L", unit="mm", format="A4")
        pdf.single_resources_object = True  # one /Resources dict with every font
        pdf.set_auto_page_break(False)
        pdf.set_margins(MARGIN, MARGIN, MARGIN)
        pdf.set_title(meta.title)
        pdf.set_creator("reports")
        for (family, style), name in FONT_FILES.items():
            if family == FAMILY:
                pdf.add_font(family, style, str(self.fonts_dir / name))
        pdf.add_page()  # fpdf2's only page: our pages are never drawn through fpdf2
        self.fallback: _RawFont | None = None
        self.bold = _RawFont(pdf, FAMILY, "B")
        self.reg = _RawFont(pdf, FAMILY, "")
        self.bold.learn(_NUMERIC_CHARS)
        # Footers are written after fpdf2 has subset the fonts: learn their glyphs now.
        self.reg.learn(_NUMERIC_CHARS + _FOOTER_CHARS)
        self.y = 0.0  # mm, top of the next table line
        # Subtotal rule: a thin grey line under the subtotal; "{y}" filled per use.
        x1, x2 = MARGIN * PT_PER_MM, (MARGIN + TABLE_W) * PT_PER_MM
        self.rule = f"q 0.6 G 0.4 w {x1:.2f} {{y:.2f}} m {x2:.2f} {{y:.2f}} l S Q\n"
        # Per-column caches of rendered text cells: value -> _Cell.
        self.text_cache: list[dict[str, _Cell]] = [{} for _ in COLUMNS]
        self.fit_cache: dict[tuple[str, int], str] = {}
        self.parts: list[str] = []  # content of the current page
        self.buf: list[str] = []  # rows of the currently open text object
        self.page_top = ""  # continued title + table header, the same on every later page

    # -- fonts -----------------------------------------------------------------
    def font_for(self, c: str, primary: _RawFont) -> _RawFont:
        """The font a character is drawn with: ``primary`` unless only the fallback has it."""
        if ord(c) in primary.cmap:
            return primary
        fallback = self.fallback
        if fallback is None:
            pdf = self.pdf
            pdf.add_font(FALLBACK_FAMILY, "", str(self.fonts_dir / FONT_FILES[FALLBACK_FAMILY, ""]))
            fallback = self.fallback = _RawFont(pdf, FALLBACK_FAMILY, "")
        return fallback if ord(c) in fallback.cmap else primary

    def runs(self, text: str, primary: _RawFont) -> list[tuple[_RawFont, str]]:
        """``text`` split into (font, text) runs."""
        if primary.covers(text):
            return [(primary, text)]
        return [
            (font, "".join(chars))
            for font, chars in itertools.groupby(text, lambda c: self.font_for(c, primary))
        ]

    def width_mm(self, text: str, primary: _RawFont, size: float = FONT_PT) -> float:
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

    def show(self, text: str, primary: _RawFont, size: float) -> tuple[str, int]:
        """(text-showing operators, with a ``Tf`` per run; width in font units)."""
        ops, width = [], 0
        for font, part in self.runs(text, primary):
            lit, w = font.literal(part)
            ops.append(f"{font.name} {size:.2f} Tf {lit} Tj")
            width += w
        return " ".join(ops), width

    def text_line(self, x_pt: float, base_mm: float, text: str, primary: _RawFont, size: float,
                  align: str = "L", colour: str = "0 g") -> str:
        """A one-line text object; ``x_pt`` is its left, (``align="R"``) right or
        (``align="C"``) middle."""
        ops, width = self.show(text, primary, size)
        if align == "R":
            x_pt -= width * size / 1000
        elif align == "C":
            x_pt -= width * size / 2000
        return f"q {colour} BT {x_pt:.2f} {PAGE_H_PT - base_mm * PT_PER_MM:.2f} Td {ops} ET Q\n"

    # -- pages -------------------------------------------------------------------
    def flush(self) -> None:
        """Close the open text object; must run before anything else is drawn."""
        if self.buf:
            self.parts.append("".join(self.buf) + " ET Q\n")
            self.buf = []

    def open_text(self, top: float) -> None:
        """Start a text object whose line start is one row above the row at ``top``."""
        ys = PAGE_H_PT - top * PT_PER_MM - self.baseline_pt() + ROW_PT
        x0 = _X[0] / UNITS
        self.buf.append(f"q 0 g BT {self.reg.tf} 1 0 0 1 {x0:.2f} {ys:.2f} Tm")

    @staticmethod
    def baseline_pt() -> float:
        """Baseline offset below a row's top, in points (as fpdf2's cell() puts it)."""
        return ROW_PT / 2 + 0.3 * FONT_PT

    def end_page(self) -> None:
        self.flush()
        self.spill.add("".join(self.parts))
        self.parts = []

    def footer(self, page: int, pages: int) -> bytes:
        """The footer stream of a page (written once the page count is known)."""
        text = f"Page {page} of {pages}"
        lit, width = self.reg.literal(text)
        x = (PAGE_W / 2) * PT_PER_MM - width * FOOTER_PT / 2000
        y = PAGE_H_PT - _baseline(FOOTER_Y, 4, FOOTER_PT) * PT_PER_MM
        return (
            f"q {GREY_TEXT} BT {x:.2f} {y:.2f} Td {self.reg.name} {FOOTER_PT:.2f} Tf {lit} Tj ET Q"
        ).encode("latin-1")

    def first_page(self) -> None:
        meta, reg = self.meta, self.reg
        left = (MARGIN + PAD) * PT_PER_MM
        y = MARGIN
        parts = self.parts
        parts.append(self.text_line(left, _baseline(y, 8, 15), _clean(meta.title), self.bold, 15))
        y += 8
        zone_name = _clean(meta.timezone)
        for line in [*meta.scope, f"Times in {zone_name}"]:
            parts.append(self.text_line(left, _baseline(y, 5, 10), _clean(line), reg, 10))
            y += 5
        generated = _local(meta.generated_at, meta.zone).strftime("%Y-%m-%d %H:%M")
        parts.append(self.text_line(left, _baseline(y, 5, 9), f"Generated {generated} {zone_name}",
                                    reg, 9, colour=GREY_TEXT))
        self.y = y + 5 + 3

    def continued_title(self) -> str:
        title = f"{_clean(self.meta.title)} (continued)"
        return self.text_line(MARGIN * PT_PER_MM, MARGIN + 2, title, self.reg, 7, colour=GREY_TEXT)

    def next_page(self, table: bool = True) -> None:
        self.end_page()
        if not table:
            self.y = MARGIN
            return
        if not self.page_top:
            self.page_top = self.continued_title() + self.table_header(MARGIN + 5)
        self.parts.append(self.page_top)
        self.y = MARGIN + 5 + HEADER_H

    def table_header(self, top: float) -> str:
        """Grey band with the bold column labels, its top at ``top`` mm."""
        bold, currency = self.bold, self.meta.currency
        k = PT_PER_MM
        out = [f"q {GREY_FILL} {MARGIN * k:.2f} {PAGE_H_PT - top * k:.2f} "
               f"{TABLE_W * k:.2f} {-HEADER_H * k:.2f} re f Q\n"]
        y_pt = PAGE_H_PT - _baseline(top, HEADER_H, FONT_PT) * k
        # One text object: Td moves from label to label.
        out.append(f"q 0 g BT 1 0 0 1 {_X[0] / UNITS:.2f} {y_pt:.2f} Tm")
        prev_x = _X[0]
        for i, (label, _w, right) in enumerate(COLUMNS):
            if i >= 6:
                label = f"{label} ({currency})"
            ops, w = self.show(_clean(label), bold, FONT_PT)
            x = (_R[i] - w) if right else _X[i]
            out.append(f" {(x - prev_x) / UNITS:.2f} 0 Td {ops}")
            prev_x = x
        out.append(" ET Q\n")
        return "".join(out)

    # -- cells -------------------------------------------------------------------
    def fit(self, text: str, col: int) -> str:
        """``text`` cut with an ellipsis so that it fits column ``col``."""
        key = (text, col)
        fitted = self.fit_cache.get(key)
        if fitted is not None:
            return fitted
        fitted = self.ellipsize(text, COLUMNS[col][1] - 2 * PAD, self.reg)
        if len(self.fit_cache) > _CACHE_LIMIT:
            self.fit_cache.clear()
        self.fit_cache[key] = fitted
        return fitted

    def ellipsize(self, text: str, max_w: float, font: _RawFont, size: float = FONT_PT) -> str:
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

    def text_cell(self, value, col: int) -> _Cell:
        """A left-aligned cell: see :data:`_Cell`."""
        cache = self.text_cache[col]
        hit = cache.get(value)
        if hit is not None:
            return hit
        text, w = self.tj_text(self.fit(_clean(value), col))
        move = w - (_X[col + 1] - _X[col])
        frag = (f"{text}{move}", text, move)
        if len(cache) > _CACHE_LIMIT:
            cache.clear()
        cache[value] = frag
        return frag

    def subtotal(self, label: str, amount: Decimal) -> None:
        """Bold line: label right-aligned up to the unit price column, amount in the last."""
        self.flush()
        if self.y + ROW_H > BOTTOM:
            self.next_page()
        top = self.y
        base = top + self.baseline_pt() / PT_PER_MM
        bold = self.bold
        self.parts.append(
            self.rule.format(y=PAGE_H_PT - top * PT_PER_MM - ROW_PT)
            + self.text_line(_R[6] / UNITS, base, _clean(label), bold, FONT_PT, "R")
            + self.text_line(_R[7] / UNITS, base, _money(amount), bold, FONT_PT, "R")
        )
        self.y = top + ROW_H

    # -- rows --------------------------------------------------------------------
    def rows(self, rows: Rows, progress: Progress) -> tuple[int, int, Decimal]:
        """Lay out every row; return (line items, orders, grand total)."""
        summary = self.meta.kind != "order"  # several orders: subtotals and a grand total
        reg = self.reg
        enc, wid = reg.enc, reg.w.__getitem__
        text_cell = self.text_cell
        next_line = f" 0 {-ROW_PT:.2f} Td ["
        # Pen moves between the right-aligned columns, less the widths (see TJ notes).
        k_qty = _X[5] - _R[5]
        k_unit = _R[5] - _R[6]
        k_total = _R[6] - _R[7]
        span0 = _X[1] - _X[0]
        qty_cache: dict[object, tuple[str, int]] = {}
        money_cache: dict[object, tuple[str, int]] = {}
        date_cache: dict[dt.datetime, _Cell] = {}
        zone = self.meta.zone
        every = PROGRESS_EVERY
        next_report = every

        count = 0
        orders = 0
        grand = Decimal(0)
        current = None
        subtotal = Decimal(0)
        order_frag = ""
        buf = self.buf
        y = self.y
        for order_id, order_date, customer, status, product, qty, price, total in rows:
            if order_id != current:
                if current is not None and summary:
                    self.y = y
                    self.subtotal(f"Subtotal order #{current}:", subtotal)
                    y, buf = self.y, self.buf
                grand += subtotal
                subtotal = Decimal(0)
                current = order_id
                orders += 1
                oid, w = self.tj_text(_clean(order_id))
                order_frag = f"{oid}{w - span0}"
            if y + ROW_H > BOTTOM:
                self.y = y
                self.next_page()
                y, buf = self.y, self.buf
            subtotal += total

            d_frag = date_cache.get(order_date)
            if d_frag is None:
                if len(date_cache) > 4096:
                    date_cache.clear()
                # date().isoformat(), not strftime(): it pays for the zone conversion
                d_frag = date_cache[order_date] = text_cell(
                    _local(order_date, zone).date().isoformat(), 1
                )
            c_frag = text_cell(customer, 2)
            s_frag = text_cell(status, 3)
            p_frag = text_cell(product, 4)

            q = qty_cache.get(qty)
            if q is None:
                s = str(qty)
                reg.learn(s)
                q = qty_cache[qty] = (f"({s.translate(enc)})", sum(map(wid, s)))
            u = money_cache.get(price)
            if u is None:
                s = f"{price:,.2f}"
                u = money_cache[price] = (f"({s.translate(enc)})", sum(map(wid, s)))
            t = money_cache.get(total)
            if t is None:
                if len(money_cache) > _MONEY_CACHE_LIMIT:
                    money_cache.clear()
                s = f"{total:,.2f}"
                t = money_cache[total] = (f"({s.translate(enc)})", sum(map(wid, s)))

            if not buf:
                self.open_text(y)
            # TJ: a number n moves the pen left by n/1000 of the font size, so the move
            # to a right-aligned cell is (its width - gap from the current pen position).
            buf.append(
                f"{next_line}{order_frag}{d_frag[0]}{c_frag[0]}{s_frag[0]}{p_frag[1]}"
                f"{p_frag[2] + q[1] + k_qty}{q[0]}{u[1] + k_unit}{u[0]}{t[1] + k_total}{t[0]}]TJ"
            )
            y += ROW_H
            count += 1
            if count == next_report:
                next_report += every
                if progress is not None:
                    progress(count)
        self.y = y
        self.flush()
        if current is not None:
            grand += subtotal
            if summary:
                self.subtotal(f"Subtotal order #{current}:", subtotal)
        if progress is not None and (count == 0 or count % every):
            progress(count)
        return count, orders, grand

    # -- overview ------------------------------------------------------------------
    # Drawn once per file, before the rows: clarity over speed.  ``self.y`` is the
    # top of the next section; a section that does not fit starts a new page.

    @staticmethod
    def rect(x: float, top: float, w: float, h: float, paint: str = "f") -> str:
        """A rectangle path (mm, from the top left), filled (``re f``) or stroked (``re S``)."""
        k = PT_PER_MM
        return f"{x * k:.2f} {PAGE_H_PT - (top + h) * k:.2f} {w * k:.2f} {h * k:.2f} re {paint}"

    @staticmethod
    def line(x1: float, y1: float, x2: float, y2: float) -> str:
        """A straight line path (mm, from the top left), stroked: ``m l S``."""
        k = PT_PER_MM
        return f"{x1 * k:.2f} {PAGE_H_PT - y1 * k:.2f} m {x2 * k:.2f} {PAGE_H_PT - y2 * k:.2f} l S"

    def paint(self, paths: list[str], colour: str, width_pt: float | None = None) -> None:
        """Paths in one graphics state: a grey (``g`` fill or ``G`` stroke) and a line width."""
        if paths:
            width = "" if width_pt is None else f"{width_pt:.2f} w "
            self.parts.append(f"q {colour} {width}" + " ".join(paths) + " Q\n")

    def text(self, x: float, base: float, text: str, font: _RawFont | None = None,
             size: float = FONT_PT, align: str = "L", colour: str = "0 g") -> None:
        """One line of text at ``x`` mm (left, right or middle), baseline ``base`` mm."""
        self.parts.append(self.text_line(x * PT_PER_MM, base, _clean(text), font or self.reg,
                                         size, align, colour))

    def need(self, height: float) -> None:
        if self.y + height > BOTTOM:
            self.overview_page()

    def overview_page(self) -> None:
        self.end_page()
        self.parts.append(self.continued_title())
        self.y = MARGIN + 5

    def heading(self, title: str, note: str = "", x: float = MARGIN,
                width: float = TABLE_W) -> None:
        """A section title at ``self.y``, with an optional grey note at the right."""
        base = _baseline(self.y, SECTION_H, SECTION_PT)
        self.text(x + PAD, base, title, self.bold, SECTION_PT)
        if note:
            self.text(x + width - PAD, base, note, size=FONT_PT, align="R", colour=GREY_TEXT)

    def overview(self, ov: Overview) -> None:
        self.key_figures(ov)
        self.chart(ov)
        self.top_lists(ov)
        self.customer_totals(ov)

    def key_figures(self, ov: Overview) -> None:
        self.need(SECTION_H + KPI_H + GAP)
        self.heading("Key figures", f"{ov.date_from} \u2013 {ov.date_to} vs "
                                    f"{ov.previous_from} \u2013 {ov.previous_to}")
        top = self.y + SECTION_H
        currency = self.meta.currency
        width = (TABLE_W - (len(KPIS) - 1) * GAP) / len(KPIS)
        inner = width - 2 * 2.5
        self.paint([self.rect(MARGIN + i * (width + GAP), top, width, KPI_H)
                    for i in range(len(KPIS))], KPI_FILL)
        for i, (name, label, money) in enumerate(KPIS):
            x = MARGIN + i * (width + GAP) + 2.5
            show = _money if money else (lambda n: f"{n:,}")
            value = show(getattr(ov.kpis, name))
            size = KPI_PT
            wide = self.width_mm(value, self.bold, size)
            if wide > inner:
                size = math.floor(size * inner / wide * 10) / 10
            label = f"{label} ({currency})" if money else label
            self.text(x, top + 4.2, self.ellipsize(label, inner, self.reg), colour=GREY_TEXT)
            self.text(x, top + 10.8, value, self.bold, size)
            self.text(x, top + 14.8, f"Change: {_change(ov.change(name))}")
            self.text(x, top + 18.4, f"Previous: {show(getattr(ov.previous, name))}",
                      colour=GREY_TEXT)
        self.y = top + KPI_H + GAP

    def chart(self, ov: Overview) -> None:
        """Revenue per period as a bar chart, or a message when there is nothing to draw."""
        currency, reg = self.meta.currency, self.reg
        word = GRAIN_WORDS.get(ov.grain, "period")
        title = f"Revenue per {word} ({currency}), {ov.date_from} \u2013 {ov.date_to}"
        periods = ov.periods
        if not ov.kpis.orders or not periods:
            box = 20.0
            self.need(SECTION_H + box + GAP)
            self.heading(title)
            top = self.y + SECTION_H
            self.paint([self.rect(MARGIN, top, TABLE_W, box, "S")], "0.60 G", 0.5)
            self.text(MARGIN + TABLE_W / 2, _baseline(top, box, 10), NO_ORDERS_MESSAGE,
                      size=10, align="C")
            self.y = top + box + GAP
            return

        values = [max(p.revenue, Decimal(0)) for p in periods]  # a refund-heavy period: no bar
        peak = max(values)
        best = periods[values.index(peak)]
        average = (ov.kpis.revenue / len(periods)).quantize(CENT)
        # The chart's text alternative: what a reader of the bars would take away.
        note = (f"Highest: {best.label}, {_money(best.revenue)} {currency} \u00b7 "
                f"Average per {word}: {_money(average)} {currency}")
        self.need(SECTION_H + PLOT_HEADROOM + PLOT_H + 8.5 + GAP)
        self.heading(title, note)

        ticks = _ticks(peak)
        scale = ticks[-1]
        tick_labels = _tick_labels(ticks)
        x0 = MARGIN + PAD + max(self.width_mm(t, reg, AXIS_PT) for t in tick_labels) + 2.0
        x1 = MARGIN + TABLE_W - PAD
        top = self.y + SECTION_H + PLOT_HEADROOM
        bottom = top + PLOT_H
        centre = 0.35 * AXIS_PT / PT_PER_MM  # baseline below the middle of a digit

        self.text(MARGIN + PAD, top - 3.5, f"Revenue ({currency})", size=AXIS_PT,
                  colour=GREY_TEXT)
        grid = []
        for value, label in zip(ticks, tick_labels, strict=True):
            y = bottom - float(value / scale) * PLOT_H
            if value:
                grid.append(self.line(x0, y, x1, y))
            self.text(x0 - 1.5, y + centre, label, size=AXIS_PT, align="R")
        self.paint(grid, GRID_STROKE, 0.3)

        slot = (x1 - x0) / len(periods)
        bar_w = min(slot * 0.72, MAX_BAR_W)
        heights = [float(v / scale) * PLOT_H for v in values]
        self.paint([self.rect(x0 + i * slot + (slot - bar_w) / 2, bottom - h, bar_w, h)
                    for i, h in enumerate(heights) if h > 0], BAR_FILL)
        self.paint([self.line(x0, bottom, x1, bottom), self.line(x0, top, x0, bottom)],
                   AXIS_STROKE, 0.6)

        texts = self.bar_values(values, slot - 0.8)
        if texts:
            for i, (text, h) in enumerate(zip(texts, heights, strict=True)):
                if h > 0:
                    self.text(x0 + (i + 0.5) * slot, bottom - h - 0.8, text, size=VALUE_PT,
                              align="C")

        step = self.label_step([p.label for p in periods], slot)
        marks = []
        for i in range(0, len(periods), step):
            x = x0 + (i + 0.5) * slot
            marks.append(self.line(x, bottom, x, bottom + 1.0))
            self.text(x, bottom + 3.8, periods[i].label, size=AXIS_PT, align="C")
        self.paint(marks, AXIS_STROKE, 0.4)
        self.text((x0 + x1) / 2, bottom + 7.6, X_AXIS_TITLES.get(ov.grain, "Period"),
                  size=AXIS_PT, align="C", colour=GREY_TEXT)
        self.y = bottom + 8.5 + GAP

    def bar_values(self, values: list[Decimal], room: float) -> list[str] | None:
        """The labels written above the bars, in the most precise form for which every
        label fits the width of a bar's slot; None when not even the compact form fits."""
        shown = [v for v in values if v > 0]
        if not shown:
            return None
        for form in (_money, _whole, _compact):
            if max(self.width_mm(form(v), self.reg, VALUE_PT) for v in shown) <= room:
                return [form(v) for v in values]
        return None

    def label_step(self, labels: list[str], slot: float) -> int:
        """Label every n-th bar: at most MAX_X_LABELS labels, and none touching the next."""
        widest = max(self.width_mm(_clean(label), self.reg, AXIS_PT) for label in labels)
        step = max(1, math.ceil(len(labels) / MAX_X_LABELS))
        while step < len(labels) and step * slot < widest + 2.0:
            step += 1
        return step

    def top_lists(self, ov: Overview) -> None:
        """The top customers and the top products, side by side."""
        lines = max(len(ov.top_customers), len(ov.top_products), 1)
        self.need(SECTION_H + HEADER_H + lines * ROW_H + GAP)
        width = (TABLE_W - TOP_GAP) / 2
        top = self.y
        for x, what, label, items in (
            (MARGIN, "customers", "Customer", ov.top_customers),
            (MARGIN + width + TOP_GAP, "products", "Product", ov.top_products),
        ):
            self.y = top
            count = f"{len(items)} " if items else ""
            self.heading(f"Top {count}{what} by revenue", x=x, width=width)
            self.ranked(x, top + SECTION_H, width, label, items)
        self.y = top + SECTION_H + HEADER_H + lines * ROW_H + GAP

    def ranked(self, x: float, top: float, width: float, label: str,
               items: list[Ranked]) -> None:
        """A top list: one row per entry with a bar as long as its share of the largest."""
        bar_col = 24.0
        columns = [("#", 7.0, "R"), (label, 0.0, "L"), ("Orders", 15.0, "R"),
                   ("Units", 15.0, "R"), (f"Revenue ({self.meta.currency})", 27.0, "R"),
                   ("", bar_col, "L")]
        columns[1] = (label, width - sum(c[1] for c in columns), "L")
        self.grid_header(x, top, columns)
        top += HEADER_H
        if not items:
            self.text(x + PAD, top + self.baseline_pt() / PT_PER_MM, "None in this range",
                      colour=GREY_TEXT)
            return
        peak = max(r.revenue for r in items)
        bars = []
        bar_x, bar_max = x + width - bar_col + PAD, bar_col - 2 * PAD
        for i, r in enumerate(items):
            row_top = top + i * ROW_H
            self.grid_row(x, row_top, columns,
                          (f"{i + 1}", r.name, f"{r.orders:,}", f"{r.units:,}", _money(r.revenue)))
            if peak > 0 and r.revenue > 0:
                bars.append(self.rect(bar_x, row_top + ROW_H * 0.2,
                                      float(r.revenue / peak) * bar_max, ROW_H * 0.6))
        self.paint(bars, RANK_FILL)

    def customer_totals(self, ov: Overview) -> None:
        """Every customer's totals (as many as the overview lists), over pages if need be."""
        columns = [("#", 12.0, "R"), ("Customer", 0.0, "L"), ("Orders", 30.0, "R"),
                   ("Units", 30.0, "R"), (f"Revenue ({self.meta.currency})", 40.0, "R"),
                   ("Share of revenue", 32.0, "R")]
        columns[1] = ("Customer", TABLE_W - sum(c[1] for c in columns), "L")
        self.need(SECTION_H + HEADER_H + 2 * ROW_H + GAP)
        total = ov.customers_total
        self.heading("Totals per customer", f"{total:,} customer{'' if total == 1 else 's'}")
        self.y += SECTION_H
        if not ov.customers and not total:
            self.text(MARGIN + PAD, self.y + 4, NO_ORDERS_MESSAGE, colour=GREY_TEXT)
            self.y += ROW_H + GAP
            return
        self.grid_header(MARGIN, self.y, columns)
        self.y += HEADER_H
        revenue = ov.kpis.revenue
        for i, r in enumerate(ov.customers, start=1):
            if self.y + ROW_H > BOTTOM:
                self.overview_page()
                self.grid_header(MARGIN, self.y, columns)
                self.y += HEADER_H
            share = (f"{(r.revenue * 100 / revenue).quantize(Decimal('0.1'))} %" if revenue
                     else "n/a")
            self.grid_row(MARGIN, self.y, columns,
                          (f"{i:,}", r.name, f"{r.orders:,}", f"{r.units:,}", _money(r.revenue),
                           share))
            self.y += ROW_H
        more = total - len(ov.customers)
        if more > 0:
            if self.y + ROW_H > BOTTOM:
                self.overview_page()
            self.text(MARGIN + PAD, self.y + self.baseline_pt() / PT_PER_MM,
                      f"{ELLIPSIS} and {more:,} more customer{'' if more == 1 else 's'}",
                      colour=GREY_TEXT)
            self.y += ROW_H
        self.y += GAP

    def grid_header(self, x: float, top: float, columns) -> None:
        """A grey band with bold column labels, like the line-item table's header."""
        self.paint([self.rect(x, top, sum(c[1] for c in columns), HEADER_H)], GREY_FILL)
        base = _baseline(top, HEADER_H, FONT_PT)
        for label, width, align in columns:
            if label:
                label = self.ellipsize(label, width - 2 * PAD, self.bold)
                self.text(x + width - PAD if align == "R" else x + PAD, base, label, self.bold,
                          align=align)
            x += width

    def grid_row(self, x: float, top: float, columns, cells) -> None:
        base = top + self.baseline_pt() / PT_PER_MM
        for (_label, width, align), cell in zip(columns, cells, strict=False):
            text = self.ellipsize(_clean(cell), width - 2 * PAD, self.reg)
            self.text(x + width - PAD if align == "R" else x + PAD, base, text, align=align)
            x += width

    def items_page(self) -> None:
        """The first page of the line items, after an overview."""
        self.end_page()
        self.text(MARGIN + PAD, _baseline(MARGIN, 8, 12), "Line items", self.bold, 12)
        self.parts.append(self.table_header(MARGIN + 8))
        self.y = MARGIN + 8 + HEADER_H

    # -- closing lines -----------------------------------------------------------
    def totals(self, count: int, orders: int, grand: Decimal) -> None:
        self.flush()
        meta = self.meta
        lines: list[tuple[_RawFont, str]] = []  # (font, text)
        if count == 0:
            lines.append((self.reg, EMPTY_MESSAGE))
        elif meta.kind != "order":
            lines.append((self.bold, f"Grand total: {_money(grand)} {meta.currency}"))
            lines.append((self.reg, f"Orders: {orders:,}"))
            lines.append((self.reg, f"Line items: {count:,}"))
        else:
            lines.append((self.bold, f"Order total: {_money(grand)} {meta.currency}"))
        if self.y + 3 + 6 * len(lines) > BOTTOM:
            self.next_page(table=bool(count))
        y = self.y + 3
        # Like cell(TABLE_W, 6, align="R" or "L"): padded by PAD, so "R" lines up with
        # the amount column.
        if count:
            x, align = (MARGIN + TABLE_W - PAD) * PT_PER_MM, "R"
        else:
            x, align = (MARGIN + PAD) * PT_PER_MM, "L"
        for font, text in lines:
            self.parts.append(self.text_line(x, _baseline(y, 6, 10), _clean(text), font, 10, align))
            y += 6
        self.y = y

    def output(self, path) -> None:
        self.end_page()
        skeleton = bytes(self.pdf.output())  # fonts are subset here: all text is drawn by now
        _Assembler(skeleton).write(path, self.spill, self.footer)


def write_pdf(
    rows: Rows,
    meta: ReportMeta,
    path,
    progress: Progress = None,
    *,
    fonts_dir: Path | None = None,
) -> int:
    """Write ``rows`` to ``path`` as a PDF report; return the number of rows written.

    ``fonts_dir`` overrides where the TTF files are read from (default: static/fonts).
    Finished pages are spilled (compressed) to an anonymous temporary file in
    ``path``'s directory, so memory does not grow with the number of rows.
    """
    with tempfile.TemporaryFile(dir=Path(path).resolve().parent) as spill_file:
        writer = _Writer(meta, fonts_dir or DEFAULT_FONTS_DIR, _Spill(spill_file))
        writer.first_page()
        if meta.overview is not None:
            writer.overview(meta.overview)
        it = iter(rows)
        first = next(it, None)
        if first is None:
            count, orders, grand = 0, 0, Decimal(0)
            if progress is not None:
                progress(0)
        else:
            if meta.overview is not None:
                writer.items_page()
            else:
                writer.parts.append(writer.table_header(writer.y))
                writer.y += HEADER_H
            count, orders, grand = writer.rows(itertools.chain((first,), it), progress)
        writer.totals(count, orders, grand)
        writer.output(path)
    return count
