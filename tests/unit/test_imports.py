"""The house stays in layers: an import inside a function is a decision
written down here (a heavy optional library, loaded only by the processes
that use it), not a way around a cycle. The layer contracts (`lint-imports`)
and every module imported on its own in a fresh interpreter
(tests/import_each_module.py) run in `make lint`."""
from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

# (file, imported module) -> why it is imported where it is used
ALLOWED_LATE_IMPORTS = {
    ("webapp/auth/services.py", "zxcvbn"): "its word lists are ~14 MB no worker needs",
    ("webapp/storage.py", "boto3"): "a local-folder deployment never loads boto3",
    ("webapp/storage.py", "botocore.config"): "boto3's, as above",
    ("webapp/storage.py", "boto3.s3.transfer"): "boto3's, as above",
    ("webapp/storage.py", "botocore.exceptions"): "boto3's, as above",
    ("webapp/storage.py", "boto3.exceptions"): "boto3's, as above",
    ("webapp/workspaces/services.py", "PIL"): "decodes a logo upload; no request else needs it",
    ("tasks/worker.py", "tasks.generators.pdf"): "fpdf2 and the parsed fonts, loaded once in "
    "a worker's prefork parent (its children share them); beat never loads them",
}
# fpdf2 (tasks/generators/pdf/) is loaded late too: by a worker's prefork parent
# at start (tasks/worker.py), by any other process when it first makes a PDF
LATE_PREFIXES = ("fpdf", "fontTools")


def _late_imports() -> set[tuple[str, str]]:
    found = set()
    for package in ("webapp", "tasks"):
        for path in (ROOT / package).rglob("*.py"):
            tree = ast.parse(path.read_text(), filename=str(path))
            for node in ast.walk(tree):
                if not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                    continue
                for sub in ast.walk(node):
                    if isinstance(sub, ast.ImportFrom):
                        name = "." * sub.level + (sub.module or "")
                    elif isinstance(sub, ast.Import):
                        name = sub.names[0].name
                    else:
                        continue
                    found.add((str(path.relative_to(ROOT)), name))
    return found


def test_imports_inside_functions_are_only_the_listed_heavy_libraries():
    late = {(f, m) for f, m in _late_imports() if not m.startswith(LATE_PREFIXES)}
    unlisted = sorted(late - set(ALLOWED_LATE_IMPORTS))
    assert not unlisted, (
        "imports inside functions that are not a listed decision (move them to the top of "
        f"the module, or add them to ALLOWED_LATE_IMPORTS with the reason): {unlisted}")
    gone = sorted(set(ALLOWED_LATE_IMPORTS) - late)
    assert not gone, f"listed late imports that no longer exist (remove them): {gone}"

