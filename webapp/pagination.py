from flask import request


def page_arg(name: str = "page") -> int:
    """A page number from the query string; anything odd means page 1."""
    value = request.args.get(name, "1")
    # isdigit() alone admits "²" and "٣", which int() then refuses or reads
    ok = value.isascii() and value.isdigit() and 0 < int(value) < 1_000_000
    return int(value) if ok else 1
