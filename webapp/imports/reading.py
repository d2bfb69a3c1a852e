"""Reading an uploaded CSV: its encoding and delimiter found (and shown, and
overridable), its header checked, its rows streamed with every cell and row
bounded, so a hostile file ends with a reason in bounded time and memory.

Plain functions of a path: no Flask, no database (the preview in a request
and the import job in a worker read the same way). XLSX is read elsewhere and
yields the same Table.

Encodings: a byte-order mark decides (UTF-8, UTF-16 LE/BE); else the sample
is tried as UTF-8 and, failing that, as Windows-1252 (what Excel on Windows
writes), whose five undefined bytes make it Latin-1. A file whose later part
is not in the encoding found ("mixed encodings") stops there with the row
number.
"""
from __future__ import annotations

import codecs
import csv
import io
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

SAMPLE_BYTES = 64 * 1024
DELIMITERS = {",": "comma", ";": "semicolon", "\t": "tab"}
MAX_CELL_CHARS = 32_767  # a spreadsheet cell's limit: nothing real is longer
MAX_COLUMNS = 500
# blank lines in a row before the file is taken for a "CSV bomb"
MAX_BLANK_RUN = 10_000

_BOMS = ((codecs.BOM_UTF8, "utf-8-sig"), (codecs.BOM_UTF16_LE, "utf-16-le"),
         (codecs.BOM_UTF16_BE, "utf-16-be"))
_CP1252_UNDEFINED = b"\x81\x8d\x8f\x90\x9d"


class ImportFileError(ValueError):
    """The file cannot be imported as it is; the message says why, for people."""


@dataclass(frozen=True)
class Dialect:
    encoding: str  # a Python codec name
    delimiter: str  # one of DELIMITERS

    def describe(self) -> str:
        """"UTF-8, separated by semicolons": what the upload page shows."""
        names = {"utf-8": "UTF-8", "utf-8-sig": "UTF-8 (with BOM)", "utf-16-le": "UTF-16",
                 "utf-16-be": "UTF-16", "cp1252": "Windows-1252", "latin-1": "Latin-1"}
        return (f"{names.get(self.encoding, self.encoding)}, separated by "
                f"{DELIMITERS[self.delimiter]}s")


@dataclass
class Table:
    """A file's header and its data rows, streamed: each row is (line number
    in the file, cells), the cells as many as the header (short rows padded,
    long ones refused)."""

    header: list[str]
    rows: Iterator[tuple[int, list[str]]]
    dialect: Dialect | None = None
    notes: list[str] = field(default_factory=list)


def detect_encoding(sample: bytes) -> str:
    for bom, name in _BOMS:
        if sample.startswith(bom):
            return name
    try:
        # a multi-byte character cut at the sample's end is not an error
        codecs.getincrementaldecoder("utf-8")().decode(sample, final=False)
        return "utf-8"
    except UnicodeDecodeError:
        pass
    return "latin-1" if any(b in _CP1252_UNDEFINED for b in sample) else "cp1252"


def detect_delimiter(text: str) -> str:
    """The delimiter that splits the first lines into the same number of
    fields, more than one (the header's count wins a tie; comma when nothing
    splits, a one-column file)."""
    lines = [line for line in text.splitlines()[:20] if line.strip()]
    if not lines:
        return ","
    best, best_score = ",", (0, 0)
    for delimiter in DELIMITERS:
        try:
            counts = [len(row) for row in csv.reader(io.StringIO("\n".join(lines)),
                                                     delimiter=delimiter)]
        except csv.Error:
            continue
        if not counts or counts[0] < 2:
            continue
        steady = sum(1 for c in counts if c == counts[0])
        score = (steady, counts[0])
        if score > best_score:
            best, best_score = delimiter, score
    return best


def sniff(path: Path) -> Dialect:
    """The encoding and delimiter of a CSV file, from its first 64 KiB."""
    with open(path, "rb") as f:
        sample = f.read(SAMPLE_BYTES)
    encoding = detect_encoding(sample)
    text = sample.decode(encoding.replace("utf-8-sig", "utf-8"), errors="ignore")
    return Dialect(encoding, detect_delimiter(text.lstrip("\ufeff")))


def clean_header(cells: list[str]) -> list[str]:
    """The header's names, trimmed; refused when it is empty, too wide, or
    names a column twice (which one would be meant?)."""
    names = [c.strip().lstrip("\ufeff").strip() for c in cells]
    while names and not names[-1]:  # trailing empty columns (a spreadsheet's habit)
        names.pop()
    if not any(names):
        raise ImportFileError("The first line is empty: it should name the columns.")
    if len(names) > MAX_COLUMNS:
        raise ImportFileError(f"The file has {len(names):,} columns; at most "
                              f"{MAX_COLUMNS} can be read.")
    seen: dict[str, int] = {}
    for n, name in enumerate(names, 1):
        if not name:
            raise ImportFileError(f"Column {n} has no name in the first line.")
        key = name.casefold()
        if key in seen:
            raise ImportFileError(f"The column “{name}” appears twice (columns {seen[key]} "
                                  f"and {n}); rename or remove one.")
        seen[key] = n
    return names


