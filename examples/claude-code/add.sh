#!/bin/sh
# Register the server with Claude Code (user scope), logged in with your Zomro username and password:
#
#   ZOMRO_USERNAME=you@example.com ZOMRO_PASSWORD='…' sh examples/claude-code/add.sh
#
# (or export them first, or read the password with `read -rs ZOMRO_PASSWORD; export ZOMRO_PASSWORD`).
# The values come from your environment, so the secrets are not written into this file; Claude Code keeps
# them in its own configuration. Two-factor accounts also set ZOMRO_TOTP_SECRET, which is passed on when set.
# The server's name comes before -e (which takes several values), and the server's command follows `--`.

# An empty value would be registered as is, and the client would only say "Failed to connect" later.
if [ -z "${ZOMRO_USERNAME:-}" ] && [ -z "${ZOMRO_PASSWORD:-}" ]; then
  missing="ZOMRO_USERNAME and ZOMRO_PASSWORD are"
elif [ -z "${ZOMRO_USERNAME:-}" ]; then
  missing="ZOMRO_USERNAME is"
elif [ -z "${ZOMRO_PASSWORD:-}" ]; then
  missing="ZOMRO_PASSWORD is"
else
  missing=""
fi
if [ -n "$missing" ]; then
  echo "add.sh: $missing unset or empty, so nothing was registered: export your Zomro login as ZOMRO_USERNAME and ZOMRO_PASSWORD and run this again." >&2
  exit 2
fi

if [ -n "${ZOMRO_TOTP_SECRET:-}" ]; then
  set -- -e ZOMRO_TOTP_SECRET="$ZOMRO_TOTP_SECRET"
else
  set --
fi
claude mcp add --scope user zomro-rescue \
  -e ZOMRO_USERNAME="$ZOMRO_USERNAME" \
  -e ZOMRO_PASSWORD="$ZOMRO_PASSWORD" \
  "$@" \
  -- zomro-rescue-mcp serve

# To try it without an account, on the built-in simulator:
# claude mcp add --scope user zomro-rescue-simulator -- zomro-rescue-mcp serve --simulator
