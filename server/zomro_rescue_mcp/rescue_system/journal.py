"""The error lines of the instance's last boot: its journal (`journalctl -D … -b -0 -p err`, the rescue system's or,
when that cannot read the files, the instance's own in a chroot), else /var/log/syslog or /var/log/messages after
their last kernel start line. Duplicates are folded; the newest 20 are kept."""

from __future__ import annotations

import re
from collections import OrderedDict

from .findings import Finding, finding
from .report import Report

__all__ = ["MAX_JOURNAL_LINES", "check_journal", "fold"]

MAX_JOURNAL_LINES = 20
_SOURCES = {
    "journalctl": "its journal",
    "chroot-journalctl": "its journal (read with its own journalctl)",
    "syslog": "/var/log/syslog",
    "messages": "/var/log/messages",
}
# "Mar  1 12:00:00 host ", "2024-03-01T12:00:00.123456+00:00 host ": the time and host of a log line.
_STAMP = re.compile(r"^(?:[A-Z][a-z]{2} [ \d]\d \d\d:\d\d:\d\d|\d{4}-\d\d-\d\dT[\d:.,]+(?:Z|[+-]\d\d:?\d\d)?) \S+ ")
_PID = re.compile(r"^([^\s\[:]+)\[\d+\]:")


def fold(lines: list[str]) -> list[tuple[str, int]]:
    """Lines without their time, host and process id, duplicates folded into a count, in the order of their last
    occurrence (newest last)."""
    counts: OrderedDict[str, int] = OrderedDict()
    for line in lines:
        text = line.strip()
        if not text or text.startswith("-- "):  # journalctl's "-- No entries --", "-- Boot … --"
            continue
        text = _PID.sub(r"\1:", _STAMP.sub("", text))
        counts[text] = counts.get(text, 0) + 1
        counts.move_to_end(text)
    return list(counts.items())


def check_journal(report: Report) -> tuple[list[Finding], list[str]]:
    section = report.first("journal")
    if section is None:
        return [], []
    source = section.arg(0)
    if source == "none":
        return [], ["No journal or syslog of the last boot was found on the instance's root."]
    folded = fold(list(section.lines))
    if not folded:
        return [], []
    newest = folded[-MAX_JOURNAL_LINES:]
    total = sum(count for _, count in folded)
    evidence = [text if count == 1 else f"{text} (×{count})" for text, count in newest]
    return [
        finding(
            "journal.errors",
            f"the last boot logged {total} error line{'s' if total != 1 else ''} in {_SOURCES.get(source, source)}",
            evidence,
        )
    ], []
