"""What the hostile-input tests share: adversarial characters and documents, and a hard time limit.

Hypothesis settings live in each test module (``HOSTILE = settings(...)``), not in a global profile.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import functools
import signal
from collections.abc import Iterator
from typing import Any

from hypothesis import strategies as st

# Characters that break parsers, terminals, spreadsheets and markup, or hide text from a reader.
NASTY_CHARS = (
    "\x00",  # NUL
    "\x07",  # BEL
    "\x1b",  # ESC: ANSI colour and terminal-title sequences
    "\x7f",
    "\x85",  # NEL, a Unicode line break
    "\t",
    "\n",
    "\r",
    "\u2028",  # LINE SEPARATOR
    "\u2029",  # PARAGRAPH SEPARATOR
    "\u200b",  # ZERO WIDTH SPACE
    "\u200d",  # ZERO WIDTH JOINER
    "\u202e",  # RIGHT-TO-LEFT OVERRIDE
    "\u2066",  # LEFT-TO-RIGHT ISOLATE
    "\ufeff",  # BOM / zero width no-break space
    "\ufffd",
    "\ue000",  # private use (keyaudit's AWS pattern encoding uses U+E000..U+E003 internally)
    "\ue003",
    "\U0001f600",
    "\udc80",  # lone surrogates: what a non-UTF-8 byte becomes under surrogateescape
    "\ud800",
    "\\",
    "|",
    "=",
    "^",
    '"',
    "'",
    "<",
    ">",
    "&",
    "*",
    "?",
    "$",
    "{",
    "}",
    "[",
    "]",
    ":",
    "#",
    "-",
)
ANSI = ("\x1b[31m", "\x1b[0m", "\x1b]0;pwned\x07", "\x1b[2J", "\x1b[1A")
MARKUP = ("<script>alert(1)</script>", "&amp;", "&lt;b&gt;", '" onmouseover="alert(1)', "</script>", "<!--")
FORMULAS = ("=cmd|' /C calc'!A0", "+1+1", "-2+3", "@SUM(A1)", '=HYPERLINK("http://x")')


# Strategies are built once per set of arguments: building one is far slower than drawing from it.
@functools.cache
def hostile_text(max_size: int = 40) -> st.SearchStrategy[str]:
    """Short strings mixing ordinary characters, the nasty ones and whole attack snippets."""
    piece = st.one_of(
        st.text(max_size=6),
        st.sampled_from(NASTY_CHARS),
        st.sampled_from(ANSI + MARKUP + FORMULAS),
    )
    return st.lists(piece, max_size=max_size // 4).map("".join)


@functools.cache
def json_values(
    text: st.SearchStrategy[str] | None = None, *, max_leaves: int = 12
) -> st.SearchStrategy[Any]:
    """Any JSON value: wrong types for every field, nested at random."""
    text = text if text is not None else hostile_text()
    leaves = st.one_of(
        st.none(),
        st.booleans(),
        st.integers(),
        st.integers(min_value=-(10**30), max_value=10**30),
        st.floats(allow_nan=False, allow_infinity=False),
        text,
    )
    return st.recursive(
        leaves,
        lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(text, inner, max_size=4)),
        max_leaves=max_leaves,
    )


@functools.cache
def yaml_values(*, max_leaves: int = 12) -> st.SearchStrategy[Any]:
    """Values YAML can carry beyond JSON: dates, NaN, infinities, numbers as keys."""
    text = hostile_text()
    leaves = st.one_of(
        st.none(),
        st.booleans(),
        st.integers(min_value=-(10**40), max_value=10**40),
        st.floats(),
        st.dates(min_value=dt.date(1, 1, 1)),
        text,
    )
    keys = st.one_of(text, st.integers(), st.booleans())
    return st.recursive(
        leaves,
        lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(keys, inner, max_size=4)),
        max_leaves=max_leaves,
    )


def paths(document: Any, prefix: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    """Every place in a nested document (the document itself first)."""
    yield prefix
    if isinstance(document, dict):
        for key, value in document.items():
            yield from paths(value, (*prefix, key))
    elif isinstance(document, list):
        for index, value in enumerate(document):
            yield from paths(value, (*prefix, index))


def replaced(document: Any, path: tuple[Any, ...], value: Any) -> Any:
    """A copy of ``document`` with the value at ``path`` replaced."""
    if not path:
        return value
    head, rest = path[0], path[1:]
    if isinstance(document, dict):
        return {k: (replaced(v, rest, value) if k == head else v) for k, v in document.items()}
    return [replaced(v, rest, value) if i == head else v for i, v in enumerate(document)]


@st.composite
def mutated(draw: st.DrawFn, document: Any, values: st.SearchStrategy[Any]) -> Any:
    """A valid ``document`` with one to three places replaced by arbitrary values (wrong types, deep
    nesting, hostile text), so the fuzzing reaches every field's validation, not only the top level."""
    for _ in range(draw(st.integers(1, 3))):
        places = list(paths(document))
        document = replaced(document, draw(st.sampled_from(places)), draw(values))
    return document


class TookTooLong(Exception):
    """Raised by ``time_limit`` in the main thread when the code under test runs past its limit."""


@contextlib.contextmanager
def time_limit(seconds: float) -> Iterator[None]:
    """Interrupt the body after ``seconds`` (SIGALRM: Python code and the regex engine both notice it), so
    a hang fails the test instead of the whole run."""

    def interrupt(signum: int, frame: Any) -> None:
        raise TookTooLong(f"still running after {seconds} s")

    previous = signal.signal(signal.SIGALRM, interrupt)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
