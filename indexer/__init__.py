"""The indexer: ingest pipelines into the store, and outbox sync from the store to search.

Which way imports go (tests/unit/test_architecture.py checks it, imports inside functions
included, and fails on any import cycle between modules):

- the core — every `clearinghouse` module outside the layer below (models, store, listings,
  geo, search, schedule, vocab, taxonomy, …) — imports only the core, never `indexer`;
- `indexer` imports the core, never the web blueprints or the CLI;
- the app factory (`clearinghouse/__init__`), the web blueprints (`clearinghouse.public`,
  `.staff`, `.api`, `.hsds`), the CLI (`clearinghouse.cli`) and the worker
  (`clearinghouse.worker`) import the core and `indexer`, at module top.

Inside `indexer`, the format modules (`csv_layout`, `meeting_guide`, `hsds_reader`,
`project_json`) import `reader_base` and never each other; only `readers`, the chooser,
imports them.  The synthetic-data generator (`indexer.generate`) is not ingest: it writes
raw records that the pipeline reads like any file.
"""
