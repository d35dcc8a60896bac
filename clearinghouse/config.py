"""Settings, read from the environment once when the app is built."""

from __future__ import annotations

import os
import secrets
from collections.abc import Mapping
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

SEARCH_ENGINES = ("embedded", "elasticsearch", "database")
TRUE_WORDS = ("1", "true", "yes", "on")
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")


def from_environment(
    instance_path: str, environ: Mapping[str, str] | None = None
) -> dict[str, Any]:
    """Return the app settings from CLEARINGHOUSE_* variables, with defaults for a laptop."""
    env = os.environ if environ is None else environ
    instance = Path(instance_path)
    database_url = (
        env.get("CLEARINGHOUSE_DATABASE_URL") or f"sqlite:///{instance / 'clearinghouse.db'}"
    )
    engine = env.get("CLEARINGHOUSE_SEARCH", "embedded").strip().lower() or "embedded"
    if engine not in SEARCH_ENGINES:
        raise ValueError(
            f"CLEARINGHOUSE_SEARCH={engine!r} is not a search engine; use one of {SEARCH_ENGINES}"
        )
    if engine == "database" and not database_url.startswith("postgresql"):
        raise ValueError(
            "CLEARINGHOUSE_SEARCH=database needs PostgreSQL (CLEARINGHOUSE_DATABASE_URL="
            "postgresql+psycopg://…); on SQLite use CLEARINGHOUSE_SEARCH=embedded, the "
            "database's own search"
        )
    fallback = env.get("CLEARINGHOUSE_SEARCH_FALLBACK", "database").strip().lower() or "database"
    if fallback not in ("database", "off"):
        raise ValueError(
            f"CLEARINGHOUSE_SEARCH_FALLBACK={fallback!r} is not a choice; use database or off"
        )
    # Set CLEARINGHOUSE_SECURE_COOKIES=1 when the app is served over HTTPS (behind a proxy
    # that terminates TLS, too): session and remember-me cookies are then sent only on HTTPS.
    secure_cookies = env.get("CLEARINGHOUSE_SECURE_COOKIES", "").strip().lower() in TRUE_WORDS
    base_url = _base_url(env.get("CLEARINGHOUSE_BASE_URL", ""))
    return {
        "SQLALCHEMY_DATABASE_URI": database_url,
        "SEARCH_ENGINE": engine,
        "INDEX_PATH": env.get("CLEARINGHOUSE_INDEX_PATH")
        or default_index_path(database_url, instance),
        "ES_URL": env.get("CLEARINGHOUSE_ES_URL", "http://127.0.0.1:9200"),
        "ES_INDEX": env.get("CLEARINGHOUSE_ES_INDEX", "clearinghouse-groups"),
        # Copies of each shard on other nodes: 1 on a cluster of three, so a node can die.
        "ES_REPLICAS": _count(
            env.get("CLEARINGHOUSE_ES_REPLICAS", "0"), "CLEARINGHOUSE_ES_REPLICAS"
        ),
        # While Elasticsearch is down or slower than the budget, the database answers searches
        # (marked degraded); the breaker skips Elasticsearch after N failures in a row and
        # probes it again after the cool-down.
        "SEARCH_FALLBACK": fallback == "database",
        "SEARCH_TIMEOUT": _positive(env, "CLEARINGHOUSE_SEARCH_TIMEOUT_MS", 1500.0) / 1000,
        "SEARCH_BREAKER_FAILURES": int(_positive(env, "CLEARINGHOUSE_SEARCH_BREAKER_FAILURES", 3)),
        "SEARCH_BREAKER_COOL_DOWN": _positive(env, "CLEARINGHOUSE_SEARCH_COOL_DOWN", 15.0),
        "GEOCODER": env.get("CLEARINGHOUSE_GEOCODER", "offline"),
        "SECRET_KEY": env.get("CLEARINGHOUSE_SECRET_KEY") or _instance_secret(instance),
        "TILE_URL": env.get(
            "CLEARINGHOUSE_TILE_URL", "https://tile.openstreetmap.org/{z}/{x}/{y}.png"
        ),
        "RATELIMIT_STORAGE_URI": env.get("CLEARINGHOUSE_RATELIMIT_STORAGE", "memory://"),
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "REMEMBER_COOKIE_HTTPONLY": True,
        "REMEMBER_COOKIE_SAMESITE": "Lax",
        # "Keep me signed in" on a staff computer lasts two weeks, not Flask-Login's year.
        "REMEMBER_COOKIE_DURATION": timedelta(days=14),
        # A form's CSRF token lasts a working day, so a long edit is not lost on submit.
        "WTF_CSRF_TIME_LIMIT": 8 * 3600,
        "SESSION_COOKIE_SECURE": secure_cookies,
        "REMEMBER_COOKIE_SECURE": secure_cookies,
        # hide_parameters: a failed statement's error (and so a logged traceback) never carries
        # the values it was given, such as a listing's private contact fields.
        "SQLALCHEMY_ENGINE_OPTIONS": {"pool_pre_ping": True, "hide_parameters": True},
        "LOG_LEVEL": _log_level(env.get("CLEARINGHOUSE_LOG_LEVEL", "INFO")),
        # Absolute links (JSON-LD, .ics, API) use BASE_URL when set, never the Host header;
        # any other Host is refused (400) when TRUSTED_HOSTS names the site's host names.
        "BASE_URL": base_url,
        "TRUSTED_HOSTS": _host_list(env.get("CLEARINGHOUSE_TRUSTED_HOSTS", "")),
        # Signed-in staff sessions end after this on the server, whatever the cookie says.
        "STAFF_SESSION_HOURS": 12,
        # Partner sources (`clearinghouse sources …`): fetching and the safety brake.
        "SOURCE_FETCH_TIMEOUT": _positive(env, "CLEARINGHOUSE_SOURCE_TIMEOUT", 30.0),
        "SOURCE_MAX_BYTES": int(_positive(env, "CLEARINGHOUSE_SOURCE_MAX_BYTES", 50 * 1024**2)),
        "SOURCE_FETCH_RETRIES": 2,
        # Partner webhooks: timeouts per try, and how long a failing endpoint is retried
        # before its subscription pauses.  Private/loopback URLs only for tests and demos.
        "WEBHOOK_CONNECT_TIMEOUT": 5.0,
        "WEBHOOK_READ_TIMEOUT": 10.0,
        "WEBHOOK_RETRY_SECONDS": 86400,
        "WEBHOOK_ALLOW_PRIVATE_URLS": False,
        "SOURCE_RETRY_BACKOFF": 1.0,
        "SOURCE_REMOVAL_LIMIT": _share(env.get("CLEARINGHOUSE_SOURCE_REMOVAL_LIMIT", "20%")),
        # Outgoing e-mail (clearinghouse/mail.py) and groups confirming their own listings
        # (clearinghouse/freshness.py).  Without an SMTP URL nothing is sent; the demo logs
        # the links of the messages it would have sent instead (MAIL_LOG_LINKS).
        "SMTP_URL": _smtp_url(env.get("CLEARINGHOUSE_SMTP_URL", "")),
        "MAIL_FROM": env.get("CLEARINGHOUSE_MAIL_FROM", "").strip()
        or "Self-help group clearinghouse <listings@localhost>",
        "MAIL_REPLY_TO": env.get("CLEARINGHOUSE_MAIL_REPLY_TO", "").strip() or None,
        "MAIL_LOG_LINKS": False,
        "CONFIRM_AFTER_DAYS": int(_positive(env, "CLEARINGHOUSE_CONFIRM_AFTER_DAYS", 335)),
        "CONFIRM_LINK_DAYS": int(_positive(env, "CLEARINGHOUSE_CONFIRM_LINK_DAYS", 30)),
        # A CA bundle (PEM) to verify the mail server's certificate with, instead of the
        # system's; verification itself is never switched off.
        "SMTP_CA_FILE": _existing_file(env.get("CLEARINGHOUSE_SMTP_CA_FILE", ""), "SMTP_CA_FILE"),
        # Searches rank listings nobody confirmed or checked within two years below fresh
        # ones (search/documents.py); 0 to rank them alike (then run `index rebuild`).
        "DEMOTE_STALE": _switch(env, "CLEARINGHOUSE_DEMOTE_STALE", default=True),
    }


