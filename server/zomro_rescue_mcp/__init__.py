"""zomro-rescue-mcp: an MCP server that takes a Zomro Cloud VPS into rescue mode and back, safely.

Importing the package does nothing; the server, CLI and simulator load on demand.
"""

__all__ = ["__version__"]

__version__ = "0.3.0"
