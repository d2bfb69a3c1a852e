"""CSV straight from PostgreSQL: `COPY (SELECT …) TO STDOUT WITH CSV`, with
every cell formatted in SQL exactly as generators/csv_report.write_csv formats
it (same header, ISO dates, 2-decimal money, percentages without trailing
zeros, the formula-injection guard, the same quotes), so both paths give
byte-identical files; a test holds them to that.

COPY itself can only quote for its own separator, and write_csv quotes a text
cell that holds either style's separator (csv_report.QUOTED_CHARS). So the
SELECT quotes the text cells itself, and COPY is told to separate cells with
CELL_SEP and quote with COPY_QUOTE, two control characters that validation
keeps out of names: COPY then passes every cell through as it is, and CELL_SEP
becomes the file's separator on the way to the file. Should COPY quote a cell
after all (a cell holding one of the two, or a line break, or an empty text),
the file cannot be trusted and the caller falls back to the Python writer.

COPY ends lines with LF; RFC 4180 wants CRLF, so LF becomes CRLF on the way to
the file. That is only right while no cell holds a line break: validation
folds them away, and if one ever slips in, COPY quotes that cell (see above).
The same fallback when the rows are not as many as the caller counted."""
from __future__ import annotations

import logging
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from tasks.generators import PROGRESS_EVERY, Progress, ReportMeta
from tasks.generators.csv_report import (
    BOM,
    GUARD_PATTERN,
    HEADER,
    QUOTED_PATTERN,
    SUSPECT_PATTERN,
)
from tasks.rows import SHIPPING
from webapp.models import Order, OrderItem, ReportJob, ReportKind
from webapp.reports.params import params_of

log = logging.getLogger(__name__)

BATCH = 1000  # COPY rows joined before they are counted, converted and written


# two control characters that validation refuses in names (orders/validation.py)
CELL_SEP = b"\x1f"  # ASCII unit separator
COPY_QUOTE = b"\x1e"  # ASCII record separator


def _write(out, chunks: list, sep: bytes) -> bool:
    """Write the COPY rows in `chunks` with `sep` between cells and CRLF line
    ends; returns whether COPY quoted a cell (then the file is unusable)."""
    data = b"".join(chunks)
    out.write(data.replace(CELL_SEP, sep).replace(b"\n", b"\r\n"))
    return COPY_QUOTE in data


def _text_cell(column):
    """SQL twin of csv_report.text_cell: a ' before each piece a spreadsheet
    would run as a formula (GUARD_PATTERN, in both), then the cell in double
    quotes if it holds a QUOTED_CHARS (QUOTED_PATTERN).

    Most names need neither: one regular expression match (SUSPECT_PATTERN,
    as text_cell does first) lets them through as they are. It costs ~0.15 µs
    a cell more than the old test of the first character alone (0.25 µs
    against 0.13 µs measured over 1M names), so a COPY of 300k line items
    takes ~0.05-0.1 s longer; the client's work is the same."""
    guarded = sa.func.regexp_replace(column, sa.literal(GUARD_PATTERN), sa.literal("'"),
                                     sa.literal("g"))
    # the guard only adds ', so whether to quote can be asked of the column
    quoted = sa.case(
        (column.regexp_match(sa.literal(QUOTED_PATTERN)),
         sa.literal('"') + sa.func.replace(guarded, sa.literal('"'), sa.literal('""'))
         + sa.literal('"')),
        else_=guarded)
    return sa.case((column.regexp_match(sa.literal(SUSPECT_PATTERN)), quoted), else_=column)


