"""The synthetic listing generator: realistic, deterministic listings for samples and benchmarks.

Not part of ingest: it writes raw records that the pipeline then reads like any other file.
`listings` draws each group, `places` where it meets, `text` what it says, `words` the words.

    python -m indexer.generate --count 2400 --seed 2026 --out seed_data/sample_listings.json
"""

from __future__ import annotations

from indexer.generate.listings import (
    DEFAULT_AS_OF,
    VERIFIED_SPAN_DAYS,
    generate_listings,
    main,
    write_listings,
)

__all__ = ["DEFAULT_AS_OF", "VERIFIED_SPAN_DAYS", "generate_listings", "main", "write_listings"]
