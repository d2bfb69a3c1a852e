"""XLSX generator benchmark: `.venv/bin/python -m bench.xlsx --rows 100000`.

Times tasks.generators.xlsx_report.write_xlsx against xlsxwriter
(``constant_memory``) and openpyxl (``write_only``) on the same in-memory rows
in the same run (median of --repeat runs each, interleaved), then measures the
peak RSS of each writer in a fresh subprocess fed by a row generator (so the
rows themselves are not held). No database: the rows are synthetic, shaped like
bench/data.py's (its name pools and prices, 100 items per order, 2025 dates).

The references write the same workbook content as ours: the same columns,
numbers as numbers, local dates with a date-time format, money with the
currency format, a bold header, a frozen header row and an autofilter; they
get the same per-datetime cache for the zone conversion, so what is compared
is the writing. They do not write the Summary sheet (ours does: a few rows)."""
from __future__ import annotations

import argparse
import datetime as dt
import json
import math
import random
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from zoneinfo import ZoneInfo

from .common import DATE_FROM, DATE_TO, ITEMS_PER_ORDER, ROOT, parse_size
from .data import _catalog, _customers

TARGET = 1.6  # ours rows/s >= 1.6 x xlsxwriter constant_memory rows/s
ZONE = "Europe/Berlin"
CURRENCY = "USD"
HEADER = ("Order", "Order date", "Customer", "Status", "Product", "Quantity", "Unit price",
          "Line total", "Currency")
WRITERS = ("ours", "xlsxwriter", "openpyxl")


def iter_rows(n: int, seed: int = 20251):
    """Row tuples like bench/data.py's data, as the task streams them (UTC, naive)."""
    from tasks.generators import Row

    rng = random.Random(seed)
    customers = _customers(rng)
    catalog = _catalog(rng)
    n_orders = math.ceil(n / ITEMS_PER_ORDER)
    start = dt.datetime.combine(DATE_FROM, dt.time())
    step = ((DATE_TO - DATE_FROM).days + 1) * 86400 / n_orders
    left = n
    for k in range(n_orders):
        when = start + dt.timedelta(seconds=int(step * k + rng.random() * step * 0.9))
        customer = rng.choice(customers)
        for _ in range(min(ITEMS_PER_ORDER, left)):
            product, price = rng.choice(catalog)
            qty = min(10_000, int(rng.paretovariate(1.5)))
            yield Row(k + 1, when, customer, "completed", product, qty, price, price * qty)
        left -= ITEMS_PER_ORDER


def _local_cache(zone):
    cache: dict[dt.datetime, dt.datetime] = {}

    def local(when: dt.datetime) -> dt.datetime:
        value = cache.get(when)
        if value is None:
            value = cache[when] = (when.replace(tzinfo=dt.UTC).astimezone(zone)
                                   .replace(tzinfo=None))
        return value

    return local


def write_ours(rows, path: Path) -> int:
    from tasks.generators import ReportMeta
    from tasks.generators.xlsx_report import write_xlsx
    from webapp.enums import ReportKind

    meta = ReportMeta(kind=ReportKind.SUMMARY, title="Bench", timezone=ZONE, currency=CURRENCY)
    return write_xlsx(rows, meta, path, progress=lambda done: None)


def write_xlsxwriter(rows, path: Path) -> int:
    import xlsxwriter

    local = _local_cache(ZoneInfo(ZONE))
    wb = xlsxwriter.Workbook(str(path), {"constant_memory": True})
    ws = wb.add_worksheet("Lines")
    bold = wb.add_format({"bold": True})
    date_f = wb.add_format({"num_format": "yyyy-mm-dd hh:mm:ss"})
    money_f = wb.add_format({"num_format": f'#,##0.00 "{CURRENCY}"'})
    int_f = wb.add_format({"num_format": "#,##0"})
    ws.freeze_panes(1, 0)
    for col, width in enumerate((9, 19, 30, 11, 42, 9, 14, 14, 9)):
        ws.set_column(col, col, width)
    ws.write_row(0, 0, HEADER, bold)
    num, date, text = ws.write_number, ws.write_datetime, ws.write_string
    r = 0
    for order_id, when, customer, status, product, qty, price, total in rows:
        r += 1
        num(r, 0, order_id)
        date(r, 1, local(when), date_f)
        text(r, 2, customer)
        text(r, 3, status)
        text(r, 4, product)
        num(r, 5, qty, int_f)
        num(r, 6, price, money_f)
        num(r, 7, total, money_f)
        text(r, 8, CURRENCY)
    ws.autofilter(0, 0, r, len(HEADER) - 1)
    wb.close()
    return r


def write_openpyxl(rows, path: Path) -> int:
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Font

    local = _local_cache(ZoneInfo(ZONE))
    wb = Workbook(write_only=True)
    ws = wb.create_sheet("Lines")
    ws.freeze_panes = "A2"
    for letter, width in zip("ABCDEFGHI", (9, 19, 30, 11, 42, 9, 14, 14, 9), strict=True):
        ws.column_dimensions[letter].width = width
    bold = Font(bold=True)
    header = []
    for title in HEADER:
        cell = WriteOnlyCell(ws, title)
        cell.font = bold
        header.append(cell)
    ws.append(header)
    money = f'#,##0.00 "{CURRENCY}"'

    def styled(value, fmt):
        cell = WriteOnlyCell(ws, value)
        cell.number_format = fmt
        return cell

    r = 0
    append = ws.append
    for order_id, when, customer, status, product, qty, price, total in rows:
        r += 1
        append([order_id, styled(local(when), "yyyy-mm-dd hh:mm:ss"), customer, status, product,
                styled(qty, "#,##0"), styled(price, money), styled(total, money), CURRENCY])
    ws.auto_filter.ref = f"A1:I{r + 1}"
    wb.save(str(path))
    return r