def formatted_select(job: ReportJob, meta: ReportMeta) -> sa.Select:
    """The rows of rows_select(job), in its order, formatted as write_csv writes them.

    An order's own cells (id, number, date, customer, status) repeat on each
    of its rows; they are formatted once per order in a subquery over the
    orders, then joined to the items (and, for an order that charges
    shipping, followed by its shipping row): to_char and the guard run per
    order instead of per line item (100 items per order in the benchmark:
    COPY of its 1M rows took ~1.4 s instead of ~2.4 s). The subquery's ORDER
    BY keeps PostgreSQL from flattening it, so its cells are not recomputed
    per joined row."""
    summary = job.kind is ReportKind.SUMMARY
    first = Order.order_date if summary else Order.id
    orders = (sa.select(Order.id, first.label("k1"),
                        _text_cell(Order.number).label("number"),
                        sa.func.to_char(Order.order_date, "YYYY-MM-DD").label("order_date"),
                        _text_cell(Order.customer).label("customer"),
                        _text_cell(sa.type_coerce(Order.status, sa.String)).label("status"),
                        Order.shipping, Order.shipping_tax_rate, Order.shipping_net,
                        Order.shipping_tax)
              .where(*params_of(job).where(job.workspace_id))
              .order_by(first, Order.id)
              .subquery("o"))
    comma = meta.csv_excel and meta.decimal_comma

    def money(value):
        text = sa.cast(value, sa.Text)
        return sa.func.replace(text, ".", ",") if comma else text

    def percent(value):
        text = sa.cast(sa.func.trim_scale(value), sa.Text)
        return sa.func.replace(text, ".", ",") if comma else text

    def zero():
        return money(sa.cast(sa.literal_column("0"), sa.Numeric(12, 2)))

    currency = sa.literal(meta.currency, sa.Text)
    head = (orders.c.id, orders.c.number, orders.c.order_date, orders.c.customer,
            orders.c.status)
    items = (sa.select(*head, _text_cell(OrderItem.product), OrderItem.quantity,
                       money(OrderItem.unit_price), percent(OrderItem.discount_rate),
                       money(OrderItem.discount), money(OrderItem.net),
                       percent(OrderItem.tax_rate), money(OrderItem.tax),
                       money(OrderItem.gross), currency,
                       orders.c.k1, sa.literal_column("0").label("k2"),
                       OrderItem.id.label("k3"))
             .select_from(orders.join(OrderItem, OrderItem.order_id == orders.c.id)))
    gross = orders.c.shipping_net + orders.c.shipping_tax
    shipping = (sa.select(*head, sa.literal(SHIPPING, sa.Text), sa.literal_column("1"),
                          money(orders.c.shipping), percent(sa.literal_column("0")),
                          zero(), money(orders.c.shipping_net),
                          percent(orders.c.shipping_tax_rate), money(orders.c.shipping_tax),
                          money(gross), currency,
                          orders.c.k1, sa.literal_column("1"), sa.literal_column("0"))
                .where(gross != 0))
    both = sa.union_all(items, shipping).subquery("r")
    columns = list(both.c)
    # labelled with the CSV header, which COPY's HEADER option writes
    return (sa.select(*(column.label(name) for column, name
                        in zip(columns[:len(HEADER)], HEADER, strict=True)))
            .order_by(columns[-3], columns[0], columns[-2], columns[-1]))


def copy_csv(engine: Engine, job: ReportJob, meta: ReportMeta, path: Path,
             expected_rows: int, progress: Progress = None) -> int | None:
    """Write the job's CSV with COPY; return the row count, or None when the
    result cannot be trusted to match write_csv (then nothing usable is left)."""
    compiled = formatted_select(job, meta).compile(
        dialect=engine.dialect, compile_kwargs={"render_postcompile": True})
    sep = b";" if meta.csv_excel and meta.decimal_comma else b","
    sql = (f"COPY ({compiled}) TO STDOUT WITH (FORMAT csv, HEADER, "
           f"DELIMITER E'\\x{CELL_SEP[0]:02x}', QUOTE E'\\x{COPY_QUOTE[0]:02x}')")
    rows = 0
    next_report = PROGRESS_EVERY
    with engine.connect() as conn, open(path, "wb") as out:
        if meta.csv_excel:
            out.write(BOM.encode())
        with conn.connection.driver_connection.cursor() as cursor, \
                cursor.copy(sql, compiled.params) as copy:
            # libpq hands over one row per chunk: converting, counting and
            # writing each one cost 40% more client CPU than a bare COPY
            # loop; per batch of joined rows it costs about what that loop does
            chunks = iter(copy)
            quoted = _write(out, [next(chunks)], sep)  # the header (COPY's HEADER option)
            batch: list = []
            for chunk in chunks:
                batch.append(chunk)
                if len(batch) == BATCH:
                    quoted |= _write(out, batch, sep)
                    rows += BATCH
                    batch.clear()
                    if progress is not None and rows >= next_report:
                        next_report = rows + PROGRESS_EVERY
                        progress(rows)
            quoted |= _write(out, batch, sep)
            rows += len(batch)
        conn.rollback()
    if quoted:
        log.warning("COPY had to quote a cell of job %s (a line break, an empty text or a "
                    "control character in it); writing it with the Python writer", job.id)
        return None
    if rows != expected_rows:
        log.warning("COPY gave %s rows for %s expected (an item count off, or rows that "
                    "changed meanwhile); writing job %s with the Python writer", rows,
                    expected_rows, job.id)
        return None
    if progress is not None:
        progress(rows)
    return rows
