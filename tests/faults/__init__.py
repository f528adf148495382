"""Fault injection: every provider scan under throttling, 5xx, timeouts, resets and bad answers."""
