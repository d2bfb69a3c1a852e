"""Import every module of webapp/ and tasks/ on its own, each in a fresh
interpreter: an import cycle, or a module that only works when something
else was imported first, fails here by name.

    python tests/import_each_module.py        # prints one line per failure; exit 1 if any
"""
from __future__ import annotations

import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("webapp", "tasks")


def modules() -> list[str]:
    found = []
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            parts = path.relative_to(ROOT).with_suffix("").parts
            if parts[-1] == "__init__":
                parts = parts[:-1]
            found.append(".".join(parts))
    return found


def import_alone(module: str) -> tuple[str, str | None]:
    done = subprocess.run([sys.executable, "-c", f"import {module}"], cwd=ROOT,
                          capture_output=True, text=True, timeout=120)
    if done.returncode == 0:
        return module, None
    return module, (done.stderr.strip().splitlines() or ["(no output)"])[-1]


def failures(workers: int = 4) -> list[tuple[str, str]]:
    # tasks.worker builds the app at import time, by design: its own check is
    # that the worker starts (tests/integration)
    names = [m for m in modules() if m != "tasks.worker"]
    with ThreadPoolExecutor(workers) as pool:
        return [(m, err) for m, err in pool.map(import_alone, names) if err]


if __name__ == "__main__":
    bad = failures()
    for module, error in bad:
        print(f"{module}: {error}")
    print(f"{len(modules()) - 1 - len(bad)} modules import on their own, {len(bad)} do not")
    sys.exit(1 if bad else 0)
