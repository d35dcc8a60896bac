"""Real PostgreSQL, Elasticsearch and Chromium for the test suite: one module per service.

Each service module is a pytest plugin, loaded from tests/conftest.py (``pytest_plugins``):

  postgres.py  ``postgres_url``: a throwaway PostgreSQL cluster (PostgresServer);
               ``python -m tests.services.postgres`` runs one until stopped
  elastic.py   ``elasticsearch_servers``: a single-node Elasticsearch of each major, 8 and 9
               (ElasticsearchServer), which tests may kill and start again;
               ``elasticsearch_server``, ``elasticsearch_url``: the one of the module's
               ``elasticsearch_major`` (8 unless the module overrides it)
  browser.py   ``chromium_browser``, ``browser_page``: Debian's Chromium through Playwright
  common.py    what they share: free ports, the download cache, the OS user a service runs
               as, and failing (never skipping) when a service is missing

``./scripts/test`` installs the binaries and exports where they are; when those variables
are unset the same places are searched, so plain ``pytest`` works too.  A missing service
fails the tests that need it, with a pointer to ./scripts/test: these tests are never skipped.

Environment:
  CLEARINGHOUSE_TEST_DATABASE_URL  use this PostgreSQL database instead of starting one
  CLEARINGHOUSE_ES_URL             use this Elasticsearch instead of starting one
  CLEARINGHOUSE_TEST_PG_BIN        PostgreSQL's bin dir (default: newest /usr/lib/postgresql/*/bin)
  CLEARINGHOUSE_TEST_PG_USER       OS user that runs PostgreSQL when we are root (postgres)
  CLEARINGHOUSE_TEST_ES_MAJORS     the Elasticsearch majors to test (default: 8,9)
  CLEARINGHOUSE_TEST_ES_HOME       unpacked Elasticsearch 8 (default: newest 8.x in the cache dir)
  CLEARINGHOUSE_TEST_ES9_HOME      assembled Elasticsearch 9 (default: newest 9.x in the cache dir)
  CLEARINGHOUSE_TEST_ES_USER       OS user that runs Elasticsearch when we are root
                                   (clearinghouse-es)
  CLEARINGHOUSE_TEST_ES_JAVA_HOME  JDK for Elasticsearch 8 (default: the `java` on PATH)
  CLEARINGHOUSE_TEST_ES9_JAVA_HOME JDK 21+ for Elasticsearch 9 (set by ./scripts/test)
  CLEARINGHOUSE_TEST_CHROMIUM      Chromium binary (default: /usr/bin/chromium)
  CLEARINGHOUSE_CACHE_DIR          download cache (default: /var/cache/clearinghouse as root,
                                   else ${XDG_CACHE_HOME:-~/.cache}/clearinghouse)
"""