WRITE = {"ours": write_ours, "xlsxwriter": write_xlsxwriter, "openpyxl": write_openpyxl}


def timed(name: str, rows, path: Path) -> dict:
    t0 = time.perf_counter()
    written = WRITE[name](rows, path)
    seconds = time.perf_counter() - t0
    assert written == len(rows), (name, written)
    return {"seconds": seconds, "bytes": path.stat().st_size}


def child(name: str, n: int, path: Path) -> dict:
    """One writer over streamed rows in this (fresh) process: peak RSS and time."""
    if name != "none":  # imports are not part of the work
        WRITE[name]([], path)
    t0 = time.perf_counter()
    # "none" is the floor: building and consuming the rows, no writing
    write = WRITE.get(name, lambda rows, _path: sum(1 for _ in rows))
    written = write(iter_rows(n), path)
    return {"rows": written, "seconds": time.perf_counter() - t0, "maxrss_mb": _hwm_mb()}


def _hwm_mb() -> float:
    # VmHWM, not getrusage's ru_maxrss: Linux carries ru_maxrss over from the
    # parent across fork + exec, so every child would report this process's peak.
    try:
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def run_child(name: str, n: int, path: Path) -> dict:
    done = subprocess.run(
        [sys.executable, "-m", "bench.xlsx", "--child", name, "--rows", str(n),
         "--out", str(path)],
        cwd=ROOT, capture_output=True, text=True, timeout=1800, check=False,
    )
    if done.returncode:
        raise RuntimeError(f"{name} child failed:\n{done.stderr}")
    return json.loads(done.stdout.splitlines()[-1])


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--rows", type=parse_size, default=100_000, help="e.g. 100000, 100k, 1M")
    p.add_argument("--repeat", type=int, default=3, help="timed runs of each writer (median)")
    p.add_argument("--writers", default=",".join(WRITERS),
                   help="comma-separated subset of " + ",".join(WRITERS))
    p.add_argument("--skip-rss", action="store_true", help="skip the peak-RSS subprocesses")
    p.add_argument("--child", choices=(*WRITERS, "none"), help=argparse.SUPPRESS)
    p.add_argument("--out", type=Path, help=argparse.SUPPRESS)
    args = p.parse_args(argv)

    if args.child:
        print(json.dumps(child(args.child, args.rows, args.out)))
        return 0

    writers = [w.strip() for w in args.writers.split(",") if w.strip()]
    if "ours" not in writers or "xlsxwriter" not in writers:
        p.error("--writers needs at least ours and xlsxwriter (the target compares them)")
    n = args.rows
    print(f"building {n:,} rows ...", flush=True)
    rows = list(iter_rows(n))
    results: dict[str, list[dict]] = {w: [] for w in writers}
    with tempfile.TemporaryDirectory(prefix="bench-xlsx-") as tmp:
        for name in writers:  # warm-up: imports and first-call costs, untimed
            WRITE[name](rows[:1000], Path(tmp) / f"warm-{name}.xlsx")
        for i in range(args.repeat):
            for name in writers:  # interleaved, so a noisy moment hits all writers alike
                run = timed(name, rows, Path(tmp) / f"{name}.xlsx")
                results[name].append(run)
                print(f"  run {i + 1}/{args.repeat} {name:<10} {run['seconds']:7.3f} s",
                      flush=True)
        rss = {}
        if not args.skip_rss:
            del rows
            for name in ("none", *writers):
                rss[name] = run_child(name, n, Path(tmp) / f"rss-{name}.xlsx")

    print(f"\n{n:,} rows, median of {args.repeat} (Python {sys.version.split()[0]})")
    print(f"{'writer':<26}{'seconds':>9}{'rows/s':>11}{'MB':>8}{'peak RSS MB':>13}")
    label = {"ours": "ours (write_xlsx)", "xlsxwriter": "xlsxwriter constant_memory",
             "openpyxl": "openpyxl write_only"}
    rate = {}
    for name in writers:
        seconds = statistics.median(r["seconds"] for r in results[name])
        rate[name] = n / seconds
        peak = f"{rss[name]['maxrss_mb']:.1f}" if name in rss else "-"
        print(f"{label[name]:<26}{seconds:9.3f}{rate[name]:11,.0f}"
              f"{results[name][0]['bytes'] / 1e6:8.1f}{peak:>13}")
    if rss:
        print(f"{'(rows alone, no writer)':<26}{rss['none']['seconds']:9.3f}{'':>11}{'':>8}"
              f"{rss['none']['maxrss_mb']:13.1f}")
    ratio = rate["ours"] / rate["xlsxwriter"]
    verdict = "PASS" if ratio >= TARGET else "FAIL"
    print(f"\nours / xlsxwriter = {ratio:.2f}x (target >= {TARGET}x): {verdict}")
    if "openpyxl" in rate:
        print(f"ours / openpyxl   = {rate['ours'] / rate['openpyxl']:.2f}x")
    return 0 if verdict == "PASS" else 1


if __name__ == "__main__":
    sys.exit(main())
