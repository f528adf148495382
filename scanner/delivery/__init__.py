"""SIEM destinations (``--to URL``): a registry by URL scheme, loaded lazily.

Adding a destination: implement ``scanner.delivery.base.Destination`` in a module and register
``"scheme": "module:factory"`` below (the factory is called with the parsed ``DestinationURL``; a class
is a factory). The delivery core (spool, retries, reporting) needs no change. ``None`` marks a scheme
that is planned but not built yet: it is refused with a clear message (exit 1), not as a typo (exit 2).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Sequence

from scanner.delivery.base import DeliveryError, Destination, DestinationURL, EventContext, SpooledEvent
from scanner.errors import InputError

__all__ = [
    "DESTINATIONS",
    "DeliveryError",
    "Destination",
    "DestinationURL",
    "EventContext",
    "SpooledEvent",
    "open_destination",
    "open_destinations",
]

# scheme -> "module:Destination class", imported only when a URL uses it.
DESTINATIONS: dict[str, str] = {
    "syslog+tcp": "scanner.delivery.syslog:SyslogDestination",
    "syslog+tls": "scanner.delivery.syslog:SyslogDestination",
    "syslog+udp": "scanner.delivery.syslog:SyslogDestination",
    "splunk-hec": "scanner.delivery.splunk:SplunkHecDestination",
    "securityhub": "scanner.delivery.securityhub:SecurityHubDestination",
    "elastic": "scanner.delivery.elastic:ElasticDestination",
    "opensearch": "scanner.delivery.elastic:OpenSearchDestination",
    "sentinel": "scanner.delivery.sentinel:SentinelDestination",
}


def open_destination(text: str, *, flag: str = "--to") -> Destination:
    """Parse and validate one destination URL; never connects. InputError (exit 2) for a bad URL or
    an unknown scheme."""
    url = DestinationURL.parse(text, flag=flag)
    if url.scheme not in DESTINATIONS:
        raise InputError(
            f"{flag}: unknown destination scheme '{url.scheme}' in {url.redacted}; "
            f"choose from {', '.join(s + '://' for s in DESTINATIONS)}"
        )
    module_name, _, attribute = DESTINATIONS[url.scheme].partition(":")
    factory: Callable[[DestinationURL], Destination] = getattr(
        importlib.import_module(module_name), attribute
    )
    return factory(url)


def open_destinations(texts: Sequence[str], *, flag: str = "--to") -> list[Destination]:
    """Every URL validated before any work; the same destination given twice is used once."""
    chosen: dict[str, Destination] = {}
    for text in texts:
        destination = open_destination(text, flag=flag)
        chosen.setdefault(destination.url.key, destination)
    return list(chosen.values())
