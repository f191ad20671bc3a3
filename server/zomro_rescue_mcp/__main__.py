"""`python -m zomro_rescue_mcp` is the `zomro-rescue-mcp` command."""

from .cli.app import main

raise SystemExit(main())
