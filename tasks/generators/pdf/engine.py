"""The stream engine: pages written as raw PDF content streams, spilled to disk
as they are finished, and assembled around fpdf2's one-page skeleton.

How it stays fast
-----------------
fpdf2's ``table()`` (~900 rows/s) and even ``cell()`` (30-50 us per call) are
too slow for 100k rows, so every page is written as a raw PDF content stream
(:class:`Canvas` collects it; the layouts in table.py and overview.py draw on
it).  Page furniture (continued title, footer) is raw text as well; text is
encoded by fonts.py.

How it stays small
------------------
fpdf2 keeps every page's content uncompressed in memory until ``output()``
and then builds the whole file in one buffer, so memory grew with the row
count (~0.36 KB per row: 585 MB at 1M rows).  Here fpdf2 only ever holds one
empty page:

* each finished page's content is zlib-compressed at once and appended to an
  anonymous temporary file in the directory of ``path`` (:class:`Spill`;
  only the compressed lengths stay in memory);
* at the end fpdf2 writes a one-page *skeleton* into memory: catalog, pages
  root, one shared ``/Resources`` dict, the subset fonts, info -- a few
  hundred KB whatever the row count;
* :class:`Assembler` writes the real file: the skeleton's objects (its pages
  root rewritten with every page), then for each page its content stream
  (copied from the spill file), its footer stream and its page object, and a
  fresh cross-reference table.

The footer ``Page X of Y`` is a second, tiny content stream of each page,
made at the end when Y is known (a page's ``/Contents`` is ``[body footer]``),
so no alias substitution is needed and the page count is always exact.  A
footer note (a document's number) may stand at its left; its characters are
learned when it is set, since footers are written after fonts are subset.

Pages are A4 landscape (the reports) or portrait (``Canvas(..., portrait=True)``,
the order document); the module constants below are the landscape geometry that
table.py and overview.py lay out on, a portrait canvas carries its own
(``page_w``, ``page_h_pt``, ``content_w``, ``bottom``, ...).

Images (a document's logo) are registered with fpdf2's image cache
(``fpdf.image_parsing.preload_image``), so fpdf2 embeds them once and lists them
in the shared ``/Resources``; a raw stream draws one with ``cm ... Do``.

fpdf2 surface relied on (fpdf2 is pinned in requirements.txt; the unit tests
read the produced files back with pypdf and pdfplumber):

* ``FPDF.current_font`` after ``set_font()``, and on that TTF font object
  ``.i`` (its ``/F<i>`` resource name), ``.cmap``, ``.encode_text()`` and
  ``.get_text_width()`` -- public names, but not documented API;
* ``FPDF.single_resources_object = True`` (a documented attribute): one
  ``/Resources`` dict listing every added font and image, which all our pages
  share -- fonts used through raw ``Tf`` and images through raw ``Do`` are never
  registered per page;
* ``fpdf.image_parsing.preload_image(pdf.image_cache, data)`` (documented as the
  replacement of ``FPDF.preload_image``): its info's ``"i"`` (the ``/I<i>``
  resource name), ``"w"``/``"h"`` (pixels) and ``"smask"`` (an alpha channel,
  which needs PDF 1.4: ``FPDF.pdf_version`` is raised to it);
* the shape of fpdf2's own ``output()`` for a one-page unencrypted document:
  a classic ``xref`` table (one ``0 <size>`` section, every object in use), a
  trailer with ``/Size`` and ``/Root``, a catalog whose ``/Pages`` has one kid
  whose ``/Contents`` is one reference.  :class:`Assembler` checks each of
  these and raises ``RuntimeError`` if one does not hold;
* for fonts parsed once per process (fonts.py): ``FPDF.fonts`` (font key ->
  font object, what ``add_font()`` fills), on fpdf2's TTF font object the
  attributes ``add_font()`` and ``output()`` set and read (``i``, ``fontkey``,
  ``ttffile``, ``subset`` -- a ``fpdf.fonts.SubsetMap`` --, ``missing_glyphs``,
  ``biggest_size_pt``, ``desc``, ``ttfont``, ``collection_font_number``,
  ``is_compressed``, ``color_font``), and that ``output()`` subsets ``ttfont``
  with fontTools' ``Subsetter`` asked for glyph names and drops GSUB, GPOS,
  GDEF and MATH; of fontTools, that subsetting changes a font's 'glyf' glyphs
  and cmap subtables in place and only replaces attributes of its 'glyf',
  'cmap', 'hmtx', 'vmtx' and 'post' tables, and that ``Glyph.compile()`` of a
  glyph of contours depends on its data alone.  tests/generators/test_pdf_fonts_once.py
  compares the result with fpdf2's own ``add_font()`` byte for byte.

No underscore (private) fpdf2 API is used.
"""
from __future__ import annotations

