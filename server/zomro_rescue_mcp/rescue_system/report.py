"""The diagnosis script's report, split into its sections.

The script writes a header line `@@name args…` (args are only values the script controls) and, under it, body lines
that each start with `|` (anything read from the instance's disk is only ever there). A line that is neither is
dropped: it cannot pose as a header, whatever a file on the disk holds.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

__all__ = ["Report", "Section"]


@dataclass(frozen=True)
class Section:
    name: str
    args: tuple[str, ...]
    lines: tuple[str, ...]

    def arg(self, index: int, default: str = "") -> str:
        return self.args[index] if index < len(self.args) else default

    @property
    def text(self) -> str:
        return "\n".join(self.lines)


@dataclass(frozen=True)
class Report:
    sections: tuple[Section, ...]
    truncated: bool = False  # the report itself went past its cap
    _by_name: dict[str, list[Section]] = field(default_factory=dict, compare=False, repr=False)

    @classmethod
    def parse(cls, text: str, *, truncated: bool = False) -> Report:
        sections: list[Section] = []
        name: str | None = None
        args: tuple[str, ...] = ()
        lines: list[str] = []
        for raw in text.split("\n"):
            line = raw.rstrip("\r")
            if line.startswith("@@"):
                if name is not None:
                    sections.append(Section(name, args, tuple(lines)))
                words = line[2:].split()
                name, args, lines = (words[0] if words else ""), tuple(words[1:]), []
            elif line.startswith("|") and name is not None:
                lines.append(line[1:])
        if name is not None:
            sections.append(Section(name, args, tuple(lines)))
        report = cls(tuple(sections), truncated)
        for section in sections:
            report._by_name.setdefault(section.name, []).append(section)
        return report

    def all(self, name: str) -> list[Section]:
        return list(self._by_name.get(name, ()))

    def first(self, name: str) -> Section | None:
        found = self._by_name.get(name)
        return found[0] if found else None

    def has(self, name: str) -> bool:
        return name in self._by_name

    def __iter__(self) -> Iterator[Section]:
        return iter(self.sections)
