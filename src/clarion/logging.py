"""structlog setup: readable lines on a terminal, JSON in production (CLARION_LOG_FORMAT=json).

In JSON mode every line on the log stream is one JSON object: clarion's own structlog
lines, and lines from the standard library's ``logging`` (SQLAlchemy, Alembic, asyncio),
which go through the same renderer. Delivery lines carry ``message_id``, ``event_type``,
``method`` and ``recipient``, and for team channels ``channel_id`` and ``channel_kind``.

Nothing secret is written: tracebacks are Python's plain ones (never the values of local
variables, which hold request headers, bodies and channel configs), every field whose name
says it holds a secret is hidden, and URL paths, bearer tokens and token-shaped strings are
scrubbed from every line and traceback (see :mod:`clarion.redact`).
"""

from __future__ import annotations

import logging
import sys
import traceback
from typing import Any, TextIO

import structlog
from structlog.typing import EventDict, ExcInfo, WrappedLogger

from clarion import encoding
from clarion.redact import REDACTED, is_secret_key, scrub_text, scrub_value


def configure_logging(
    fmt: str = "console", level: str = "info", stream: TextIO | None = None
) -> None:
    """Configure structlog and the standard library's logging to write to ``stream``.

    ``stream`` defaults to standard error; ``fmt`` is ``console`` or ``json``.
    """
    out = stream if stream is not None else sys.stderr
    numeric = logging.getLevelName(level.upper())
    if not isinstance(numeric, int):
        numeric = logging.INFO
    shared: list[structlog.types.Processor] = [
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        scrub_secrets,
    ]
    finish: list[structlog.types.Processor]
    if fmt == "json":
        # A traceback becomes one string field, so it stays on the line.
        finish = [
            structlog.processors.ExceptionRenderer(format_exception),
            structlog.processors.JSONRenderer(serializer=encoding.dumps_for_log),
        ]
    else:
        # The console renderer prints tracebacks itself, below the line (its default, rich's
        # traceback with every frame's locals, would print the request's secrets).
        finish = [
            structlog.dev.ConsoleRenderer(colors=_is_tty(out), exception_formatter=_write_exception)
        ]
    structlog.configure(
        processors=[*shared, *finish],
        wrapper_class=structlog.make_filtering_bound_logger(numeric),
        # One write per line, so lines from concurrent writers never interleave.
        logger_factory=structlog.WriteLoggerFactory(file=out),
        cache_logger_on_first_use=True,
    )
    handler = logging.StreamHandler(out)
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            foreign_pre_chain=[*shared, structlog.stdlib.add_logger_name],
            processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta, *finish],
        )
    )
    root = logging.getLogger()
    for old in root.handlers[:]:
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(numeric)
    # uvicorn's lines (its unhandled-error tracebacks above all) go through this renderer
    # too, even if a logging config of uvicorn's own gave its loggers their handlers.
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        own = logging.getLogger(name)
        for old in own.handlers[:]:
            own.removeHandler(old)
        own.propagate = True


# Fields whose values clarion itself writes (ids, counts, times, names from fixed sets):
# nothing in them can hold a secret, and the delivery line, one per message, is mostly
# these. Everything else (the event's words, a reason above all) is scrubbed.
_OWN_FIELDS = frozenset(
    {
        "level",
        "timestamp",
        "logger",
        "message_id",
        "event_type",
        "method",
        "attempt",
        "status",
        "result",
        "duration_ms",
        "latency_seconds",
        "channel_id",
        "channel_kind",
        "retry_at",
    }
)


def scrub_secrets(logger: WrappedLogger, method: str, event_dict: EventDict) -> EventDict:
    """Hide secret-named fields and scrub secret-looking text in every field of a line."""
    for key, value in event_dict.items():
        # exc_info is rendered (and scrubbed) by format_exception; _record and friends
        # are the standard library's record, which the renderer does not print.
        if key == "exc_info" or key.startswith("_") or key in _OWN_FIELDS:
            continue
        event_dict[key] = REDACTED if is_secret_key(key) else scrub_value(value)
    return event_dict


def format_exception(exc_info: ExcInfo) -> str:
    """A plain traceback (no local variables), scrubbed: cheap to render, safe to keep."""
    return scrub_text("".join(traceback.format_exception(*exc_info)).rstrip("\n"))


def _write_exception(sio: Any, exc_info: ExcInfo) -> None:
    sio.write("\n" + format_exception(exc_info))


def _is_tty(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False