import datetime as dt
import itertools
import re
import zlib
from array import array
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

from fpdf import FPDF
from fpdf.image_parsing import RasterImageInfo, preload_image

from .fonts import FONT_PT, PT_PER_MM, Fonts, RawFont, add_text_fonts, prepare_output

# Geometry.  A4 landscape is 297 x 210 mm; the PDF unit is the point (1/72 in).
PAGE_W_PT, PAGE_H_PT = 841.89, 595.28  # fpdf2's A4, landscape
PAGE_W, PAGE_H = PAGE_W_PT / PT_PER_MM, PAGE_H_PT / PT_PER_MM  # mm
MARGIN = 10.0  # mm
CONTENT_W = 297.0 - 2 * MARGIN  # mm, the width the table's columns fill
PAD = 1.0  # mm, horizontal padding inside a cell (fpdf2's default c_margin)
ROW_PT = 12.5  # row pitch in points (4.41 mm): a round number keeps Td exact
ROW_H = ROW_PT / PT_PER_MM  # mm
HEADER_H = 6.0  # mm, a table header band
FOOTER_Y = PAGE_H - 10.0  # mm: top of the footer line
FOOTER_PT = 7.0
BOTTOM = 210.0 - 14.0  # mm: content must end above this
GREY_TEXT = "0.353 g"  # fpdf2's set_text_color(90)
GREY_FILL = "0.882 g"  # fpdf2's set_fill_color(225)



@dataclass(frozen=True)
class PageGeometry:
    """A4 in one orientation: fpdf2's sizes in points, the nominal paper size in mm."""

    orientation: str  # fpdf2's "L" or "P"
    w_pt: float
    h_pt: float
    paper_w: float  # mm
    paper_h: float  # mm


LANDSCAPE = PageGeometry("L", PAGE_W_PT, PAGE_H_PT, 297.0, 210.0)
PORTRAIT = PageGeometry("P", PAGE_H_PT, PAGE_W_PT, 210.0, 297.0)

# Learned up front, in this order: the table's row path writes numbers with
# str.translate without learning them, and footers are written after fpdf2 has
# subset the fonts.
NUMERIC_CHARS = "0123456789.,-"
FOOTER_CHARS = "Page of0123456789"

# zlib level for page content: fpdf2's default.  Level 1 is ~2x faster (~60 vs
# ~115 us per page, ~1.5 s per 1M rows) for files ~10 % larger.
ZLIB_LEVEL = 6
_COPY_CHUNK = 1 << 20


def money(value: Decimal) -> str:
    return f"{value:,.2f}"


def local(value: dt.datetime, zone) -> dt.datetime:
    """``value`` (UTC; naive is taken to be UTC) as wall-clock time in ``zone``."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.UTC)
    return value.astimezone(zone)


def clean(text) -> str:
    """One-line display text: control characters and runs of whitespace become one space."""
    text = "" if text is None else str(text)
    if text.isprintable():
        return text
    return " ".join("".join(c if c.isprintable() else " " for c in text).split())


def baseline(top: float, height: float, size_pt: float) -> float:
    """Baseline (mm from the top) of text in a cell, as fpdf2's cell() puts it."""
    return top + height / 2 + 0.3 * size_pt / PT_PER_MM


def row_baseline_pt() -> float:
    """Baseline offset below a row's top, in points (as fpdf2's cell() puts it)."""
    return ROW_PT / 2 + 0.3 * FONT_PT


