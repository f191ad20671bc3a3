"""The CLI's reports, which change nothing: `doctor` (configuration, credentials and reachability of each account,
reads only; `--capture` records one account's answers for support) and `accounts` (the configured accounts and their
guard rails, no API call). Never a secret."""

from __future__ import annotations

import json
import sys
from typing import TYPE_CHECKING, TextIO

from ..core import redact
from ..core.errors import ConfigError, ZomroError
from ..core.logcontext import for_account
from ..core.printable import printable
from ..operations.audit import AuditTrail
from ..operations.rescue import RescueService
from ..settings.accounts import Accounts
from ..settings.config import Settings
from ..wire.billmanager import BillmanagerClient
from .render import lines, row

if TYPE_CHECKING:
    import httpx2

__all__ = ["list_accounts", "run_doctor"]


async def run_doctor(
    accounts: Accounts,
    account: str | None,
    transport: httpx2.AsyncBaseTransport | None,
    out: TextIO,
    *,
    capture: str | None,
    instance: int | None,
    as_json: bool,
) -> int:
    """What is shared, then one line per account (each logged in with its own client, reads only); every check
    runs and the first problem decides. `--capture` records one account: the named one, or the only one."""
    chosen = [accounts.get(account)] if account is not None else list(accounts.settings)
    checked = [s for s in chosen if s is not None]
    if capture is not None and len(checked) > 1:
        raise ConfigError(
            f"--capture records one account: add --account NAME (one of {', '.join(accounts.names)}).",
            kind="invalid.account",
        )
    shared = accounts.shared
    checks: dict[str, str] = {
        "config": accounts.source
        or "environment (one account, named default)"
        + (f"; ZOMRO_CONFIG=none, so {accounts.skipped} is not read" if accounts.skipped else ""),
        "timeouts": f"{shared.api.timeout:g} s per request, watch up to {shared.timing.wait_seconds:g} s",
    }
    code = 0
    audit_log = shared.guard_rails.audit_log
    if audit_log is None:
        checks["audit"] = "off"
    elif (problem := AuditTrail.problem(audit_log)) is not None:
        checks["audit"] = f"problem: {problem}; fix ZOMRO_AUDIT_LOG"
        code = 2
    else:
        checks["audit"] = f"{audit_log} (writable)"
    reports: dict[str, dict[str, str]] = {}
    for settings in checked:
        if settings.api.problem is not None:  # its credentials cannot be used: nothing to log in with
            reports[settings.api.account] = {**_rails(settings), "api": f"problem: {settings.api.problem}"}
            code = code or 2
            continue
        api = BillmanagerClient(settings, transport=transport)
        try:  # one client per account, so one login (a two-factor code is never sent twice)
            with for_account(settings.api.account):
                report, failed = await _doctor(settings, api)
                reports[settings.api.account] = report
                code = code or failed
                if capture is not None:
                    await _capture(settings, api, capture, instance)
        finally:
            await api.aclose()
    if as_json:
        document = {"ready": code == 0, "checks": checks, "accounts": reports}
        print(json.dumps(document, indent=2), file=out)  # stdout ok: the CLI
        return code
    for name, value in checks.items():
        print(lines(f"{name:<10} {value}"), file=out)  # stdout ok: the CLI prints for a person
    for name, report in reports.items():
        rails = "; ".join(f"{k} {v}" for k, v in report.items() if k != "api")
        print(lines(f"account {name}: {report['api']}; {rails}"), file=out)  # stdout ok: the CLI prints for a person
    verdict = "ready: the server would run in the mode above." if code == 0 else "not ready: fix the problem above."
    print(verdict, file=out)  # stdout ok: the CLI prints for a person
    return code


