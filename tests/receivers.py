"""Shared pieces of the loopback receivers the delivery tests start on 127.0.0.1."""

from __future__ import annotations

from http.server import BaseHTTPRequestHandler


class QuietHandler(BaseHTTPRequestHandler):
    """A request handler that keeps the test output clean (the tests inspect what was received)."""

    def log_message(self, format: str, *args: object) -> None:
        """No access log on stderr."""