class Spill:
    """Compressed page bodies, one after the other in ``file`` (an anonymous temporary
    file); only their lengths stay in memory."""

    def __init__(self, file) -> None:
        self.file = file
        self.lengths = array("q")

    def add(self, content: str) -> None:
        data = zlib.compress(content.encode("latin-1"), ZLIB_LEVEL)
        self.file.write(data)
        self.lengths.append(len(data))
class Assembler:
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

    def write(self, path, spill: Spill, footer) -> None:
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



class Canvas:
    """The pages of one file as raw content: ``parts`` is the current page, ``buf``
    its open text object (which consecutive table rows share), ``y`` the top (mm)
    of whatever comes next.  fpdf2 only ever holds one empty page; each finished
    page goes to the spill."""

    def __init__(self, title: str, fonts_dir: Path, spill: Spill, *,
                 portrait: bool = False) -> None:
        self.title = title
        self.spill = spill
        # The same arithmetic as the module constants, so a landscape page is byte
        # for byte what it was before orientations existed.
        geo = PORTRAIT if portrait else LANDSCAPE
        self.page_w_pt, self.page_h_pt = geo.w_pt, geo.h_pt
        self.page_w, self.page_h = geo.w_pt / PT_PER_MM, geo.h_pt / PT_PER_MM  # mm
        self.content_w = geo.paper_w - 2 * MARGIN
        self.bottom = geo.paper_h - 14.0
        self.footer_y = self.page_h - 10.0
        self.footer_note = ""
        pdf = self.pdf = FPDF(orientation=geo.orientation, unit="mm", format="A4")
        pdf.single_resources_object = True  # one /Resources dict with every font
        pdf.set_auto_page_break(False)
        pdf.set_margins(MARGIN, MARGIN, MARGIN)
        pdf.set_title(title)
        pdf.set_creator("reports")
        add_text_fonts(pdf, Path(fonts_dir))
        pdf.add_page()  # fpdf2's only page: our pages are never drawn through fpdf2
        self.fonts = Fonts(pdf, Path(fonts_dir))
        self.bold, self.reg = self.fonts.bold, self.fonts.reg
        self.bold.learn(NUMERIC_CHARS)
        self.reg.learn(NUMERIC_CHARS + FOOTER_CHARS)
        self.y = 0.0  # mm
        self.parts: list[str] = []  # content of the current page
        self.buf: list[str] = []  # the currently open text object

    def width_mm(self, text: str, primary: RawFont, size: float = FONT_PT) -> float:
        return self.fonts.width_mm(text, primary, size)

    def ellipsize(self, text: str, max_w: float, font: RawFont, size: float = FONT_PT) -> str:
        return self.fonts.ellipsize(text, max_w, font, size)

    # -- text and paths ------------------------------------------------------------
    def text_line(self, x_pt: float, base_mm: float, text: str, primary: RawFont, size: float,
                  align: str = "L", colour: str = "0 g") -> str:
        """A one-line text object; ``x_pt`` is its left, (``align="R"``) right or
        (``align="C"``) middle."""
        ops, width = self.fonts.show(text, primary, size)
        if align == "R":
            x_pt -= width * size / 1000
        elif align == "C":
            x_pt -= width * size / 2000
        y_pt = self.page_h_pt - base_mm * PT_PER_MM
        return f"q {colour} BT {x_pt:.2f} {y_pt:.2f} Td {ops} ET Q\n"

    def text(self, x: float, base: float, text: str, font: RawFont | None = None,
             size: float = FONT_PT, align: str = "L", colour: str = "0 g") -> None:
        """One line of text at ``x`` mm (left, right or middle), baseline ``base`` mm."""
        self.parts.append(self.text_line(x * PT_PER_MM, base, clean(text), font or self.reg,
                                         size, align, colour))

    def rect(self, x: float, top: float, w: float, h: float, paint: str = "f") -> str:
        """A rectangle path (mm, from the top left), filled (``re f``) or stroked (``re S``)."""
        k, page_h = PT_PER_MM, self.page_h_pt
        return f"{x * k:.2f} {page_h - (top + h) * k:.2f} {w * k:.2f} {h * k:.2f} re {paint}"

    def line(self, x1: float, y1: float, x2: float, y2: float) -> str:
        """A straight line path (mm, from the top left), stroked: ``m l S``."""
        k, page_h = PT_PER_MM, self.page_h_pt
        return f"{x1 * k:.2f} {page_h - y1 * k:.2f} m {x2 * k:.2f} {page_h - y2 * k:.2f} l S"

    def image(self, data: bytes, x: float, top: float, max_w: float, max_h: float,
              align: str = "L") -> tuple[float, float]:
        """Draw a PNG or JPEG as large as fits ``max_w`` x ``max_h`` mm with its aspect
        kept, its box's top left at (``x``, ``top``), flush left or (``align="R"``)
        right in the box; return its drawn (width, height) in mm.

        The image is embedded once however often it is drawn.  Raises ValueError for
        data that is not a raster image."""
        pdf = self.pdf
        _name, _img, info = preload_image(pdf.image_cache, data,
                                          resource_access_policy=pdf.resource_access_policy)
        if not isinstance(info, RasterImageInfo):
            raise ValueError("not a raster image")
        if "smask" in info:  # an alpha channel is a soft mask: PDF 1.4
            pdf.pdf_version = max(pdf.pdf_version, "1.4")
        w_px, h_px = info["w"], info["h"]
        scale = min(max_w / w_px, max_h / h_px)
        w, h = w_px * scale, h_px * scale
        if align == "R":
            x += max_w - w
        k = PT_PER_MM
        self.flush()
        self.parts.append(f"q {w * k:.2f} 0 0 {h * k:.2f} {x * k:.2f} "
                          f"{self.page_h_pt - (top + h) * k:.2f} cm /I{info['i']} Do Q\n")
        return w, h

    def paint(self, paths: list[str], colour: str, width_pt: float | None = None) -> None:
        """Paths in one graphics state: a grey (``g`` fill or ``G`` stroke) and a line width."""
        if paths:
            width = "" if width_pt is None else f"{width_pt:.2f} w "
            self.parts.append(f"q {colour} {width}" + " ".join(paths) + " Q\n")

    # -- pages -------------------------------------------------------------------
    def flush(self) -> None:
        """Close the open text object; must run before anything else is drawn."""
        if self.buf:
            self.parts.append("".join(self.buf) + " ET Q\n")
            self.buf = []

    def end_page(self) -> None:
        self.flush()
        self.spill.add("".join(self.parts))
        self.parts = []

    def continued_title(self) -> str:
        """The small grey title at the top of every page after the first."""
        title = f"{clean(self.title)} (continued)"
        return self.text_line(MARGIN * PT_PER_MM, MARGIN + 2, title, self.reg, 7, colour=GREY_TEXT)

    def set_footer_note(self, text: str) -> None:
        """Text at the left of every page's footer (e.g. a document's number)."""
        self.footer_note = clean(text)
        self.fonts.width_mm(self.footer_note, self.reg, FOOTER_PT)  # learn it before subsetting

    def footer(self, page: int, pages: int) -> bytes:
        """The footer stream of a page (written once the page count is known)."""
        text = f"Page {page} of {pages}"
        lit, width = self.reg.literal(text)
        x = (self.page_w / 2) * PT_PER_MM - width * FOOTER_PT / 2000
        y = self.page_h_pt - baseline(self.footer_y, 4, FOOTER_PT) * PT_PER_MM
        stream = (
            f"q {GREY_TEXT} BT {x:.2f} {y:.2f} Td {self.reg.name} {FOOTER_PT:.2f} Tf {lit} Tj ET Q"
        )
        if self.footer_note:
            ops, _width = self.fonts.show(self.footer_note, self.reg, FOOTER_PT)
            stream += f" q {GREY_TEXT} BT {MARGIN * PT_PER_MM:.2f} {y:.2f} Td {ops} ET Q"
        return stream.encode("latin-1")

    def output(self, path) -> None:
        self.end_page()
        prepare_output(self.pdf)
        skeleton = bytes(self.pdf.output())  # fonts are subset here: all text is drawn by now
        Assembler(skeleton).write(path, self.spill, self.footer)
