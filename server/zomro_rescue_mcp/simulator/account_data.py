"""What the functions of one simulated account read and change: its data, as the listing and rescue functions see it.

`SimulatedAccount` (functions.py) is the one implementation; the functions it dispatches to are typed against this
protocol, so they need not import the dispatcher (the imports stay one-way).
"""

from __future__ import annotations

from typing import Protocol

from .answers import JSON, ApiRefusal
from .rescue_systems import RescueSystems
from .state import Behaviour, SimImage, SimInstance

__all__ = ["AccountData"]


class AccountData(Protocol):
    """One account's instances, images, saved filter and the endpoint's timing and behaviour."""

    instances: dict[int, SimInstance]
    images: list[SimImage]
    saved_filter: dict[str, str]
    failing_rescues: set[int]
    odd_rows: list[JSON]
    reported_total: int | None
    reports_total: bool

    @property
    def max_page_size(self) -> int | None: ...
    @property
    def behaviour(self) -> Behaviour: ...
    @property
    def transition_seconds(self) -> float: ...
    @property
    def transition_lag(self) -> float: ...
    @property
    def rescue_systems(self) -> RescueSystems | None:
        """What runs a rescued instance's rescue system; None: none runs (the instances keep their addresses)."""
        ...

    def instance(self, fields: dict[str, str]) -> SimInstance:
        """The instance `elid` names, or the refusal of an unknown one."""
        ...

    def field_error(self, field: str, message: str) -> ApiRefusal:
        """A cloud-layer refusal of one field."""
        ...
