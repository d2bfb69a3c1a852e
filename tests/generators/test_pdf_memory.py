"""PDF generator memory: peak RSS must not grow with the number of rows.

Each size runs in a fresh interpreter (the high-water mark, VmHWM, only ever
goes up), fed by a generator so that the rows themselves are never held.
Before pages were spilled, fpdf2 kept ~0.36 KB of page content per row
(+25 MB between these two sizes, and the whole file once more at output time);
now the difference is a few MB of caches.
"""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from pypdf import PdfReader

ROOT = Path(__file__).resolve().parents[2]
SMALL, LARGE = 5_000, 75_000
MAX_GROWTH_MB = 12

SCRIPT = r"""
import datetime as dt, json, sys
from decimal import Decimal
from tasks.generators import ReportMeta, Row
from webapp.enums import ReportKind
from tasks.generators.pdf import write_pdf

NAMES = ["ACME Corporation", "Café crème SARL", "Ελληνικά Τρόφιμα", "日本茶センター", "Привет"]

def rows(n):
    day = dt.date(2025, 3, 1)
    rate = Decimal("19.000")
    for i in range(n):
        order = i // 40 + 1
        price = Decimal(f"{(i * 7919) % 50_000 + 50}") / 100
        qty = i % 7 + 1
        product = f"日本茶 {i % 211} g" if i % 31 == 0 else f"Product {i % 997} – blue"
        net = price * qty
        tax = (net * rate / 100).quantize(Decimal("0.01"))
        yield Row(order, f"SO-{order:06d}", day + dt.timedelta(days=order),
                  NAMES[order % len(NAMES)], "completed", product, qty, price,
                  Decimal("0.000"), Decimal("0.00"), net, rate, tax, net + tax)

def hwm_mb():
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024

n, path = int(sys.argv[1]), sys.argv[2]
written = write_pdf(rows(n), ReportMeta(kind=ReportKind.SUMMARY, title="Memory check"), path)
print(json.dumps({"rows": written, "hwm_mb": hwm_mb()}))
"""


def run(n: int, path: Path) -> dict:
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT, str(n), str(path)],
        cwd=ROOT, capture_output=True, text=True, timeout=120, check=False,
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.splitlines()[-1])


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="needs Linux /proc")
def test_peak_memory_does_not_grow_with_the_row_count(tmp_path):
    small = run(SMALL, tmp_path / "small.pdf")
    large = run(LARGE, tmp_path / "large.pdf")

    assert (small["rows"], large["rows"]) == (SMALL, LARGE)
    growth = large["hwm_mb"] - small["hwm_mb"]
    assert growth < MAX_GROWTH_MB, (
        f"peak RSS {small['hwm_mb']:.1f} MB at {SMALL:,} rows, "
        f"{large['hwm_mb']:.1f} MB at {LARGE:,} rows"
    )
    # The large file is complete and valid, and numbered with the final page count.
    reader = PdfReader(tmp_path / "large.pdf", strict=True)
    n = len(reader.pages)
    assert n > 1500
    assert f"Page 1 of {n}" in reader.pages[0].extract_text()
    last = reader.pages[-1].extract_text()
    assert f"Page {n} of {n}" in last
    assert f"Rows: {LARGE:,} (line items and shipping)" in last
    assert "日本茶" in reader.pages[n // 2].extract_text()
    # Only the report is left behind: the page spill file was anonymous.
    assert sorted(p.name for p in tmp_path.iterdir()) == ["large.pdf", "small.pdf"]
