"""How the human commands print: readable tables for people, one JSON document for scripts (cli/render.py writes
both)."""

from __future__ import annotations

import json
from typing import TextIO

from pydantic import BaseModel

from ..operations.diagnosis import DiagnoseResult
from ..operations.health import InstanceCheck
from ..operations.models import ActionResult, Instance, InstanceList, RescueImageList
from .render import (
    action_document,
    action_lines,
    check_lines,
    diagnosis_document,
    diagnosis_lines,
    image_table,
    instance_table,
    next_line,
    settled_lines,
)

__all__ = ["Printer"]


class Printer:
    """Readable tables for people, JSON for scripts (cli/render.py writes both); `named`: several accounts, so rows
    name theirs."""

    def __init__(self, out: TextIO, *, as_json: bool, named: bool = False) -> None:
        self._out, self._json, self._named = out, as_json, named

    def _emit(self, model: BaseModel, kind: str, text: str) -> None:
        if self._json:
            text = json.dumps({"kind": kind, **model.model_dump(mode="json")}, indent=2)
        print(text, file=self._out, flush=True)  # stdout ok: the CLI prints for a person

    def instances(self, data: InstanceList) -> None:
        self._emit(data, "instances", instance_table(data, named=self._named))

    def instance(self, data: Instance) -> None:
        self._emit(data, "instance", instance_table(data, named=self._named))

    def images(self, data: RescueImageList) -> None:
        self._emit(data, "images", image_table(data, named=self._named))

    def check(self, data: InstanceCheck) -> None:
        self._emit(data, "check", check_lines(data, named=self._named))

    def diagnosis(self, data: DiagnoseResult) -> None:
        """The findings as a table, or the whole result as one JSON document (its next step a command to run)."""
        if self._json:
            text = json.dumps(diagnosis_document(data, named=self._named), indent=2)
        else:
            text = diagnosis_lines(data, named=self._named)
        print(text, file=self._out, flush=True)  # stdout ok: the CLI prints for a person

    def action(self, data: ActionResult) -> None:
        """A preview, or an executed request (with a generated password, printed at once); text only."""
        if self._json:
            return  # the JSON form is one document at the end: see change()
        said = action_lines(data, named=self._named)
        print("\n".join(said), file=self._out, flush=True)  # stdout ok: the CLI prints for a person

    def settled(self, data: ActionResult) -> None:
        if not self._json:
            print(settled_lines(data), file=self._out, flush=True)  # stdout ok: the CLI prints for a person

    def change(self, preview: ActionResult, final: ActionResult, *, dry_run: bool = False) -> None:
        """The end of enter/exit: the next step, or one JSON document holding the preview and the result (a dry
        run: the preview alone)."""
        if self._json:
            document: dict[str, object] = {
                "kind": final.kind,
                "preview": action_document(preview, named=self._named, dry_run=dry_run),
            }
            if not dry_run:
                document["result"] = action_document(final, named=self._named)
            print(json.dumps(document, indent=2), file=self._out, flush=True)  # stdout ok: the CLI
        else:
            said = next_line(final, named=self._named, dry_run=dry_run)
            print(said, file=self._out, flush=True)  # stdout ok: the CLI prints for a person