def read_csv(path: Path, dialect: Dialect | None = None) -> Table:
    """The file's header and a stream of its rows. Raises ImportFileError for
    a file with no header, a header only, or a broken first line; problems
    later in the file (a cell over MAX_CELL_CHARS, a row wider than the
    header, bytes not in the encoding, a run of MAX_BLANK_RUN blank lines)
    raise it from the stream, naming the line."""
    dialect = dialect or sniff(path)
    f = open(path, "rb")  # noqa: SIM115 - closed when the stream ends or fails
    reader = csv.reader(_bounded_lines(f, dialect.encoding), delimiter=dialect.delimiter,
                        strict=False)
    try:
        first = next(reader, None)
    except (csv.Error, UnicodeDecodeError, _CellTooLong, _BadBytes) as exc:
        f.close()
        raise ImportFileError(f"The first line cannot be read: {_reason(exc)}.") from None
    if first is None:
        f.close()
        raise ImportFileError("The file is empty.")
    try:
        header = clean_header(first)
    except ImportFileError:
        f.close()
        raise
    rows = _rows(f, reader, len(header))
    try:
        peeked = next(rows)
    except StopIteration:
        f.close()
        raise ImportFileError("The file has a header but no rows.") from None

    def stream() -> Iterator[tuple[int, list[str]]]:
        yield peeked
        yield from rows

    return Table(header, stream(), dialect)


class _CellTooLong(Exception):
    pass


class _BadBytes(Exception):
    def __init__(self, line: int, encoding: str) -> None:
        super().__init__(line, encoding)
        self.line, self.encoding = line, encoding


LINE_LIMIT = MAX_CELL_CHARS * 4  # bytes or characters of one physical line


def _bounded_lines(f, encoding: str) -> Iterator[str]:
    """The file's lines, decoded one by one (so bytes in another encoding are
    named by their line), refusing one longer than a row can be: a 1 GB single
    cell is refused after LINE_LIMIT characters, not 1 GB."""
    if encoding.startswith("utf-16"):  # two-byte newlines: the codec splits the lines
        text = io.TextIOWrapper(f, encoding=encoding, newline="", errors="strict")
        while True:
            line = text.readline(LINE_LIMIT + 1)
            if not line:
                return
            if len(line) > LINE_LIMIT and not line.endswith(("\n", "\r")):
                raise _CellTooLong()
            yield line
    number = 0
    while True:
        raw = f.readline(LINE_LIMIT + 1)
        if not raw:
            return
        number += 1
        if len(raw) > LINE_LIMIT and not raw.endswith((b"\n", b"\r")):
            raise _CellTooLong()
        try:
            line = raw.decode(encoding)
        except UnicodeDecodeError:
            raise _BadBytes(number, encoding) from None
        yield line.lstrip("\ufeff") if number == 1 else line


def _reason(exc: Exception) -> str:
    if isinstance(exc, (UnicodeDecodeError, _BadBytes)):
        shown = exc.encoding.upper().replace("-SIG", "").replace("CP1252", "Windows-1252")
        return (f"it holds bytes that are not {shown} (mixed encodings?); "
                "save the file as UTF-8 and upload it again")
    if isinstance(exc, _CellTooLong):
        return f"a line is longer than {MAX_CELL_CHARS * 4:,} characters"
    return str(exc)


def _rows(f, reader, width: int) -> Iterator[tuple[int, list[str]]]:
    blank_run = 0
    try:
        while True:
            try:
                cells = next(reader)
            except StopIteration:
                return
            except (csv.Error, UnicodeDecodeError, _CellTooLong, _BadBytes) as exc:
                line = exc.line if isinstance(exc, _BadBytes) else reader.line_num + 1
                raise ImportFileError(f"Line {line} cannot be read: {_reason(exc)}.") from None
            if not any(c.strip() for c in cells):
                blank_run += 1
                if blank_run >= MAX_BLANK_RUN:
                    raise ImportFileError(
                        f"{MAX_BLANK_RUN:,} empty lines in a row from line "
                        f"{reader.line_num - blank_run + 1}: this is not an order file.")
                continue
            blank_run = 0
            too_long = next((c for c in cells if len(c) > MAX_CELL_CHARS), None)
            if too_long is not None:
                raise ImportFileError(f"Line {reader.line_num}: a cell of {len(too_long):,} "
                                      f"characters (at most {MAX_CELL_CHARS:,}).")
            if len(cells) > width and any(c.strip() for c in cells[width:]):
                raise ImportFileError(f"Line {reader.line_num} has {len(cells)} cells but the "
                                      f"header names {width} columns.")
            yield reader.line_num, (cells + [""] * width)[:width]
    finally:
        f.close()
