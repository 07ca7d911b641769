"""structlog setup: readable lines on a terminal, JSON in production (CLARION_LOG_FORMAT=json).

In JSON mode every line on the log stream is one JSON object: clarion's own structlog
lines, and lines from the standard library's ``logging`` (SQLAlchemy, Alembic, asyncio),
which go through the same renderer. Delivery lines carry ``message_id``, ``event_type``,
``method`` and ``recipient``, and for team channels ``channel_id`` and ``channel_kind``.
"""

from __future__ import annotations

import logging
import sys
from typing import TextIO

import structlog

from clarion import encoding


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
    ]
    finish: list[structlog.types.Processor]
    if fmt == "json":
        # A traceback becomes one string field, so it stays on the line.
        finish = [
            structlog.processors.format_exc_info,
            structlog.processors.JSONRenderer(serializer=encoding.dumps_for_log),
        ]
    else:
        # The console renderer prints tracebacks itself, below the line.
        finish = [structlog.dev.ConsoleRenderer(colors=_is_tty(out))]
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


def _is_tty(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False
