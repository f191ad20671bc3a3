"""What listing instances and images, entering and leaving rescue mode mean: pre-flight rules, the one pipeline
(request, preview, approval, execute, settle), waiting, previews and their ids, approval, passwords, the audit
trail and the support capture. The CLI and the MCP server both call it.
"""

from .approval import Answer, Approval, judge
from .assembly import assemble
from .audit import AuditTrail
from .capture import capture, write_capture
from .fleet import Fleet
from .images import is_windows
from .instances import matches
from .models import (
    ActionResult,
    EnterRescueResult,
    ExitRescueResult,
    Instance,
    InstanceList,
    RescueImage,
    RescueImageList,
    Zone,
)
from .pipeline import EnterRequest, ExitRequest, Request
from .rescue import RescueService

__all__ = [
    "ActionResult",
    "Answer",
    "Approval",
    "AuditTrail",
    "EnterRequest",
    "EnterRescueResult",
    "ExitRequest",
    "ExitRescueResult",
    "Fleet",
    "Instance",
    "InstanceList",
    "Request",
    "RescueImage",
    "RescueImageList",
    "RescueService",
    "Zone",
    "assemble",
    "capture",
    "is_windows",
    "judge",
    "matches",
    "write_capture",
]
