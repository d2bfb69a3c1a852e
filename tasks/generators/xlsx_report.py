"""XLSX generator: an Office Open XML workbook written by hand, streamed.

Sheets, in workbook order: "Summary", then "Lines" (one row per report row:
an order's items, then its shipping row), continued on "Lines (2)",
"Lines (3)", … past :data:`MAX_ROWS_PER_SHEET`. The last Lines sheet ends,
after a blank row, with a totals row: the sums of Quantity, Discount, Net, Tax
and Gross over every Lines sheet, as numbers (no formulas, see below). Lines
carry no per-order subtotal rows: they would be counted twice by a filter, a
sort or a pivot table; the PDF shows subtotals.

The package parts are XML strings written straight into the zip: a sheet is
one deflated zip entry filled in chunks while the rows stream by, so memory
stays flat and no temporary file is needed. xlsxwriter (constant_memory) and
openpyxl (write_only) make an object, a type dispatch, a style lookup and a
cell reference per cell; here a row is one f-string of pre-rendered cells (the
order's cells are rendered once per order, a text or a quantity seen before
costs a dict lookup, money is str(Decimal)), which makes it many times faster.

Cells are typed: numbers and money are numbers (Decimal written as its exact
string), percentages are the rate as a plain number (19, 5.5: the header says
"%"), an order's date is an Excel date (a serial day number with a date-only
format: it is a calendar date, no zone applies); the Summary's generation time
is shown in the user's zone. Text is always an inline string
(``t="inlineStr"``): a spreadsheet never evaluates it, so "=1+2" is stored as
is (no ``'`` guard as in CSV) and no ``<f>`` element is ever written.
"""
from __future__ import annotations

import datetime as dt
import re
import zipfile
from dataclasses import dataclass
from decimal import Decimal
from itertools import chain

from . import PROGRESS_EVERY, Progress, ReportMeta, Rows

__all__ = ["KEY_FIGURES", "LINES_HEADER", "MAX_ROWS_PER_SHEET", "TOTAL_LABEL", "LineTotals",
           "write_xlsx"]

# Excel's 1,048,576 rows per sheet, less the header row and the totals (a blank
# row and the totals row): whether a sheet is the last is only known at its
# end, so every sheet keeps room for them. A module global read at each call,
# so a test can lower it.
MAX_ROWS_PER_SHEET = 1_048_573

LINES_HEADER = ("Order", "Number", "Date", "Customer", "Status", "Product", "Quantity",
                "Unit price", "Discount %", "Discount", "Net", "Tax %", "Tax", "Gross")
_LINES_WIDTHS = (9, 13, 11, 30, 11, 42, 9, 14, 11, 13, 14, 8, 13, 14)
_LAST_COL = "N"
TOTAL_LABEL = "Total"

# Rows per zip write: ~350 bytes of XML each, so ~0.7 MB per write (big enough
# for zlib and the zip layer to run at full speed, small enough to stay flat).
_CHUNK = 2000
# Rendered-cell caches are cleared when they reach these sizes: a bound on
# memory (a few MB) for reports with millions of distinct names. A miss costs
# ~1 us, so a cache only has to hold what repeats nearby (a catalogue's products,
# the customers of a period); dates repeat less once each order's cells are reused.
_TEXT_CACHE_MAX = 16_384
_SMALL_CACHE_MAX = 4_096
# Level 1 deflates ~700 MB/s here and gives files ~30x smaller than stored;
# higher levels cost 1.3-3.5x the time for ~20 % smaller files.
_COMPRESSLEVEL = 1
# Excel refuses (repairs) cells holding more text than this.
_MAX_TEXT = 32_767

# Style ids: positions in cellXfs of styles.xml below.
_S_HEADER, _S_DATETIME, _S_MONEY, _S_INT, _S_PERCENT, _S_DATE, _S_TITLE = 1, 2, 3, 4, 5, 6, 7
_S_MONEY_BOLD, _S_INT_BOLD = 8, 9

