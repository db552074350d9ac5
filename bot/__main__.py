"""`python -m bot` is the same as the `ptibot` command."""

from bot.cli import main

raise SystemExit(main())
