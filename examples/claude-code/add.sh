#!/bin/sh
# Register the server with Claude Code (user scope). The values come from your environment, so the secrets
# are not written into this file or your shell history; Claude Code keeps them in its own configuration.
# The server's name comes before -e (which takes several values), and the server's command follows `--`.
claude mcp add --scope user zomro-rescue \
  -e ZOMRO_USERNAME="$ZOMRO_USERNAME" \
  -e ZOMRO_PASSWORD="$ZOMRO_PASSWORD" \
  -- zomro-rescue-mcp serve

# To try it without an account, on the built-in simulator:
# claude mcp add --scope user zomro-rescue-simulator -- zomro-rescue-mcp serve --simulator
