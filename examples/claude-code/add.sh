#!/bin/sh
# Register the server with Claude Code (user scope). The credentials stay in Claude Code's own config.
claude mcp add zomro-rescue --scope user \
  --env ZOMRO_USERNAME=you@example.com \
  --env ZOMRO_PASSWORD=your-zomro-password \
  -- zomro-rescue-mcp serve

# To try it without an account, on the built-in simulator:
# claude mcp add zomro-rescue-simulator -- zomro-rescue-mcp serve --simulator
