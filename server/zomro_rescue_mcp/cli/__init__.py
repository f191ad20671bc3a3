"""The CLI adapter: commands for people and scripts, the terminal's renderer and way of asking, and the demo.
Loaded on first use.
"""

from typing import TYPE_CHECKING

from ..core.lazy import exporter

if TYPE_CHECKING:
    from .app import main

__all__ = ["main"]

__getattr__ = exporter(__name__, {"main": "app"})
