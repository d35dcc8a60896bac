"""`python -m indexer.generate`: write synthetic listings as JSON (see `listings.main`)."""

from __future__ import annotations

from indexer.generate.listings import main

raise SystemExit(main())
