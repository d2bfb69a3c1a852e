from flask import request


def page_arg(name: str = "page") -> int:
    """A page number from the query string; anything odd means page 1."""
    value = request.args.get(name, "1")
    return int(value) if value.isdigit() and 0 < int(value) < 1_000_000 else 1
