"""The indexer: ingest pipelines into the store, and outbox sync from the store to search."""
