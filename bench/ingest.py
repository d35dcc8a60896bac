"""Benchmark the ingest pipeline: N generated listings into a fresh store, then a re-run.

    .venv/bin/python bench/ingest.py --listings 10000
    .venv/bin/python bench/ingest.py --listings 10000 --database-url postgresql+psycopg://…

The first run adds every listing (validate, geocode, dedupe, store with audit and outbox);
the second finds each one unchanged.  Reports records per second for both.  The database
given with --database-url is emptied first.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import create_engine
from sqlalchemy.orm import Session

from clearinghouse import geo
from clearinghouse.database import load_taxonomy
from clearinghouse.models import Base
from clearinghouse.taxonomy import default_taxonomy
from indexer.generate import generate_listings
from indexer.pipeline import ingest_records


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--listings", type=int, default=10_000)
    parser.add_argument("--database-url", default=None, help="default: a temporary SQLite file")
    args = parser.parse_args()
    url = args.database_url or f"sqlite:///{tempfile.mkdtemp()}/bench.db"
    engine = create_engine(url)
    Base.metadata.drop_all(engine)
    Base.metadata.create_all(engine)
    taxonomy = default_taxonomy()
    records = list(generate_listings(args.listings, seed=1))
    geo.warm_up()
    with Session(engine) as session:
        load_taxonomy(session, taxonomy)
        session.commit()
        for label in ("first run", "re-run"):
            started = time.perf_counter()
            report = ingest_records(session, records, taxonomy=taxonomy, source="bench")
            took = time.perf_counter() - started
            print(f"{engine.dialect.name} {label}: {report.summary()} in {took:.1f} s "
                  f"= {report.read / took:,.0f} records/s")  # fmt: skip


if __name__ == "__main__":
    main()
