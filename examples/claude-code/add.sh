#!/bin/sh
# Register the server with Claude Code (user scope). The values come from your environment, so the secrets
# are not written into this file or your shell history; Claude Code keeps them in its own configuration.
# Options go before the server name; the server's command follows `--`.
claude mcp add --scope user \
  -e ZOMRO_AUTH_TOKEN="$ZOMRO_AUTH_TOKEN" \
  zomro-rescue -- zomro-rescue-mcp serve

# To try it without an account, on the built-in simulator:
# claude mcp add --scope user zomro-rescue-simulator -- zomro-rescue-mcp serve --simulator
