"""Structured logs on stderr (JSON by default, console for people), every event carrying the run id."""

from __future__ import annotations

import logging
import re
import sys
from collections.abc import MutableMapping
from typing import Any

import structlog

_SECRET_KEY = re.compile(r"(secret|token|password|passwd|credential|authorization|api[_-]?key|session)", re.I)
REDACTED = "[redacted]"


def _redact_secrets(_: Any, __: str, event: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    """Drop the value of any field whose name says it is a secret (defence in depth: never log them)."""
    for key in list(event):
        if key != "event" and _SECRET_KEY.search(key):
            event[key] = REDACTED
    return event


# Characters that act on a terminal or hide text: C0/C1 controls (ANSI escapes, line breaks that forge
# log lines), Unicode line separators, zero-width and bidirectional-override characters, lone surrogates.
_UNSAFE = re.compile("[\x00-\x1f\x7f-\x9f\u200b-\u200f\u2028-\u202e\u2060-\u2069\ufeff\ud800-\udfff]")
_UNSAFE_BUT_NEWLINE = re.compile(
    "[\x00-\x09\x0b-\x1f\x7f-\x9f\u200b-\u200f\u2028-\u202e\u2060-\u2069\ufeff\ud800-\udfff]"
)


def _shown(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def _escape_for_terminal(_: Any, __: str, event: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    """Console logs are read at a terminal, and their values come from the cloud (resource ids, error
    texts): the console renderer prints a string without spaces or quotes as it is, escapes and all.
    JSON logs need nothing: the JSON encoder escapes these characters itself."""
    for key, value in event.items():
        if isinstance(value, str):
            # A traceback keeps its lines; anything else is one line.
            pattern = _UNSAFE_BUT_NEWLINE if key == "exception" else _UNSAFE
            event[key] = pattern.sub(_shown, value)
    return event


def configure_logging(*, run_id: str, fmt: str, level: int = logging.INFO) -> None:
    renderer: Any
    escaping: list[Any] = []
    if fmt == "console":
        renderer = structlog.dev.ConsoleRenderer(colors=sys.stderr.isatty())
        escaping = [_escape_for_terminal]
    else:
        renderer = structlog.processors.JSONRenderer(sort_keys=False)
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            _redact_secrets,
            structlog.processors.format_exc_info,
            *escaping,
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(level),
        logger_factory=structlog.PrintLoggerFactory(file=sys.stderr),
        cache_logger_on_first_use=False,
    )
    structlog.contextvars.clear_contextvars()
    structlog.contextvars.bind_contextvars(run_id=run_id)
    _route_library_logs(renderer, escaping)


def _route_library_logs(renderer: Any, escaping: list[Any]) -> None:
    """Warnings the cloud SDKs log through the standard library (azure-identity, google-auth, botocore)
    come out in the same format, with the run id, instead of as stray plain text. Only warnings and
    above: the SDKs' debug logs can carry request details."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta, *escaping, renderer],
            foreign_pre_chain=[
                structlog.contextvars.merge_contextvars,
                structlog.processors.add_log_level,
                structlog.processors.TimeStamper(fmt="iso", utc=True),
                _redact_secrets,
            ],
        )
    )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(logging.WARNING)


def get_logger(name: str = "keyaudit") -> Any:
    return structlog.get_logger(name)