def _rails(settings: Settings) -> dict[str, str]:
    """An account's report before its check: where it goes, how it logs in, its guard rails."""
    rails = settings.guard_rails
    allowlist = ", ".join(str(i) for i in sorted(rails.allowed_instances)) if rails.allowed_instances else "off (all)"
    return {
        "api": "",
        "endpoint": "built-in simulator" if settings.api.simulator else settings.api.api_url,
        "auth": settings.api.auth_kind or "-",
        "read-only": "on" if rails.read_only else "off",
        "allowlist": allowlist,
        "approval": {"always": "on", "auto": "auto", "never": "off"}[rails.require_approval],
    }


async def _doctor(settings: Settings, api: BillmanagerClient) -> tuple[dict[str, str], int]:
    """One account's mode and reachability, with read-only calls; never a secret. Its report and exit status."""
    rails = settings.guard_rails
    report = _rails(settings)
    try:
        service = RescueService(api, account=settings.api.account, allowed_instances=rails.allowed_instances)
        instances = await service.list_instances(limit=1)
        report["api"] = f"ok: logged in, {instances.total} instance(s) visible"
        return report, 0
    except ZomroError as exc:
        report["api"] = f"problem: {redact.scrub(str(exc))}"
        return report, exc.exit_code


def list_accounts(accounts: Accounts, out: TextIO, *, as_json: bool, only: str | None = None) -> int:
    """The accounts, their endpoint, how they log in (the variables holding the secrets, never a value) and their
    guard rails; 2 when an account's credentials cannot be used (a server would not start), else 0."""
    problems: list[str] = []
    rows: list[dict[str, object]] = []
    widths = (16, 8, 28, 12, 10, 18, 9)
    table = [row(widths, "ACCOUNT", "DEFAULT", "ENDPOINT", "AUTH", "READ-ONLY", "ALLOWLIST", "APPROVAL", "SECRETS")]
    for settings in accounts.settings:
        if only is not None and settings.api.account != only:
            continue
        rails, api = settings.guard_rails, settings.api
        allowed = sorted(rails.allowed_instances) if rails.allowed_instances is not None else None
        endpoint = "built-in simulator" if api.simulator else api.api_url
        default = api.account == accounts.default
        rows.append(
            {
                "name": api.account,
                "default": default,
                "endpoint": endpoint,
                "auth": api.auth_kind or None,
                "secrets_from": list(api.secrets_from),
                "read_only": rails.read_only,
                "allowed_instances": allowed,
                "require_approval": rails.require_approval,
                "problem": api.problem,
            }
        )
        if api.problem is not None:
            problems.append(f"account {api.account}: problem: {api.problem}")
        table.append(
            row(
                widths,
                api.account,
                "yes" if default else "",
                endpoint,
                api.auth_kind or "-",
                "on" if rails.read_only else "off",
                ",".join(map(str, allowed)) if allowed else "all",
                {"always": "on", "auto": "auto", "never": "off"}[rails.require_approval],
                ", ".join(api.secrets_from) or "-",
            )
        )
    if as_json:
        document = {"kind": "accounts", "source": accounts.source, "accounts": rows}
        print(json.dumps(document, indent=2), file=out)  # stdout ok: the CLI's --json output
        return 2 if problems else 0
    table.append(printable(f"from {accounts.source or 'the environment (ZOMRO_*)'}"))
    print("\n".join([*table, lines(*problems)] if problems else table), file=out)  # stdout ok: the CLI, for a person
    return 2 if problems else 0


async def _capture(settings: Settings, api: BillmanagerClient, path: str, instance_id: int | None) -> None:
    """Record the API's answers for support (read-only calls), with personal data replaced; says what it did."""
    from ..operations.capture import capture, write_capture

    recorded = await capture(api, settings, instance_id)
    write_capture(path, recorded.document)
    said = (
        f"capture: wrote {path} (mode 0600) with {len(recorded.document['answers'])} answers; {recorded.report}. "
        "Read it before you share it."
    )
    print(printable(said), file=sys.stderr)  # stderr, so stdout stays the doctor's verdict (or its JSON)
