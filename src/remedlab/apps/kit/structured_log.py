"""JSON-lines logs on stdout, one object per line.

Every line has ``ts`` (UTC, ISO 8601 with milliseconds), ``level``,
``service``, ``trace_id`` (null outside a request) and ``msg``, then any extra
fields the caller gave.  Lines about an exception add ``error``
(``{"type", "message"}``) and ``stack`` (the formatted traceback).
"""

from __future__ import annotations

import json
import logging
import sys
import traceback
from datetime import UTC, datetime
from typing import Final, Literal, TextIO

from remedlab.apps.kit.tracing import current_trace_id

Level = Literal["debug", "info", "warning", "error"]

_RESERVED: Final = frozenset({"ts", "level", "service", "trace_id", "msg", "error", "stack"})


def timestamp(moment: datetime | None = None) -> str:
    """ISO 8601 UTC with milliseconds and a ``Z`` suffix."""
    moment = moment or datetime.now(UTC)
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def describe_error(exc: BaseException) -> dict[str, str]:
    """The ``error`` field for an exception: its type name and message."""
    return {"type": type(exc).__name__, "message": str(exc)}


class Logger:
    """Writes JSON lines for one service."""

    __slots__ = ("_stream", "service")

    def __init__(self, service: str, stream: TextIO | None = None) -> None:
        self.service = service
        self._stream = stream

    def debug(self, msg: str, /, **fields: object) -> None:
        self.log("debug", msg, exc=None, **fields)

    def info(self, msg: str, /, **fields: object) -> None:
        self.log("info", msg, exc=None, **fields)

    def warning(self, msg: str, /, *, exc: BaseException | None = None, **fields: object) -> None:
        self.log("warning", msg, exc=exc, **fields)

    def error(self, msg: str, /, *, exc: BaseException | None = None, **fields: object) -> None:
        self.log("error", msg, exc=exc, **fields)

    def exception(self, msg: str, /, **fields: object) -> None:
        """An error line about the exception being handled."""
        self.log("error", msg, exc=sys.exc_info()[1], **fields)

    def log(self, level: Level, msg: str, /, *, exc: BaseException | None = None, **fields: object) -> None:
        record: dict[str, object] = {
            "ts": timestamp(),
            "level": level,
            "service": self.service,
            "trace_id": current_trace_id(),
            "msg": msg,
        }
        for key, value in fields.items():
            record[f"field_{key}" if key in _RESERVED else key] = value
        if exc is not None:
            record["error"] = describe_error(exc)
            record["stack"] = "".join(traceback.format_exception(exc))
        self._write(json.dumps(record, default=str, ensure_ascii=False))

    def _write(self, line: str) -> None:
        stream = self._stream or sys.stdout
        try:
            stream.write(line + "\n")
            stream.flush()
        except (OSError, ValueError):
            # The log pipe is gone (the reader went away): nothing left to tell.
            pass


_loggers: dict[str, Logger] = {}


def get_logger(service: str) -> Logger:
    """The logger of ``service`` (one per service name in the process)."""
    logger = _loggers.get(service)
    if logger is None:
        logger = _loggers[service] = Logger(service)
    return logger


class JsonLinesHandler(logging.Handler):
    """Routes standard-library log records (aiohttp, asyncio) into the JSON lines."""

    def __init__(self, logger: Logger, level: int = logging.WARNING) -> None:
        super().__init__(level)
        self._logger = logger

    def emit(self, record: logging.LogRecord) -> None:
        try:
            level: Level
            if record.levelno >= logging.ERROR:
                level = "error"
            elif record.levelno >= logging.WARNING:
                level = "warning"
            elif record.levelno >= logging.INFO:
                level = "info"
            else:
                level = "debug"
            exc = record.exc_info[1] if record.exc_info else None
            self._logger.log(level, record.getMessage(), exc=exc, logger=record.name)
        except Exception:
            self.handleError(record)


def route_stdlib_logging(logger: Logger, level: int = logging.WARNING) -> None:
    """Send records of the standard ``logging`` module at ``level`` and above to ``logger``."""
    root = logging.getLogger()
    for handler in list(root.handlers):
        if isinstance(handler, JsonLinesHandler):
            root.removeHandler(handler)
    root.addHandler(JsonLinesHandler(logger, level))
    if root.level > level:
        root.setLevel(level)
