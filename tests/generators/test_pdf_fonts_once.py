"""The PDF fonts are parsed once per process (tasks/generators/pdf/fonts.py), and
what that changes is only the time: the bytes stay fpdf2's own.

* a second document in a process opens no TTF file and runs none of fpdf2's or
  fontTools' parsing (observed: an audit hook sees every ``open()``, cProfile
  counts every call; both in a fresh interpreter, so the first document is the
  process's first);
* after :func:`tasks.generators.pdf.preload` (what the Celery worker does in its
  prefork parent), a forked child writes the very bytes its parent writes, and
  those of a fresh interpreter that never preloaded, and parses nothing;
* a document made with the parsed-once fonts is byte for byte the document fpdf2
  makes with its own ``add_font()``, on random text, twice in a row (the shared
  parse is not changed by subsetting), CJK fallback included.
"""
from __future__ import annotations

import datetime as dt
import json
import os
import random
import subprocess
import sys
from pathlib import Path

import pytest
from fpdf import FPDF

from tasks.generators.pdf import fonts
from tests.generators.test_order_document import pages_text
from tests.generators.test_pdf_bytes import stable

ROOT = Path(__file__).resolve().parents[2]
HASH_SEED = "0"  # glyph ids follow the order characters are learned in (a set's)

# -- run in a fresh interpreter by the tests: `python <this file> <mode> <folder>` ----------

def _parsers() -> dict[str, tuple[str, int, str]]:
    """What parsing a font file runs: fpdf2's font object, fontTools' big tables
    (as cProfile names them: file, first line, function)."""
    from fontTools.ttLib.tables import _c_m_a_p, _g_l_y_f, _h_m_t_x, _p_o_s_t
    from fpdf.fonts import TTFFont

    found = {"TTFFont.__init__": TTFFont.__init__,
             "glyf.decompile": _g_l_y_f.table__g_l_y_f.decompile,
             "post.decompile": _p_o_s_t.table__p_o_s_t.decompile,
             "cmap.decompile": _c_m_a_p.table__c_m_a_p.decompile,
             "hmtx.decompile": _h_m_t_x.table__h_m_t_x.decompile}
    return {label: (f.__code__.co_filename, f.__code__.co_firstlineno, f.__code__.co_name)
            for label, f in found.items()}


NOTHING = {"ttf_opened": 0, "calls": dict.fromkeys(
    ["TTFFont.__init__", "glyf.decompile", "post.decompile", "cmap.decompile",
     "hmtx.decompile"], 0)}
_opened: list[str] = []


def _audit(event, args):
    if event == "open" and str(args[0]).lower().endswith(".ttf"):
        _opened.append(str(args[0]))


def _order(number: str, product: str):
    from decimal import Decimal

    from tasks.generators.document import DocumentLine, OrderDocument, Party

    doc = OrderDocument(
        title="Order confirmation", number=number, order_date=dt.date(2026, 11, 3),
        status="Open", seller=Party("ACME Trading GmbH", ("Hauptstraße 1", "10115 Berlin")),
        buyer=Party("Globex Corporation", ("1 Main Street",), "US-42", "buyer@globex.example"),
        currency="EUR", timezone="Europe/Berlin",
        generated_at=dt.datetime(2026, 11, 28, 9, 30, tzinfo=dt.UTC))
    lines = [DocumentLine(product, 3, Decimal("19.99"), Decimal(10), Decimal("6.00"),
                          Decimal(19), Decimal("53.97"), Decimal("10.25"), Decimal("64.22")),
             DocumentLine("Pen", 7, Decimal("0.35"), Decimal(0), Decimal(0), Decimal(19),
                          Decimal("2.45"), Decimal("0.47"), Decimal("2.92"))]
    return doc, lines


def _observed(write) -> dict:
    """Run ``write()``; count the TTF files it opened and the parsing calls it made."""
    import cProfile

    parsers = _parsers()
    del _opened[:]
    profile = cProfile.Profile()
    profile.runcall(write)
    profile.create_stats()
    return {"ttf_opened": len(_opened),
            "calls": {label: profile.stats.get(key, (0,))[0] for label, key in parsers.items()}}


def _two_documents(out: Path) -> dict:
    from tasks.generators.pdf import write_order_document

    result = {}
    for label, number, product in (("first", "SO-1", "Widget"), ("second", "SO-2", "Gadget"),
                                   ("first_cjk", "SO-3", "日本茶 Sencha"),
                                   ("second_cjk", "SO-4", "抹茶 Matcha")):
        doc, lines = _order(number, product)
        result[label] = _observed(lambda d=doc, ls=lines, n=number:
                                  write_order_document(d, ls, out / f"{n}.pdf"))
    return result


def _forked(out: Path) -> dict:
    import gc

    from tasks.generators.pdf import preload, write_order_document

    preload()
    gc.collect()
    gc.freeze()  # as tasks/worker.py does before the pool forks
    doc, lines = _order("SO-9", "Café crème – blue")
    pid = os.fork()
    if pid == 0:  # the child: what a pool child's first PDF job does
        code = 1
        try:
            seen = _observed(lambda: write_order_document(doc, lines, out / "child.pdf"))
            (out / "child.json").write_text(json.dumps(seen))
            code = 0
        finally:
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    write_order_document(doc, lines, out / "parent.pdf")
    return {"child_exit": os.waitstatus_to_exitcode(status),
            "child": json.loads((out / "child.json").read_text())}


