"""The shape of BILLmanager answers: `{"doc": …}`, text in "$", a single element as a bare object, errors on 200."""

from __future__ import annotations

from typing import Any

__all__ = ["JSON", "ApiRefusal", "ok", "one_or_many", "text"]

JSON = dict[str, Any]


class ApiRefusal(Exception):
    """A BILLmanager error answer (delivered with HTTP 200)."""

    def __init__(self, type_: str, object_: str, msg: str, **extra: Any) -> None:
        super().__init__(msg)
        self.doc: JSON = {"doc": {"error": {"$type": type_, "$object": object_, "msg": {"$": msg}, **extra}}}


def one_or_many(items: list[Any]) -> Any:
    """BILLmanager quirk: a repeated element is an array, a single one is a bare object."""
    return items[0] if len(items) == 1 else items


def text(value: object) -> dict[str, str]:
    return {"$": str(value)}


def ok(target: str | None = None) -> JSON:
    return {"doc": {"ok": text(target) if target is not None else {}}}
