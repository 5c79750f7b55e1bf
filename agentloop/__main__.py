"""``python -m agentloop``: the same command line as ``agentloop``."""

from agentloop.cli import main

raise SystemExit(main())
