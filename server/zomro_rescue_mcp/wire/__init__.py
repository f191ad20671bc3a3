"""The BILLmanager wire: form posts, sessions and logins (two-factor too), "object or array" answers, and the wire's
errors. Knows nothing of rescue mode or MCP.
"""

from .answers import Doc, as_list, text_of
from .billmanager import BillmanagerClient

__all__ = ["BillmanagerClient", "Doc", "as_list", "text_of"]