# The Summary's key figures: (label, Kpis attribute, style).
KEY_FIGURES = (
    ("Orders", "orders", _S_INT),
    ("Line items", "items", _S_INT),
    ("Units", "units", _S_INT),
    ("Revenue (gross)", "revenue", _S_MONEY),
    ("Net", "net", _S_MONEY),
    ("Tax", "tax", _S_MONEY),
    ("Discounts", "discount", _S_MONEY),
    ("Shipping", "shipping", _S_MONEY),
    ("Average order value", "average_order_value", _S_MONEY),
)

_EXCEL_EPOCH = dt.datetime(1899, 12, 30)  # serial 0 in the 1900 date system (after its leap bug)
_ONE_DAY = dt.timedelta(days=1)

# Characters XML 1.0 forbids (C0 controls but tab/LF/CR, lone surrogates, U+FFFE/U+FFFF).
_ILLEGAL_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
# Excel reads "_xHHHH_" in a string as an escaped character; such literal text
# keeps its meaning by escaping the underscore (ECMA-376 ST_Xstring).
_EXCEL_ESCAPE = re.compile("_(x[0-9A-Fa-f]{4}_)")

_NS = ('xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
       'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"')
_XML_DECL = '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
_REL_NS = "http://schemas.openxmlformats.org/package/2006/relationships"


# --- text and cells -------------------------------------------------------------------

def _clean(text: str) -> str:
    text = _ILLEGAL_XML.sub("", text)
    if len(text) > _MAX_TEXT:
        text = text[:_MAX_TEXT]
    return text


def _escape(text: str) -> str:
    # A literal CR would come back as LF (XML end-of-line handling); a
    # character reference survives.
    return (text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
            .replace("\r", "&#13;"))


def _escape_attr(text: str) -> str:
    return _escape(_clean(text)).replace('"', "&quot;")


def _text_cell(text, style: int = 0) -> str:
    if text is None:
        return "<c/>"
    text = _clean(str(text))
    body = _escape(_EXCEL_ESCAPE.sub(r"_x005F_\1", text))
    s = f' s="{style}"' if style else ""
    # Without xml:space="preserve" a reader may drop leading/trailing whitespace.
    if text != text.strip():
        return f'<c t="inlineStr"{s}><is><t xml:space="preserve">{body}</t></is></c>'
    return f'<c t="inlineStr"{s}><is><t>{body}</t></is></c>'


def _num_cell(value, style: int = 0) -> str:
    if isinstance(value, Decimal):
        value = format(value, "f")  # never "1E+3": plain digits, exact
    s = f' s="{style}"' if style else ""
    return f"<c{s}><v>{value}</v></c>"


def _rate(value) -> str:
    """A percentage as written: ``19``, ``5.5``, ``0`` (never an exponent)."""
    return format(value.normalize(), "f") if value else "0"


def _serial(value: dt.datetime | dt.date) -> str:
    """Excel serial number of a naive local datetime, or of a date."""
    if not isinstance(value, dt.datetime):
        return str((value - _EXCEL_EPOCH.date()).days)
    return repr((value - _EXCEL_EPOCH) / _ONE_DAY)


