"""YAML documents that remember where each value came from, for error messages that name the line."""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from scanner.errors import InputError

PathKey = tuple[str | int, ...]
_SURROGATE = re.compile("[\ud800-\udfff]")


@dataclass(frozen=True)
class LocatedDocument:
    """A parsed YAML document plus the line of every mapping key and sequence item in it."""

    path: Path
    data: Any
    lines: dict[PathKey, int] = field(default_factory=dict)

    def line_of(self, loc: Iterable[str | int]) -> int | None:
        """The line of ``loc``, or of its nearest ancestor that has one."""
        parts = tuple(loc)
        while parts:
            if parts in self.lines:
                return self.lines[parts]
            parts = parts[:-1]
        return None

    def describe(self, loc: Iterable[str | int]) -> str:
        """``file:line: at a.b[0]``, the prefix of an error message."""
        parts = tuple(loc)
        line = self.line_of(parts)
        where = f"{self.path}:{line}" if line is not None else str(self.path)
        dotted = dotted_path(parts)
        return f"{where}: at {dotted}" if dotted else where


def dotted_path(parts: Iterable[str | int]) -> str:
    """``a.b[0]``; a key that is not plain text is written ``a["x y"]``."""
    out = ""
    for part in parts:
        if isinstance(part, int):
            out += f"[{part}]"
        elif (text := readable(part)) != part:
            out += f"[{text}]"
        else:
            out += f".{part}" if out else part
    return out


_PLAIN = re.compile(r"[^\s.\[\]\"'\\]+")


def readable(text: str, quote: str = "") -> str:
    """``text`` from the file for an error message: plain text as is (in ``quote`` marks), anything else
    JSON-quoted. A key holding an ANSI escape, a line break or a right-to-left override could otherwise
    recolour the terminal, forge a line of the message or hide where the problem is."""
    if _PLAIN.fullmatch(text) and text.isprintable():
        return f"{quote}{text}{quote}"
    return json.dumps(text)


def display_path(path: Path) -> str:
    """``path`` as text that can be written anywhere: a file name that is not UTF-8 (``\\xff``) would
    otherwise travel as a lone surrogate and make every UTF-8 output (JSON, CSV, HTML) fail."""
    return os.fsencode(path).decode("utf-8", "backslashreplace")


def load_located_yaml(path: Path, *, what: str) -> LocatedDocument:
    """Read ``path`` (``what`` names the kind of file in messages); malformed YAML raises InputError."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError as exc:
        raise InputError(f"{path}: {what} not found") from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"{path}: cannot read {what}: {exc}") from exc
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = f":{mark.line + 1}" if mark is not None else ""
        problem = exc.problem or exc.context or "malformed YAML"
        raise InputError(f"{path}{line}: {what} is not valid YAML: {problem}") from exc
    except yaml.YAMLError as exc:
        raise InputError(f"{path}: {what} is not valid YAML: {exc}") from exc
    except RecursionError:
        # PyYAML composes nested collections recursively: a few hundred '[' exhaust the stack.
        raise InputError(
            f"{path}: {what} is nested too deeply to read (at most {_MAX_DEPTH} levels)"
        ) from None
    lines: dict[PathKey, int] = {}
    reader = _Reader(path, lines)
    data = reader.to_python(node, ()) if node is not None else None
    return LocatedDocument(path=path, data=data, lines=lines)


_MAX_DEPTH = 64
# Aliases repeat a node without copying it; nested ones repeat it exponentially ("billion laughs": a
# few hundred bytes that expand to 10**9 values). Nodes read a second time through an alias count here.
_MAX_REPEATED_NODES = 100_000


class _Reader:
    def __init__(self, path: Path, lines: dict[PathKey, int]) -> None:
        self.path = path
        self.lines = lines
        self.seen: set[int] = set()
        self.repeated = 0
        # Resolves scalars exactly as yaml.safe_load would (ints, bools, dates, nulls, strings).
        self.constructor = yaml.constructor.SafeConstructor()

    def to_python(self, node: yaml.Node, loc: PathKey) -> Any:
        path, lines = self.path, self.lines
        if len(loc) > _MAX_DEPTH:
            raise InputError(f"{path}:{node.start_mark.line + 1}: nested deeper than {_MAX_DEPTH} levels")
        if id(node) in self.seen:
            self.repeated += 1
            if self.repeated > _MAX_REPEATED_NODES:
                raise InputError(
                    f"{path}:{node.start_mark.line + 1}: at {dotted_path(loc) or 'the top'}: aliases repeat "
                    f"more than {_MAX_REPEATED_NODES:,} values; write the document out without them"
                )
        else:
            self.seen.add(id(node))
        if isinstance(node, yaml.MappingNode):
            result: dict[str, Any] = {}
            for key_node, value_node in node.value:
                line = key_node.start_mark.line + 1
                if not isinstance(key_node, yaml.ScalarNode):
                    raise InputError(f"{path}:{line}: mapping keys must be plain strings")
                key = str(self.scalar(key_node, loc))
                if key in result:
                    raise InputError(f"{path}:{line}: at {dotted_path((*loc, key))}: duplicate key")
                lines[(*loc, key)] = line
                result[key] = self.to_python(value_node, (*loc, key))
            return result
        if isinstance(node, yaml.SequenceNode):
            items = []
            for index, item in enumerate(node.value):
                lines[(*loc, index)] = item.start_mark.line + 1
                items.append(self.to_python(item, (*loc, index)))
            return items
        return self.scalar(node, loc)

    def scalar(self, node: yaml.Node, loc: PathKey = ()) -> Any:
        where = f"{self.path}:{node.start_mark.line + 1}"
        if loc:
            where += f": at {dotted_path(loc)}"
        try:
            value = self.constructor.construct_object(node, deep=True)
        except yaml.YAMLError as exc:
            raise InputError(f"{where}: {exc}") from exc
        except ValueError as exc:  # well-formed but impossible, e.g. the date 2027-02-30
            raise InputError(f"{where}: not a valid date or number: {node.value!r} ({exc})") from exc
        if isinstance(value, str) and _SURROGATE.search(value):
            # PyYAML reads the escapes "\ud83d\ude00" as two halves of a UTF-16 pair: joined, they are the
            # character meant. A half on its own is no character, and no UTF-8 output could hold it (a
            # waiver reason with one would fail every report at the end of the run).
            try:
                value = value.encode("utf-16-le", "surrogatepass").decode("utf-16-le")
            except UnicodeDecodeError:
                raise InputError(
                    f"{where}: a \\uD800-\\uDFFF escape without its pair is not a character"
                ) from None
        return value
