"""Hostile names in CSV reports, opened by a real spreadsheet (headless
LibreOffice) with ",", ";" and tab as separator: whichever separator the
reader picks, no cell of either CSV style comes out as a formula.

The files are the report task's own (run_job on PostgreSQL): straight from
COPY for names a form can save, and from the Python writer, COPY's fallback,
for names holding a line break (only a bulk load behind validation's back
gets them in). A file written without the guard is opened the same way and
must show formulas: that proves the import options evaluate them, so the
guarded files' lack of formulas means something."""
from __future__ import annotations

import csv
import datetime as dt
import shutil
import subprocess
from decimal import Decimal
from pathlib import Path

import openpyxl
import pytest
from flask import current_app

from tasks.generators.csv_report import HEADER, neutralise, write_csv
from tasks.reports import _meta, run_job
from tasks.rows import stream_rows
from tests.conftest import _empty_tables, make_user, workspace_of
from webapp.extensions import db
from webapp.models import Customer, Order, OrderItem, OrderStatus, ReportFormat, ReportJob
from webapp.reports import services

# What an attacker types as a customer or product name. The results of the
# formulas marked "unique" cannot be an id, a quantity or an amount of ours.
NAMES = [
    "Z;=2*21;", "P,=3*14,", "a\t=1+1", '=HYPERLINK("http://example.com";"x")', "+1", "-1+2",
    "@SUM(1)", "Q;=7*1001;", "R,=3*3001,", "t\t=4000+4", "Tea; \u200b=2*2", "A,\uff1d5*5",
    "Plain Tea",
]
NAMES_WITH_BREAKS = ["x\n=1+2", "n\n=5000+5", "c\r=6000+6", "y\r\n@SUM(1)", "Tea\nCo"]
UNIQUE_RESULTS = {7007, 9003, 4004, 5005, 6006}
SEPARATORS = {",": 44, ";": 59, "tab": 9}


@pytest.fixture
def pg_app(pg_app_session):
    _empty_tables(pg_app_session)
    with pg_app_session.app_context():
        yield pg_app_session
        db.session.remove()


@pytest.fixture
def copy_results(monkeypatch) -> list:
    """What each of the task's calls of copy_csv returned (None: it gave way
    to the Python writer)."""
    import tasks.reports as task

    results: list = []
    real = task.copy_csv

    def spy(*args, **kwargs):
        results.append(real(*args, **kwargs))
        return results[-1]

    monkeypatch.setattr(task, "copy_csv", spy)
    return results


def _report(email: str, names: list[str], decimal_comma: bool, copy_results: list) -> Path:
    """The task's CSV (for Excel, with or without the decimal comma) of a
    summary over orders named `names`, each name also a product."""
    owner = make_user(email)
    owner.csv_excel, owner.csv_decimal_comma = True, decimal_comma
    when = dt.datetime(2026, 11, 26, 12, tzinfo=dt.UTC)
    for n, name in enumerate(names):
        # straight into the tables, past the names' validation: each name as it is
        customer = Customer(workspace_id=workspace_of(owner), name=name, name_key=f"name {n}")
        order = Order(workspace_id=customer.workspace_id, customer_record=customer, customer=name,
                      number=f"SO-{n + 1:06d}", order_date=when.date(),
                      status=OrderStatus.COMPLETED, created_at=when + dt.timedelta(seconds=n))
        order.items = [OrderItem(product=product, quantity=1, unit_price=Decimal("1.25"))
                       for product in (name, names[-n - 1])]
        order.recompute_totals()
        db.session.add(order)
    db.session.commit()
    job, _ = services.request_summary_report(owner, when.date(), when.date(), None,
                                             ReportFormat.CSV)
    before = len(copy_results)
    assert run_job(job.id) == "completed"
    db.session.expire_all()
    job = db.session.get(ReportJob, job.id)
    path = Path(current_app.config["REPORTS_DIR"]) / job.file_name
    # the task's file is the Python writer's, byte for byte, whichever wrote it
    python = path.with_name("python-" + path.name)
    write_csv(stream_rows(db.engine, job), _meta(job), python)
    assert path.read_bytes() == python.read_bytes()
    assert len(copy_results) == before + 1
    return path