def _switch(env: Mapping[str, str], name: str, *, default: bool) -> bool:
    text = env.get(name, "").strip().lower()
    if not text:
        return default
    if text not in (*TRUE_WORDS, "0", "false", "no", "off"):
        raise ValueError(f"{name}={text!r} is not a switch; use 1 (on) or 0 (off)")
    return text in TRUE_WORDS


def _existing_file(text: str, name: str) -> str | None:
    text = text.strip()
    if text and not Path(text).is_file():
        raise ValueError(f"CLEARINGHOUSE_{name}={text!r} is not a file that can be read")
    return text or None


def _smtp_url(text: str) -> str | None:
    """smtp://user:pass@host:587?starttls=1 or smtps://…:465; None when not set."""
    from clearinghouse.mail import SmtpSettings

    text = text.strip()
    if not text:
        return None
    SmtpSettings.parse(text)  # a clear error at start-up rather than at the first send
    return text


def _positive(env: Mapping[str, str], name: str, default: float) -> float:
    text = env.get(name, "").strip()
    if not text:
        return default
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not 0 < value < 1e12:
        raise ValueError(f"{name}={text!r} is not a positive number")
    return value


def _share(text: str) -> float:
    """ "20%" or "0.2" → 0.2: the largest share of a source's listings one refresh may remove."""
    cleaned = text.strip()
    try:
        value = float(cleaned.removesuffix("%")) / (100 if cleaned.endswith("%") else 1)
    except ValueError:
        value = -1.0
    if not 0 <= value <= 1:
        raise ValueError(
            f"CLEARINGHOUSE_SOURCE_REMOVAL_LIMIT={text!r} is not a share; write it like 20% or 0.2"
        )
    return value


