"""The output-writer interface: findings stream in one by one, the run's metadata arrives at the end."""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import IO, Any, ClassVar

from scanner.findings import Finding, Summary


class FindingWriter(ABC):
    """Writes one format to one binary stream. Writers must not hold every finding in memory."""

    format: ClassVar[str]
    extension: ClassVar[str]
    description: ClassVar[str]

    def __init__(self, stream: IO[bytes], *, color: bool = False) -> None:
        self.stream = stream
        self.color = color

    @abstractmethod
    def write(self, finding: Finding) -> None: ...

    @abstractmethod
    def close(self, scan: dict[str, Any], summary: Summary) -> None:
        """Finish the document; ``scan`` is the SPEC 4 ``scan`` object."""
