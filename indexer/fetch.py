"""Fetching a partner's feed over HTTP(S): timeouts, a size limit, conditional GET, retries.

`fetch` either saves the body to a file, says the feed has not changed since the ETag /
Last-Modified it was given (one request, HTTP 304), or raises `FetchError` with a message a
person can act on ("no answer within 30 s", "HTTP 404", "an HTML page, not JSON").  urllib3
does the retrying: connection failures, timeouts and 429/5xx answers are tried again with
exponential back-off.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import urllib3
from urllib3.exceptions import (
    ConnectTimeoutError as ConnectTimeout,
)
from urllib3.exceptions import (
    HTTPError,
    MaxRetryError,
    NewConnectionError,
    ProtocolError,
    ReadTimeoutError,
    SSLError,
)

log = logging.getLogger(__name__)

USER_AGENT = "clearinghouse-source-refresh/1 (+https://github.com/)"
CHUNK = 64 * 1024
# Formats whose feeds are JSON: an HTML answer (a login page, a "not found" page) is refused.
JSON_FORMATS = frozenset({"json", "meeting-guide", "hsds", "bmlt"})


class FetchError(Exception):
    """The feed could not be fetched, or is not what it claims to be; the message says why."""


@dataclass(frozen=True)
class FetchSettings:
    timeout: float = 30.0  # seconds to connect, and between bytes of the answer
    max_bytes: int = 50 * 1024 * 1024
    retries: int = 2  # tries after the first
    backoff: float = 1.0  # seconds before the first retry; doubles each time


@dataclass(frozen=True)
class Fetched:
    """A feed's answer: `path` holds the body, or `not_modified` when the server said 304."""

    not_modified: bool
    path: Path | None = None
    etag: str | None = None
    last_modified: str | None = None
    sha256: str | None = None
    content_type: str = ""


def check_url(url: str) -> str | None:
    """Why `url` cannot be a feed's address, or None when it can."""
    parts = urlsplit(url.strip())
    if parts.scheme not in ("http", "https"):
        return "must start with http:// or https://"
    if not parts.hostname:
        return "has no host name"
    if len(url) > 2000:
        return "is longer than 2,000 characters"
    return None


def fetch(
    url: str,
    destination: Path,
    *,
    fmt: str,
    settings: FetchSettings,
    etag: str | None = None,
    last_modified: str | None = None,
) -> Fetched:
    """GET `url` into `destination`, conditionally when an ETag or Last-Modified is known."""
    problem = check_url(url)
    if problem:
        raise FetchError(f"the address {url!r} {problem}")
    headers = {"User-Agent": USER_AGENT, "Accept": _accept(fmt), "Accept-Encoding": "gzip"}
    if etag:
        headers["If-None-Match"] = etag
    if last_modified:
        headers["If-Modified-Since"] = last_modified
    retry = urllib3.Retry(
        total=settings.retries,
        connect=settings.retries,
        read=settings.retries,
        status=settings.retries,
        backoff_factor=settings.backoff / 2,  # urllib3 waits factor × 2^(n-1) from the 2nd
        status_forcelist=(429, 500, 502, 503, 504),
        allowed_methods=frozenset({"GET"}),
        # A long Retry-After would hold the worker; the source's next run waits instead.
        respect_retry_after_header=False,
        raise_on_status=False,
        redirect=5,
    )
    timeout = urllib3.Timeout(connect=settings.timeout, read=settings.timeout)
    host = urlsplit(url).hostname
    try:
        with urllib3.PoolManager(retries=retry, timeout=timeout) as pool:
            response = pool.request("GET", url, headers=headers, preload_content=False)
            try:
                return _read(response, url, destination, fmt, settings)
            finally:
                response.release_conn()
    except MaxRetryError as error:
        raise FetchError(_why(error.reason, settings, host)) from error
    except (ReadTimeoutError, ProtocolError, SSLError, HTTPError) as error:
        raise FetchError(_why(error, settings, host)) from error


def _accept(fmt: str) -> str:
    if fmt in JSON_FORMATS:
        return "application/json, */*;q=0.5"
    return "text/csv, text/plain;q=0.9, */*;q=0.5"


def _read(response: Any, url: str, destination: Path, fmt: str, settings: FetchSettings) -> Fetched:
    status = response.status
    if status == 304:
        return Fetched(not_modified=True)
    if status >= 400:
        reason = getattr(response, "reason", "") or ""
        tried = f" after {settings.retries + 1} tries" if status >= 500 or status == 429 else ""
        raise FetchError(f"the server answered HTTP {status} {reason}".rstrip() + tried)
    if status != 200:
        raise FetchError(f"the server answered HTTP {status}; expected 200 with the feed")
    content_type = (response.headers.get("Content-Type") or "").lower()
    digest = hashlib.sha256()
    size = 0
    with destination.open("wb") as handle:
        for chunk in response.stream(CHUNK, decode_content=True):
            size += len(chunk)
            if size > settings.max_bytes:
                raise FetchError(
                    f"the feed is larger than the limit of {_megabytes(settings.max_bytes)}; "
                    "raise CLEARINGHOUSE_SOURCE_MAX_BYTES if it is meant to be"
                )
            digest.update(chunk)
            handle.write(chunk)
    _check_kind(destination, content_type, fmt)
    return Fetched(
        not_modified=False,
        path=destination,
        etag=response.headers.get("ETag"),
        last_modified=response.headers.get("Last-Modified"),
        sha256=digest.hexdigest(),
        content_type=content_type,
    )


def _check_kind(path: Path, content_type: str, fmt: str) -> None:
    """Refuse an HTML page served where a feed was expected (a moved or login-walled feed)."""
    with path.open("rb") as handle:
        head = handle.read(512).lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    looks_html = head.startswith((b"<!doctype html", b"<html", b"<head", b"<body"))
    if "html" in content_type or looks_html:
        expected = "JSON" if fmt in JSON_FORMATS else "CSV"
        shown = content_type.split(";")[0] or "no Content-Type"
        raise FetchError(
            f"the address answered with an HTML page ({shown}), not {expected}: the feed may "
            "have moved or need signing in; check the URL in a browser"
        )
    if not head:
        raise FetchError("the feed is empty (the server sent no bytes)")


def _why(error: BaseException | None, settings: FetchSettings, host: str | None) -> str:
    tries = settings.retries + 1
    after = f" ({tries} tries)" if tries > 1 else ""
    if isinstance(error, ReadTimeoutError):
        return f"no answer from {host} within {settings.timeout:g} s{after}"
    if isinstance(error, ConnectTimeout):
        return f"could not connect to {host} within {settings.timeout:g} s{after}"
    if isinstance(error, NewConnectionError):
        return f"could not connect to {host}: {_reason(error)}{after}"
    if isinstance(error, SSLError):
        return f"the TLS certificate of {host} was refused: {_reason(error)}"
    if isinstance(error, urllib3.exceptions.ResponseError):
        return f"{host} kept answering with errors{after}: {error}"
    return f"fetching from {host} failed: {_reason(error)}{after}"


def _reason(error: BaseException | None) -> str:
    text = str(error) if error is not None else "unknown error"
    return text.split(": ", 1)[-1][:300]


def _megabytes(size: int) -> str:
    return f"{size / (1024 * 1024):g} MB"