def _log_level(text: str) -> str:
    level = text.strip().upper() or "INFO"
    if level not in LOG_LEVELS:
        raise ValueError(
            f"CLEARINGHOUSE_LOG_LEVEL={text!r} is not a level; use one of {LOG_LEVELS}"
        )
    return level


def _count(text: str, name: str) -> int:
    if not text.strip().isdigit():
        raise ValueError(f"{name}={text!r} is not a whole number (0, 1, 2 …)")
    return int(text.strip())


def _base_url(text: str) -> str | None:
    text = text.strip().rstrip("/")
    if not text:
        return None
    parts = urlsplit(text)
    if parts.scheme not in ("http", "https") or not parts.netloc or parts.path or parts.query:
        raise ValueError(
            f"CLEARINGHOUSE_BASE_URL={text!r} is not a site origin; "
            "write it like https://groups.example.org (scheme and host, no path)"
        )
    return text


def _host_list(text: str) -> list[str] | None:
    """Host names separated by commas; None (any host) when empty."""
    hosts = [host.strip().lower() for host in text.split(",") if host.strip()]
    return hosts or None


def default_index_path(database_url: str, instance: Path) -> str:
    """The embedded index sits beside a SQLite database file, else in the instance folder."""
    prefix = "sqlite:///"
    if database_url.startswith(prefix) and database_url != "sqlite:///:memory:":
        return str(Path(database_url[len(prefix) :]).with_suffix(".search.db"))
    return str(instance / "search.db")


def _instance_secret(instance: Path) -> str:
    """A per-install random secret kept in the instance folder, so sessions survive restarts."""
    path = instance / "secret_key"
    if path.exists():
        return path.read_text().strip()
    instance.mkdir(parents=True, exist_ok=True)
    secret = secrets.token_hex(32)
    path.write_text(secret)
    path.chmod(0o600)
    return secret
