"""The system programs the tests run, found before the first test: a missing
one stops the run at its start with one line saying what to install, instead
of failing every test that needs it.

A test needs a program when its module, or a module defining one of its
fixtures (a conftest.py, tests/smtp.py, …), names the program in quotes, as a
call does: `shutil.which("pdftotext")`, `["soffice", …]`. So a new test that
runs one of these programs is covered without a change here; a new program
needs a line in PROGRAMS.

Plain Python, no pytest import: tests/conftest.py calls it after collection
(or, for pytest-xdist, on the paths given, before the workers start)."""
from __future__ import annotations

import re
import shutil
import sys
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache
from pathlib import Path


@dataclass(frozen=True)
class Program:
    names: tuple[str, ...]  # any one of them on PATH will do
    debian: str  # the Debian/Ubuntu package
    brew: str  # the Homebrew command

    def found(self) -> bool:
        return any(shutil.which(name) for name in self.names)

    def install(self) -> str:
        return (f"{self.names[0]} (Debian/Ubuntu: sudo apt-get install {self.debian}; "
                f"macOS: {self.brew})")


PROGRAMS = (
    Program(("chromium",), "chromium", "brew install --cask chromium"),
    Program(("soffice", "libreoffice"), "libreoffice-calc-nogui",
            "brew install --cask libreoffice"),
    Program(("pdftotext",), "poppler-utils", "brew install poppler"),
    Program(("pdftoppm",), "poppler-utils", "brew install poppler"),
    Program(("openssl",), "openssl", "brew install openssl"),
)


@cache
def _named_in(path: str) -> frozenset[str]:
    """The programs whose name the file has in quotes."""
    try:
        text = Path(path).read_text(errors="replace")
    except OSError:
        return frozenset()
    return frozenset(name for p in PROGRAMS for name in p.names
                     if re.search(rf"""["']{re.escape(name)}["']""", text))


def files_of(items: Iterable) -> set[str]:
    """The tests' modules and the modules of the fixtures they use."""
    files = set()
    for item in items:
        files.add(str(item.path))
        fixture_defs = getattr(getattr(item, "_fixtureinfo", None), "name2fixturedefs", {})
        for defs in fixture_defs.values():
            for fixturedef in defs:
                module = sys.modules.get(getattr(fixturedef.func, "__module__", ""))
                if module is not None and getattr(module, "__file__", None):
                    files.add(module.__file__)
    return files


def files_under(args: Iterable[str]) -> set[str]:
    """Every Python file under the given test paths, and the test support
    modules already loaded (the conftest's plugins): for pytest-xdist's
    controller, which never sees the items its workers collect."""
    files = set()
    for arg in args:
        path = Path(arg.split("::")[0])
        files |= {str(f) for f in path.rglob("*.py")} if path.is_dir() else {str(path)}
    tests_dir = str(Path(__file__).parent)
    for module in list(sys.modules.values()):
        file = getattr(module, "__file__", None) or ""
        if file.startswith(tests_dir) and file != __file__:
            files.add(file)
    return files


def missing_programs(files: Iterable[str]) -> list[Program]:
    """The programs named in the files that PATH does not have."""
    named: set[str] = set()
    for path in files:
        named |= _named_in(path)
    return [p for p in PROGRAMS if named & set(p.names) and not p.found()]


def missing_line(programs: list[Program]) -> str:
    return ("missing programs the selected tests run (README: The two commands): "
            + "; ".join(p.install() for p in programs))