def _plain(out: Path) -> dict:
    from tasks.generators.pdf import write_order_document

    doc, lines = _order("SO-9", "Café crème – blue")
    write_order_document(doc, lines, out / "plain.pdf")
    return {}


def _run(mode: str, out: Path) -> dict:
    env = {**os.environ, "PYTHONHASHSEED": HASH_SEED, "PYTHONPATH": str(ROOT)}
    done = subprocess.run([sys.executable, __file__, mode, str(out)], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=180, check=False)
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


# -- the tests --------------------------------------------------------------------------

def test_a_second_document_in_a_process_parses_no_font_again(tmp_path):
    seen = _run("two", tmp_path)

    # the process's first document reads and parses the regular and bold faces...
    assert seen["first"]["calls"]["TTFFont.__init__"] == 2
    assert seen["first"]["calls"]["glyf.decompile"] == 2
    assert seen["first"]["ttf_opened"] >= 2
    # ...the next one neither opens nor parses a font file
    assert seen["second"] == NOTHING
    # the CJK fallback: parsed when text first needs it, then never again
    assert seen["first_cjk"]["calls"]["TTFFont.__init__"] == 1
    assert seen["second_cjk"] == NOTHING
    # and the files are whole: their text reads back
    assert "Gadget" in "".join(pages_text(tmp_path / "SO-2.pdf"))
    assert "抹茶 Matcha" in "".join(pages_text(tmp_path / "SO-4.pdf"))


def test_a_child_forked_after_preloading_writes_the_same_bytes_and_parses_nothing(tmp_path):
    forked = _run("fork", tmp_path)
    _run("plain", tmp_path)

    assert forked["child_exit"] == 0
    assert forked["child"] == NOTHING
    child = stable((tmp_path / "child.pdf").read_bytes())
    assert child == stable((tmp_path / "parent.pdf").read_bytes())
    assert child == stable((tmp_path / "plain.pdf").read_bytes())  # never preloaded


def _random_text(seed: int, n: int) -> str:
    """``n`` distinct printable characters DejaVu Sans has, picked at random."""
    cmap = fonts.parsed_font(fonts.DEFAULT_FONTS_DIR / "DejaVuSans.ttf", fonts.FAMILY,
                             "").proto.cmap
    chars = sorted(chr(c) for c in cmap if chr(c).isprintable() and not chr(c).isspace())
    return "".join(random.Random(seed).sample(chars, n))


TEXTS = {  # (a callable: the random text needs the font, which the subprocesses parse later)
    "latin": lambda: ["Order confirmation SO-000123", "Müller & Söhne – 1,234.50 €"],
    "scripts": lambda: ["Ελληνικά Τρόφιμα ΑΕ", "ООО Ромашка", "Ürün Ticaret A.Ş.",
                        "Ω Ω K Å ﬁ"],  # glyphs with more than one code point
    "random": lambda: [_random_text(1, 120), _random_text(2, 300)],
    "cjk": lambda: ["日本茶センター 東京都千代田区", "Sencha 日本茶 100 g"],
}


def _fpdf2_document(texts: list[str], parsed_once: bool) -> bytes:
    pdf = FPDF()
    pdf.set_creation_date(dt.datetime(2026, 1, 1, tzinfo=dt.UTC))
    faces = [(fonts.FAMILY, "", "DejaVuSans.ttf"), (fonts.FAMILY, "B", "DejaVuSans-Bold.ttf")]
    if any(ord(c) > 0x2E80 for text in texts for c in text):
        faces.append((fonts.FALLBACK_FAMILY, "", "DroidSansFallbackFull.ttf"))
    for family, style, name in faces:
        path = fonts.DEFAULT_FONTS_DIR / name
        if parsed_once:
            fonts.add_font(pdf, family, style, path)
        else:
            pdf.add_font(family, style, str(path))
    pdf.add_page()
    for family, style, _name in faces:
        pdf.set_font(family, style, 10)
        for text in texts:
            pdf.cell(text=text, new_x="LMARGIN", new_y="NEXT")
    if parsed_once:
        fonts.prepare_output(pdf)
    return stable(bytes(pdf.output()))


@pytest.mark.parametrize("case", list(TEXTS))
def test_parsed_once_fonts_give_the_bytes_of_fpdf2s_own_add_font(case):
    texts = TEXTS[case]()
    expected = _fpdf2_document(texts, parsed_once=False)

    assert _fpdf2_document(texts, parsed_once=True) == expected
    # again: the first document's subsetting left the shared parse as it was
    assert _fpdf2_document(texts, parsed_once=True) == expected


if __name__ == "__main__":
    sys.addaudithook(_audit)
    mode, folder = sys.argv[1], Path(sys.argv[2])
    result = {"two": _two_documents, "fork": _forked, "plain": _plain}[mode](folder)
    print(json.dumps(result))
