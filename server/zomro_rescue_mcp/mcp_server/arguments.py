"""The tools' arguments as the model reads them in tools/list: their types, bounds and words, said as shortly as
they can be (the model reads tools/list in every conversation)."""

import re
from typing import Annotated, Any

from pydantic import AfterValidator, BeforeValidator, Field

from ..operations.models import Zone
from ..settings.config import parse_instance_id

__all__ = [
    "ACCOUNT_NAME",
    "ACCOUNT_SPELLING",
    "AccountArg",
    "Confirm",
    "InstanceId",
    "PreviewId",
    "Wait",
    "ZoneArg",
    "compact",
]


def _ascii_id(value: Any) -> Any:
    """A text id is ASCII digits only: '١٢', '²', '+5' or '1_000' are not instance ids."""
    if isinstance(value, str) and parse_instance_id(value) is None:
        raise ValueError("an instance id is a number written in ASCII digits, such as 5203773")
    return value


# The id is explained once, in the server's instructions (as list_instances gives it).
InstanceId = Annotated[int, Field(ge=1), BeforeValidator(_ascii_id)]
ZoneArg = Annotated[Zone | None, Field(description="pub, own or shr.")]
# The shared arguments (confirm, preview_id, wait, account) are explained once, in the server's instructions.
Confirm = Annotated[bool, Field(strict=True)]  # strict: only a JSON true executes, never "true", 1 or "yes"
Wait = Annotated[bool, Field(strict=True)]
ACCOUNT_NAME = r"^[A-Za-z0-9_.-]{1,40}$"  # as the accounts file spells them: no spaces, line breaks or look-alikes


def _spelled(pattern: str, what: str) -> AfterValidator:
    """A text argument checked against `pattern` without advertising it (tools/list is read in every conversation)."""
    compiled = re.compile(pattern)

    def check(value: str | None) -> str | None:
        if value is not None and not compiled.fullmatch(value):
            raise ValueError(what)
        return value

    return AfterValidator(check)


# Their lengths are bounded by the patterns, checked but not advertised.
PreviewId = Annotated[
    str | None,
    _spelled(r"[A-Za-z0-9_-]{1,64}", "a preview_id is 1 to 64 letters, digits, _ and - only, as a preview returned it"),
]
ACCOUNT_SPELLING = _spelled(ACCOUNT_NAME, "an account name is 1 to 40 letters, digits, _ . or -, as listed")
AccountArg = Annotated[str | None, ACCOUNT_SPELLING]


def compact(schema: Any) -> Any:
    """An input schema as short as it can be said: the model reads tools/list in every conversation.

    Pydantic's generated titles go, and an optional argument (`X | None = None`) is advertised as `X`, not as
    `anyOf: [X, null]` with a null default: leaving it out means the same. Only the advertised schema changes;
    arguments are still validated by the pydantic model behind it (an explicit null is still accepted).
    """
    if isinstance(schema, dict):
        options = schema.get("anyOf")
        if (
            isinstance(options, list)
            and len(options) == 2
            and {"type": "null"} in options
            and "default" in schema
            and schema["default"] is None
        ):
            kept = next(o for o in options if o != {"type": "null"})
            rest = {k: v for k, v in schema.items() if k not in ("anyOf", "default")}
            return compact({**kept, **rest})
        return {k: compact(v) for k, v in schema.items() if k != "title"}
    if isinstance(schema, list):
        return [compact(v) for v in schema]
    return schema
