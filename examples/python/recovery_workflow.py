"""Run the rescue workflow against a running zomro-rescue-mcp server with the official MCP Python client.

    python recovery_workflow.py web-1                                   # spawns `zomro-rescue-mcp serve` (stdio)
    python recovery_workflow.py web-1 --command "zomro-rescue-mcp serve --simulator"
    ZOMRO_MCP_TOKEN=… python recovery_workflow.py web-1 --url http://127.0.0.1:8000/mcp

It finds the instance, lists the images, previews entering rescue mode, asks you (or takes --yes), enters,
prints the login, diagnoses the instance's disk from its rescue system, previews the fix of each critical finding
(its diff) and applies the ones you approve, then previews leaving rescue mode and leaves it the same way; the
server checks that the instance answers again. The stdio
server gets your ZOMRO_* settings; the HTTP token is read from ZOMRO_MCP_TOKEN, never from the command line.
Each confirmed call carries the preview_id of its preview. The server asks for approval through this client
(ZOMRO_REQUIRE_APPROVAL=auto, the default, or 1): its question is asked here, on the terminal.
With several accounts (an accounts file), the instance is looked for in every account (or the one --account
names) and each call carries the account it was found in, as a confirmed change must.
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import sys
from typing import Any

import anyio
import httpx2
import mcp.types as types
from mcp import Client, StdioServerParameters
from mcp.client.streamable_http import streamable_http_client


async def call(client: Client, tool: str, **arguments: Any) -> dict[str, Any]:
    result = await client.call_tool(tool, arguments, progress_callback=show_progress)
    if result.is_error:
        text = " ".join(getattr(block, "text", "") for block in result.content)
        raise SystemExit(f"{tool} refused: {text}")
    return dict(result.structured_content or {})


async def show_progress(progress: float, total: float | None, message: str | None) -> None:
    print(f"   ... {message}")


async def answer_approval(context: Any, params: types.ElicitRequestParams) -> types.ElicitResult:
    """The server's approval question, put to the person at this terminal (never answered automatically)."""
    typed = (await anyio.to_thread.run_sync(input, f"{params.message}\n> ")).strip()
    if not typed:
        return types.ElicitResult(action="decline")
    return types.ElicitResult(action="accept", content={"instance_id": typed})


def approved(question: str, assume_yes: bool) -> bool:
    if assume_yes:
        print(f"{question} yes (--yes)")
        return True
    return input(f"{question} [y/N] ").strip().lower() in ("y", "yes")


async def workflow(client: Client, name: str, image: str, assume_yes: bool, account: str | None) -> None:
    searched = {"account": account} if account else {}
    found = (await call(client, "list_instances", query=name, **searched))["instances"]
    if len(found) != 1:
        raise SystemExit(f"{len(found)} instances match {name!r}: {[(i['account'], i['name']) for i in found]}")
    instance = found[0]
    # The instance's id and its account travel together: ids may repeat across the server's accounts.
    target = {"instance_id": instance["id"], "account": instance["account"]}
    print(
        f"instance {instance['id']} ({instance['name']}, {instance['ip']}) of account {instance['account']} "
        f"is {instance['status']}"
    )
    images = await call(client, "list_rescue_images", **target)
    print(f"{len(images['images'])} rescue images offered")
    preview = await call(client, "enter_rescue", **target, image=image)
    print(f"PREVIEW: {preview['summary']}")
    if not approved("Enter rescue mode?", assume_yes):
        print("Nothing was changed.")
        return
    # The confirmed call carries the image the preview resolved and the preview's id: only that preview confirms.
    image_id, preview_id = preview["image"]["id"], preview["preview_id"]
    done = await call(client, "enter_rescue", **target, image=image_id, confirm=True, preview_id=preview_id)
    print(f"DONE: {done['summary']}")
    if done.get("password"):
        print(f"root password (shown once): {done['password']}")
    print(f"next: {done['next_step']}")
    await repair(client, target, assume_yes)
    leaving = await call(client, "exit_rescue", **target)
    print(f"PREVIEW: {leaving['summary']}")
    if not approved("Repairs done: leave rescue mode?", assume_yes):
        return
    back = await call(client, "exit_rescue", **target, confirm=True, preview_id=leaving["preview_id"])
    print(f"DONE: {back['summary']}")
    print(json.dumps({"instance": instance["id"], "final_state": back["status"], "reachable": back.get("reachable")}))


async def repair(client: Client, target: dict[str, Any], assume_yes: bool) -> None:
    """Diagnose the disk, then preview, approve and apply the fix of each critical finding that names one."""
    found = await call(client, "diagnose_instance", **target)
    print(f"DIAGNOSIS: {found['summary']}")
    for finding in found["findings"]:
        print(f"  {finding['severity']} {finding['kind']}: {finding['summary']}")
        if finding["severity"] != "critical" or not finding["fix"]:
            continue
        fix = {"fix": finding["fix"], "target": finding["target"]}
        preview = await call(client, "repair_instance", **target, **fix)
        print(f"PREVIEW: {preview['summary']}\n{preview['diff'] or chr(10).join(preview['commands'])}")
        if not approved(f"Apply {finding['fix']}?", assume_yes):
            continue
        done = await call(client, "repair_instance", **target, **fix, confirm=True, preview_id=preview["preview_id"])
        print(f"DONE: {done['summary']}")


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("instance", help="name, IP or id of the server")
    parser.add_argument("--image", default="Ubuntu 22.04", help="rescue image (default Ubuntu 22.04)")
    parser.add_argument("--command", default="zomro-rescue-mcp serve", help="stdio server command")
    parser.add_argument("--url", help="Streamable HTTP endpoint instead of a stdio command")
    parser.add_argument("--yes", action="store_true", help="approve every step (for a demonstration)")
    parser.add_argument("--account", help="look for the instance in this account only (several accounts)")
    args = parser.parse_args()
    if args.url:
        token = os.environ.get("ZOMRO_MCP_TOKEN")
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        async with (
            httpx2.AsyncClient(headers=headers, timeout=300) as http,
            Client(streamable_http_client(args.url, http_client=http), elicitation_callback=answer_approval) as client,
        ):
            await workflow(client, args.instance, args.image, args.yes, args.account)
        return
    command, *command_args = shlex.split(args.command)
    # The ZOMRO_* settings (an accounts file's secrets too, when it names them ZOMRO_…), and where that file is.
    settings = {k: v for k, v in os.environ.items() if k.startswith("ZOMRO_") or k in ("HOME", "XDG_CONFIG_HOME")}
    server = StdioServerParameters(command=command, args=command_args, env=settings)
    async with Client(server, elicitation_callback=answer_approval) as client:
        await workflow(client, args.instance, args.image, args.yes, args.account)


if __name__ == "__main__":
    try:
        anyio.run(main)
    except KeyboardInterrupt:
        sys.exit(130)
