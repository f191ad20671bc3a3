"""The package's public surface and its promise that importing it does nothing."""

from __future__ import annotations

import subprocess
import sys

import zomro_rescue_mcp
from zomro_rescue_mcp.core import errors


def test_the_package_exports_only_its_version() -> None:
    assert zomro_rescue_mcp.__all__ == ["__version__"]


def test_the_error_hierarchy_is_pinned() -> None:
    assert sorted(errors.__all__) == sorted(
        [
            "ZomroError",
            "ConfigError",
            "InvalidRequestError",
            "AuthError",
            "TwoFactorError",
            "ApiError",
            "NotFoundError",
            "PermissionDeniedError",
            "TransportError",
            "OutcomeUnknownError",
            "StateConflictError",
            "PolicyRefusedError",
        ]
    )
    for name in errors.__all__:
        assert issubclass(getattr(errors, name), errors.ZomroError)


def test_importing_the_package_loads_no_server_http_or_simulator_code() -> None:
    probe = (
        "import sys, zomro_rescue_mcp, zomro_rescue_mcp.cli; "
        "print(sorted(m for m in ('mcp', 'httpx2', 'starlette', 'uvicorn', 'pydantic') if m in sys.modules))"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=60)
    assert done.stdout.strip() == "[]"
