"""Invalid input described in words that name each field, for an API answer or a page."""

from __future__ import annotations

from typing import Any


def _location(loc: tuple[Any, ...] | list[Any]) -> str:
    parts = [str(p) for p in loc if p != "body"]
    out = ""
    for part in parts:
        out += f"[{part}]" if part.isdigit() else (f".{part}" if out else part)
    return out or "body"


def describe_validation_errors(errors: list[dict[str, Any]]) -> str:
    messages = []
    for error in errors:
        where = _location(error.get("loc", ()))
        messages.append(f"{where}: {error.get('msg', 'invalid')}")
    return "; ".join(messages)