def _local(value: dt.datetime, zone) -> dt.datetime:
    """A UTC datetime (naive = UTC) as naive wall-clock time in ``zone``."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.UTC)
    return value.astimezone(zone).replace(tzinfo=None)


# --- workbook parts -----------------------------------------------------------------------

def _money_format(currency: str) -> str:
    """``#,##0.00 "USD"``; a currency with a quote or a backslash is spelled
    out as backslash-escaped literal characters instead."""
    currency = _clean(currency).strip()
    if not currency:
        return "#,##0.00"
    if '"' in currency or "\\" in currency:
        return "#,##0.00 " + "".join("\\" + ch for ch in currency)
    return f'#,##0.00 "{currency}"'


def _styles_xml(currency: str) -> str:
    font = '<sz val="11"/><name val="Calibri"/><family val="2"/>'
    xf = '<xf numFmtId="{}" fontId="{}" fillId="0" borderId="0" xfId="0"{}/>'
    num = ' applyNumberFormat="1"'
    xfs = [
        xf.format(0, 0, ""),
        xf.format(0, 1, ' applyFont="1"'),  # header
        xf.format(164, 0, num),  # date-time
        xf.format(165, 0, num),  # money
        xf.format(3, 0, num),  # integer "#,##0"
        xf.format(166, 0, num),  # percent
        xf.format(167, 0, num),  # date
        xf.format(0, 2, ' applyFont="1"'),  # title
        xf.format(165, 1, num + ' applyFont="1"'),  # money, bold (totals)
        xf.format(3, 1, num + ' applyFont="1"'),  # integer, bold (totals)
    ]
    return (
        f'{_XML_DECL}<styleSheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
        '<numFmts count="4">'
        '<numFmt numFmtId="164" formatCode="yyyy-mm-dd hh:mm:ss"/>'
        f'<numFmt numFmtId="165" formatCode="{_escape_attr(_money_format(currency))}"/>'
        '<numFmt numFmtId="166" formatCode="0.0%"/>'
        '<numFmt numFmtId="167" formatCode="yyyy-mm-dd"/>'
        '</numFmts>'
        f'<fonts count="3"><font>{font}</font><font><b/>{font}</font>'
        '<font><b/><sz val="14"/><name val="Calibri"/><family val="2"/></font>'
        '</fonts>'
        '<fills count="2"><fill><patternFill patternType="none"/></fill>'
        '<fill><patternFill patternType="gray125"/></fill></fills>'
        '<borders count="1"><border><left/><right/><top/><bottom/><diagonal/></border></borders>'
        '<cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/>'
        '</cellStyleXfs>'
        f'<cellXfs count="{len(xfs)}">{"".join(xfs)}</cellXfs>'
        '<cellStyles count="1"><cellStyle name="Normal" xfId="0" builtinId="0"/></cellStyles>'
        '</styleSheet>'
    )


def _cols_xml(widths) -> str:
    cols = "".join(f'<col min="{i}" max="{i}" width="{w}" customWidth="1"/>'
                   for i, w in enumerate(widths, 1))
    return f"<cols>{cols}</cols>"


def _sheet_start(widths, frozen: bool, selected: bool = False, dimension: str = "") -> str:
    # A streamed sheet has no <dimension> (its end is unknown when it starts; the
    # element is optional); the Summary, built whole, gets one.
    dim = f'<dimension ref="{dimension}"/>' if dimension else ""
    tab = ' tabSelected="1"' if selected else ""
    if frozen:
        view = (f'<sheetView{tab} workbookViewId="0">'
                '<pane ySplit="1" topLeftCell="A2" activePane="bottomLeft" state="frozen"/>'
                '<selection pane="bottomLeft" activeCell="A2" sqref="A2"/></sheetView>')
    else:
        view = f'<sheetView{tab} workbookViewId="0"/>'
    return (f"{_XML_DECL}<worksheet {_NS}>{dim}<sheetViews>{view}</sheetViews>"
            f'<sheetFormatPr defaultRowHeight="15"/>{_cols_xml(widths)}<sheetData>')


_SHEET_END = ('<pageMargins left="0.7" right="0.7" top="0.75" bottom="0.75" header="0.3" '
              'footer="0.3"/></worksheet>')


def _sheet_name_ref(name: str) -> str:
    return "'" + name.replace("'", "''") + "'"


def _workbook_xml(names: list[str], filters: dict[int, str]) -> str:
    sheets = "".join(f'<sheet name="{_escape_attr(name)}" sheetId="{i}" r:id="rId{i}"/>'
                     for i, name in enumerate(names, 1))
    defined = "".join(
        f'<definedName name="_xlnm._FilterDatabase" localSheetId="{index}" hidden="1">'
        f"{_escape(_sheet_name_ref(names[index]))}!{ref}</definedName>"
        for index, ref in sorted(filters.items())
    )
    return (f'{_XML_DECL}<workbook {_NS}><workbookPr/>'
            '<bookViews><workbookView activeTab="0"/></bookViews>'
            f"<sheets>{sheets}</sheets><definedNames>{defined}</definedNames>"
            '<calcPr calcId="191029"/></workbook>')


def _workbook_rels(n_sheets: int) -> str:
    ws = "http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet"
    st = "http://schemas.openxmlformats.org/officeDocument/2006/relationships/styles"
    rels = "".join(f'<Relationship Id="rId{i}" Type="{ws}" Target="worksheets/sheet{i}.xml"/>'
                   for i in range(1, n_sheets + 1))
    rels += f'<Relationship Id="rId{n_sheets + 1}" Type="{st}" Target="styles.xml"/>'
    return f'{_XML_DECL}<Relationships xmlns="{_REL_NS}">{rels}</Relationships>'


def _content_types(n_sheets: int) -> str:
    sml = "application/vnd.openxmlformats-officedocument.spreadsheetml"
    sheets = "".join(f'<Override PartName="/xl/worksheets/sheet{i}.xml" '
                     f'ContentType="{sml}.worksheet+xml"/>' for i in range(1, n_sheets + 1))
    return (
        f'{_XML_DECL}<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
        '<Default Extension="rels" '
        'ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
        '<Default Extension="xml" ContentType="application/xml"/>'
        f'<Override PartName="/xl/workbook.xml" ContentType="{sml}.sheet.main+xml"/>'
        f"{sheets}"
        f'<Override PartName="/xl/styles.xml" ContentType="{sml}.styles+xml"/>'
        '<Override PartName="/docProps/core.xml" '
        'ContentType="application/vnd.openxmlformats-package.core-properties+xml"/>'
        '<Override PartName="/docProps/app.xml" '
        'ContentType="application/vnd.openxmlformats-officedocument.extended-properties+xml"/>'
        "</Types>"
    )


_ROOT_RELS = (
    f'{_XML_DECL}<Relationships xmlns="{_REL_NS}">'
    '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/'
    'relationships/officeDocument" Target="xl/workbook.xml"/>'
    '<Relationship Id="rId2" Type="http://schemas.openxmlformats.org/package/2006/'
    'relationships/metadata/core-properties" Target="docProps/core.xml"/>'
    '<Relationship Id="rId3" Type="http://schemas.openxmlformats.org/officeDocument/2006/'
    'relationships/extended-properties" Target="docProps/app.xml"/>'
    "</Relationships>"
)


def _core_xml(meta: ReportMeta) -> str:
    created = meta.generated_at
    if created.tzinfo is not None:
        created = created.astimezone(dt.UTC)
    stamp = created.strftime("%Y-%m-%dT%H:%M:%SZ")
    return (
        f"{_XML_DECL}<cp:coreProperties "
        'xmlns:cp="http://schemas.openxmlformats.org/package/2006/metadata/core-properties" '
        'xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:dcterms="http://purl.org/dc/terms/" '
        'xmlns:dcmitype="http://purl.org/dc/dcmitype/" '
        'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">'
        f"<dc:title>{_escape(_clean(meta.title))}</dc:title>"
        f'<dcterms:created xsi:type="dcterms:W3CDTF">{stamp}</dcterms:created>'
        f'<dcterms:modified xsi:type="dcterms:W3CDTF">{stamp}</dcterms:modified>'
        "</cp:coreProperties>"
    )


def _app_xml(names: list[str]) -> str:
    titles = "".join(f"<vt:lpstr>{_escape(_clean(n))}</vt:lpstr>" for n in names)
    return (
        f"{_XML_DECL}<Properties "
        'xmlns="http://schemas.openxmlformats.org/officeDocument/2006/extended-properties" '
        'xmlns:vt="http://schemas.openxmlformats.org/officeDocument/2006/docPropsVTypes">'
        "<Application>Report generator</Application>"
        "<HeadingPairs><vt:vector size=\"2\" baseType=\"variant\">"
        "<vt:variant><vt:lpstr>Worksheets</vt:lpstr></vt:variant>"
        f"<vt:variant><vt:i4>{len(names)}</vt:i4></vt:variant></vt:vector></HeadingPairs>"
        f'<TitlesOfParts><vt:vector size="{len(names)}" baseType="lpstr">{titles}</vt:vector>'
        "</TitlesOfParts></Properties>"
    )


# --- the Summary sheet ------------------------------------------------------------------

@dataclass(frozen=True)
class LineTotals:
    """What the Lines sheets add up to (the totals row, and the Summary of a
    report without an overview)."""
    orders: int = 0
    lines: int = 0
    units: int = 0
    discount: Decimal = Decimal("0.00")
    net: Decimal = Decimal("0.00")
    tax: Decimal = Decimal("0.00")
    gross: Decimal = Decimal("0.00")


def _summary_rows(meta: ReportMeta, totals: LineTotals) -> list[list[str]]:
    """The Summary sheet as rows of rendered cells (small: at most ~600 rows)."""
    zone = meta.zone
    t, n, m, blank = _text_cell, _num_cell, _S_MONEY, "<c/>"
    rows: list[list[str]] = [[t(meta.title, _S_TITLE)]]
    rows += [[t(line)] for line in meta.scope]
    rows.append([t(f"Times in {meta.timezone}")])
    generated = _local(meta.generated_at, zone).replace(microsecond=0)
    rows.append([t("Generated at"), n(_serial(generated), _S_DATETIME)])
    rows.append([])

    ov = meta.overview
    if ov is None:
        rows += [
            [t("Totals", _S_HEADER), t("Value", _S_HEADER)],
            [t("Orders"), n(totals.orders, _S_INT)],
            [t("Rows (line items and shipping)"), n(totals.lines, _S_INT)],
            [t("Units"), n(totals.units, _S_INT)],
            [t("Discounts"), n(totals.discount, m)],
            [t("Net"), n(totals.net, m)],
            [t("Tax"), n(totals.tax, m)],
            [t("Revenue (gross)"), n(totals.gross, m)],
        ]
        return rows

    def change(name: str) -> str:
        # the overview's one rule: a percentage only where it means something;
        # else "new" (nothing before) or "n/m" (the previous figure, beside it,
        # is too small for a percentage of it to mean anything)
        comparison = ov.compare(name)
        if comparison.kind == "new":
            return t("new")
        if comparison.kind == "n/m":
            return t("n/m: previous almost empty")
        return blank if comparison.percent is None else n(comparison.percent / 100, _S_PERCENT)

    rows += [
        [t("This period"), n(_serial(ov.date_from), _S_DATE), n(_serial(ov.date_to), _S_DATE)],
        [t("Previous period"), n(_serial(ov.previous_from), _S_DATE),
         n(_serial(ov.previous_to), _S_DATE)],
        [],
        [t(h, _S_HEADER) for h in ("Key figures", "This period", "Previous period", "Change %")],
    ]
    for label, name, style in KEY_FIGURES:
        rows.append([t(label), n(getattr(ov.kpis, name), style),
                     n(getattr(ov.previous, name), style), change(name)])

    rows.append([])
    rows.append([t("Tax by rate", _S_HEADER)])
    rows.append([t(h, _S_HEADER) for h in ("Rate %", "Net", "Tax", "Gross")])
    zero = Decimal("0.00")
    net = tax = gross = zero
    for r in ov.tax_rows:
        rows.append([n(_rate(r.rate)), n(r.net, m), n(r.tax, m), n(r.gross, m)])
        net, tax, gross = net + r.net, tax + r.tax, gross + r.gross
    rows.append([t("Total", _S_HEADER), n(net, _S_MONEY_BOLD), n(tax, _S_MONEY_BOLD),
                 n(gross, _S_MONEY_BOLD)])

    rows.append([])
    rows.append([t(h, _S_HEADER) for h in ("Period start", "Label", "Orders", "Revenue")])
    rows += [[n(_serial(p.start), _S_DATE), t(p.label), n(p.orders, _S_INT), n(p.revenue, m)]
             for p in ov.periods]

    def ranked(title: str, items) -> None:
        rows.append([])
        rows.append([t(h, _S_HEADER) for h in (title, "Orders", "Units", "Revenue")])
        rows.extend([t(r.name), n(r.orders, _S_INT), n(r.units, _S_INT), n(r.revenue, m)]
                    for r in items)

    ranked(f"Top {len(ov.top_customers)} customers", ov.top_customers)
    ranked(f"Top {len(ov.top_products)} products", ov.top_products)
    ranked("Totals per customer", ov.customers)
    if ov.customers_total > len(ov.customers):
        rows.append([t(f"The {len(ov.customers):,} customers with the highest revenue of "
                       f"{ov.customers_total:,} are listed.")])
    return rows


def _summary_xml(meta: ReportMeta, totals: LineTotals) -> str:
    rows = _summary_rows(meta, totals)
    body = "".join(f'<row r="{i}">{"".join(cells)}</row>'
                   for i, cells in enumerate(rows, 1) if cells)
    last_col = "ABCD"[max(len(cells) for cells in rows) - 1]
    return (_sheet_start((34, 18, 18, 14), frozen=False, selected=True,
                         dimension=f"A1:{last_col}{len(rows)}")
            + body + "</sheetData>" + _SHEET_END)


# --- the Lines sheets -------------------------------------------------------------------

def _lines_name(index: int) -> str:
    return "Lines" if index == 1 else f"Lines ({index})"


_LINES_START = (
    _sheet_start(_LINES_WIDTHS, frozen=True)
    + '<row r="1">' + "".join(_text_cell(h, _S_HEADER) for h in LINES_HEADER) + "</row>"
)


def _totals_row(r: int, totals: LineTotals) -> str:
    """The row after the last line: the sums of the summable columns, bold."""
    def money(col: str, value: Decimal) -> str:
        return f'<c r="{col}{r}" s="{_S_MONEY_BOLD}"><v>{format(value, "f")}</v></c>'

    return (f'<row r="{r}"><c r="A{r}" t="inlineStr" s="{_S_HEADER}"><is><t>{TOTAL_LABEL}</t>'
            f'</is></c><c r="G{r}" s="{_S_INT_BOLD}"><v>{totals.units}</v></c>'
            f'{money("J", totals.discount)}{money("K", totals.net)}'
            f'{money("M", totals.tax)}{money("N", totals.gross)}</row>')


def write_xlsx(rows: Rows, meta: ReportMeta, path, progress: Progress = None) -> int:
    """Write ``rows`` to ``path`` as an XLSX workbook and return the number of data rows."""
    limit = MAX_ROWS_PER_SHEET
    every = PROGRESS_EVERY
    text_cell = _text_cell
    integer = _S_INT
    date_epoch = _EXCEL_EPOCH.date()

    text_cells: dict[str, str] = {}
    date_cells: dict[dt.date, str] = {}
    qty_cells: dict[int, str] = {}
    rate_cells: dict[Decimal, str] = {}

    count = orders = units = 0
    discount = net_sum = tax_sum = gross_sum = Decimal("0.00")
    last_id = last_number = last_date = last_customer = last_status = head = None
    names: list[str] = []
    filters: dict[int, str] = {}  # sheet index in the workbook -> autofilter range
    totals = LineTotals()

    it = iter(rows)
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED,
                         compresslevel=_COMPRESSLEVEL) as zf:
        while True:  # one pass per Lines sheet
            names.append(_lines_name(len(names) + 1))
            # Summary is sheet1 and first in the workbook, but written last: its totals
            # are only known once the rows are through.
            with zf.open(f"xl/worksheets/sheet{len(names) + 1}.xml", "w",
                         force_zip64=True) as fh:
                write = fh.write
                write(_LINES_START.encode())
                sheet_rows = 0
                exhausted = False
                while sheet_rows < limit:
                    # A batch ends at a chunk, a progress point or the sheet's end,
                    # so none of them needs a check per row.
                    n = min(_CHUNK, every - count % every, limit - sheet_rows)
                    first = sheet_rows + 2  # row 1 is the header
                    buf: list[str] = []
                    append = buf.append
                    for r, (order_id, number, day, customer, status, product, qty, price,
                            disc_rate, disc, net, tax_rate, tax, gross) in zip(
                                range(first, first + n), it, strict=False):
                        # Rows come together by order: the order's cells are rendered once.
                        if (order_id != last_id or number != last_number or day != last_date
                                or customer != last_customer or status != last_status):
                            if order_id != last_id:
                                orders += 1
                            date = date_cells.get(day)
                            if date is None:
                                if len(date_cells) >= _SMALL_CACHE_MAX:
                                    date_cells.clear()
                                # dt.date's own subtraction: a datetime counts as its day
                                serial = dt.date.toordinal(day) - date_epoch.toordinal()
                                date = date_cells[day] = f'<c s="{_S_DATE}"><v>{serial}</v></c>'
                            if len(text_cells) >= _TEXT_CACHE_MAX:
                                text_cells.clear()
                            o = text_cells.get(number)
                            if o is None:
                                o = text_cells[number] = text_cell(number)
                            c = text_cells.get(customer)
                            if c is None:
                                c = text_cells[customer] = text_cell(customer)
                            s = text_cells.get(status)
                            if s is None:
                                s = text_cells[status] = text_cell(status)
                            head = f"<c><v>{order_id}</v></c>{o}{date}{c}{s}"
                            last_id, last_number, last_date = order_id, number, day
                            last_customer, last_status = customer, status
                        p = text_cells.get(product)
                        if p is None:
                            if len(text_cells) >= _TEXT_CACHE_MAX:
                                text_cells.clear()
                            p = text_cells[product] = text_cell(product)
                        q = qty_cells.get(qty)
                        if q is None:
                            if len(qty_cells) >= _SMALL_CACHE_MAX:
                                qty_cells.clear()
                            q = qty_cells[qty] = f'<c s="{integer}"><v>{int(qty)}</v></c>'
                        dr = rate_cells.get(disc_rate)
                        if dr is None:
                            if len(rate_cells) >= _SMALL_CACHE_MAX:
                                rate_cells.clear()
                            dr = rate_cells[disc_rate] = f"<c><v>{_rate(disc_rate)}</v></c>"
                        tr = rate_cells.get(tax_rate)
                        if tr is None:
                            tr = rate_cells[tax_rate] = f"<c><v>{_rate(tax_rate)}</v></c>"
                        units += qty
                        discount += disc
                        net_sum += net
                        tax_sum += tax
                        gross_sum += gross
                        # str(Decimal) is exact and 3x faster than format(); it is
                        # never "NaN"/"Infinity" for money read from NUMERIC(12, 2).
                        append(f'<row r="{r}">{head}{p}{q}<c s="3"><v>{price!s}</v></c>{dr}'
                               f'<c s="3"><v>{disc!s}</v></c><c s="3"><v>{net!s}</v></c>{tr}'
                               f'<c s="3"><v>{tax!s}</v></c><c s="3"><v>{gross!s}</v></c></row>')
                    got = len(buf)
                    if got:
                        write("".join(buf).encode())
                        sheet_rows += got
                        count += got
                        if progress is not None and count % every == 0:
                            progress(count)
                    if got < n:
                        exhausted = True
                        break
                if not exhausted:
                    # Full: this is the last sheet unless another row exists.
                    nxt = next(it, None)
                    if nxt is None:
                        exhausted = True
                    else:
                        it = chain((nxt,), it)
                if exhausted:
                    totals = LineTotals(orders=orders, lines=count, units=units,
                                        discount=discount, net=net_sum, tax=tax_sum,
                                        gross=gross_sum)
                    write(_totals_row(sheet_rows + 3, totals).encode())  # a blank row between
                write(f"</sheetData><autoFilter ref=\"A1:{_LAST_COL}{sheet_rows + 1}\"/>"
                      f"{_SHEET_END}".encode())
            # The workbook's sheet index (Summary is 0) of this Lines sheet.
            filters[len(names)] = f"$A$1:${_LAST_COL}${sheet_rows + 1}"
            if exhausted:
                break

        names.insert(0, "Summary")
        zf.writestr("xl/worksheets/sheet1.xml", _summary_xml(meta, totals).encode())
        zf.writestr("xl/workbook.xml", _workbook_xml(names, filters).encode())
        zf.writestr("xl/_rels/workbook.xml.rels", _workbook_rels(len(names)).encode())
        zf.writestr("xl/styles.xml", _styles_xml(meta.currency).encode())
        zf.writestr("[Content_Types].xml", _content_types(len(names)).encode())
        zf.writestr("_rels/.rels", _ROOT_RELS.encode())
        zf.writestr("docProps/core.xml", _core_xml(meta).encode())
        zf.writestr("docProps/app.xml", _app_xml(names).encode())

    if progress is not None and (count == 0 or count % every):
        progress(count)  # final call, unless the last periodic call already said it
    return count