def _unguarded(guarded: Path, out: Path, decimal_comma: bool) -> Path:
    """`guarded` as it would be without any guard: every ' the guard added
    taken out again (the names hold none of their own), quoted like csv.writer."""
    sep = ";" if decimal_comma else ","
    with open(guarded, encoding="utf-8-sig", newline="") as fh:
        records = list(csv.reader(fh, delimiter=sep))
    with open(out, "w", encoding="utf-8", newline="") as fh:
        csv.writer(fh, delimiter=sep, lineterminator="\r\n").writerows(
            [cell.replace("'", "") for cell in record] for record in records)
    return out


def _open_in_libreoffice(paths: list[Path], outdir: Path, separator: str) -> dict[str, list]:
    """Each CSV imported with `separator` and formulas evaluated, saved as
    XLSX and read back: {file stem: [openpyxl cells]}.

    Like tests/generators/test_xlsx_report.py's soffice(), plus the CSV import
    options, for all files in one run (a start of LibreOffice is ~1 s)."""
    exe = shutil.which("soffice") or shutil.which("libreoffice")
    # Not a skip: without LibreOffice the guard is not proven against a spreadsheet.
    assert exe, "LibreOffice is missing: apt-get install libreoffice-calc-nogui"
    profile = outdir / "lo-profile"  # a private profile: another soffice may be running
    # tokens: separator, " quotes, UTF-8, from line 1, no column types, default
    # language, quoted fields not forced to text, detect special numbers, then
    # four export-only tokens, and 13: evaluate formulas (what a user's
    # spreadsheet may well do)
    options = f"{SEPARATORS[separator]},34,76,1,,0,false,true,false,false,false,-1,true"
    done = subprocess.run(
        [exe, f"-env:UserInstallation={profile.as_uri()}", "--headless", "--norestore",
         f"--infilter=CSV:{options}", "--convert-to", "xlsx", "--outdir", str(outdir),
         *map(str, paths)],
        capture_output=True, text=True, timeout=180, check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "Error" not in done.stderr, done.stderr
    sheets = {}
    for path in paths:
        book = openpyxl.load_workbook(outdir / f"{path.stem}.xlsx")  # formulas, not values
        sheets[path.stem] = [cell for row in book.active.iter_rows() for cell in row]
    return sheets


def _formulas(cells) -> list:
    return [cell.value for cell in cells if cell.data_type == "f"]


@pytest.mark.parametrize("separator", SEPARATORS)
def test_libreoffice_computes_no_formula_in_either_csv_style_whatever_the_separator(
        pg_app, sent, copy_results, tmp_path, separator):
    files = {}
    for style, comma in (("comma", False), ("semicolon", True)):
        files[f"{style}-copy"] = _report(f"{style}-copy@example.com", NAMES, comma,
                                         copy_results)
        assert copy_results[-1] is not None  # written by COPY
        files[f"{style}-fallback"] = _report(f"{style}-breaks@example.com",
                                             NAMES + NAMES_WITH_BREAKS, comma, copy_results)
        assert copy_results[-1] is None  # COPY gave way to the Python writer
    # names of our own (the task's are random), and an unguarded twin of each style
    inputs = [shutil.copyfile(path, tmp_path / f"{name}.csv") for name, path in files.items()]
    inputs += [_unguarded(tmp_path / f"{style}-copy.csv", tmp_path / f"{style}-unguarded.csv",
                          comma) for style, comma in (("comma", False), ("semicolon", True))]

    sheets = _open_in_libreoffice(inputs, tmp_path / "out", separator)

    for style in ("comma", "semicolon"):
        assert _formulas(sheets[f"{style}-unguarded"]), "the import did not evaluate formulas"
        for path in ("copy", "fallback"):
            cells = sheets[f"{style}-{path}"]
            assert _formulas(cells) == [], (style, path)
            assert [c.value for c in cells if c.data_type == "e"] == [], (style, path)
            assert UNIQUE_RESULTS.isdisjoint(c.value for c in cells), (style, path)


@pytest.mark.parametrize("style", ["comma", "semicolon"])
def test_libreoffice_reads_guarded_names_as_the_text_with_an_apostrophe(
        pg_app, sent, copy_results, tmp_path, style):
    comma = style == "semicolon"
    path = shutil.copyfile(_report(f"{style}@example.com", NAMES, comma, copy_results),
                           tmp_path / f"{style}.csv")
    assert copy_results == [len(NAMES) * 2]  # written by COPY

    cells = _open_in_libreoffice([path], tmp_path / "out", ";" if comma else ",")[style]

    width = len(HEADER)  # the CSV's columns, one row per line item
    customers = [cell.value for cell in cells[width + HEADER.index("customer")::width]]
    assert customers == [neutralise(name) for name in NAMES for _ in range(2)]
