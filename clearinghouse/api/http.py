"""What the partner API and the HSDS API share: keys, rate limits, problems, caching, gzip, CORS.

`install(bp)` wires a blueprint: every request needs `Authorization: Bearer <key>`, each key
has its own rate limit, errors are RFC 9457 problem+json, JSON bodies get an ETag (with 304 on
`If-None-Match`) and gzip when the client accepts it, and browsers on partners' sites may call.
"""

from __future__ import annotations

import functools
import gzip
import hashlib
import logging
import math
import re
import threading
import time
import uuid
import zlib
from collections.abc import Iterable, Iterator, Mapping
from datetime import datetime, timedelta
from typing import Any, NoReturn, cast

import limits
import orjson
from flask import Blueprint, Flask, Response, current_app, json, request
from flask_cors import CORS
from werkzeug.exceptions import HTTPException

from clearinghouse.accounts import KEY_PREFIX, match_api_key
from clearinghouse.extensions import csrf, db, limiter
from clearinghouse.groups import active_group
from clearinghouse.models import ApiKey, Group, utcnow

log = logging.getLogger(__name__)

_INTEGER = re.compile(r"-?[0-9]{1,12}")
# Problem types are names, not pages: a URN needs no domain of ours to resolve.
PROBLEM_TYPE = "urn:clearinghouse:problem:"
# A key's last-used time is written at most this often, so reads don't become writes.
LAST_USED_RESOLUTION = timedelta(minutes=1)
MAX_HEADER_BYTES = 16 * 1024
MAX_AUTHORIZATION_CHARS = 500
GZIP_MIN_BYTES = 1024
DEFAULT_RATE_LIMIT = "120/minute"
# Per-request values live in the WSGI environ (g is shared by requests in one app context).
API_KEY_ENV = "clearinghouse.api_key"
LAST_MODIFIED_ENV = "clearinghouse.last_modified"
STARTED_ENV = "clearinghouse.started"
RATE_WINDOWS = "clearinghouse.api_rate_windows"
EXPOSED_HEADERS = ["ETag", "Last-Modified", "Retry-After", "X-Changes-Cursor", "Link"]
TITLES = {
    400: "Bad request",
    401: "API key required",
    403: "API key not allowed",
    404: "Not found",
    405: "Method not allowed",
    406: "Not acceptable",
    429: "Too many requests",
    431: "Request headers too large",
    503: "Service unavailable",
}


class ApiProblem(Exception):
    """An error answered as problem+json; `invalid_params` names each bad parameter."""

    def __init__(
        self,
        status: int,
        detail: str,
        *,
        slug: str | None = None,
        invalid_params: Iterable[tuple[str, str]] = (),
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.slug = slug or TITLES.get(status, "error").lower().replace(" ", "-")
        self.invalid_params = list(invalid_params)
        self.headers = dict(headers or {})


def bad_param(name: str, reason: str) -> NoReturn:
    """Stop the request with a 400 that names the parameter and what is allowed."""
    raise ApiProblem(
        400, f"{name}: {reason}", slug="invalid-parameter", invalid_params=[(name, reason)]
    )


def public_group_or_404(raw_id: str, noun: str = "group") -> Group:
    """The public group whose UUID is `raw_id` (a path segment), or a 404 that says why.

    `noun` is what the caller's API calls a group ("service" in HSDS).
    """
    try:
        key = str(uuid.UUID(raw_id))
    except ValueError:
        raise ApiProblem(404, f"no {noun} has id {raw_id[:60]!r}; ids are UUIDs") from None
    found = active_group(db.session, uuid=key)
    if found is None:
        raise ApiProblem(404, f"no public {noun} has id {key}; it may have been removed")
    return found


def problem_response(problem: ApiProblem) -> Response:
    body: dict[str, Any] = {
        "type": PROBLEM_TYPE + problem.slug,
        "title": TITLES.get(problem.status, "Error"),
        "status": problem.status,
        "detail": problem.detail,
    }
    if problem.invalid_params:
        body["invalid_params"] = [
            {"name": name, "reason": reason} for name, reason in problem.invalid_params
        ]
    body["instance"] = request.path
    response = current_app.response_class(
        json.dumps(body), status=problem.status, mimetype="application/problem+json"
    )
    for name, value in problem.headers.items():
        response.headers[name] = value
    return response


def check_params(allowed: Iterable[str]) -> None:
    """Unknown query parameters are an error, not silently ignored (typos would mislead)."""
    known = set(allowed)
    unknown = sorted(name for name in request.args if name not in known)
    if unknown:
        allowed_text = ", ".join(sorted(known)) or "none"
        raise ApiProblem(
            400,
            f"unknown parameter(s): {', '.join(unknown)}; allowed: {allowed_text}",
            slug="unknown-parameter",
            invalid_params=[
                (name, f"not a parameter here; allowed: {allowed_text}") for name in unknown
            ],
        )


def single(name: str) -> str | None:
    """A parameter that may be given at most once."""
    values = request.args.getlist(name)
    if len(values) > 1:
        bad_param(name, "give it once")
    return values[0] if values else None


def int_param(name: str, default: int, low: int, high: int) -> int:
    raw = single(name)
    if raw is None:
        return default
    if not _INTEGER.fullmatch(raw):
        bad_param(name, f"{raw[:40]!r} is not a whole number ({low}–{high})")
    value = int(raw)
    if not low <= value <= high:
        bad_param(name, f"{value} is out of range; allowed {low}–{high}")
    return value


# --- wiring -------------------------------------------------------------------------------


def install(
    bp: Blueprint, *, public: Iterable[str] = (), cors_origins: str | list[str] = "*"
) -> None:
    """Make `bp` a keyed, read-only JSON API (see the module docstring).

    `public` names endpoints (e.g. the API's own description) that need no key.
    """
    prefix = bp.url_prefix or ""
    open_endpoints = frozenset(public)
    csrf.exempt(bp)
    bp.before_request(_check_headers)

    @bp.before_request
    def _key_required() -> None:
        if request.endpoint not in open_endpoints:
            _authenticate()

    bp.after_request(_finish)
    bp.register_error_handler(ApiProblem, problem_response)
    bp.register_error_handler(HTTPException, _http_error)

    @bp.before_app_request
    def _routing_errors() -> Response | None:
        # Unknown paths and wrong methods never reach a blueprint's handlers: answer them here.
        error = request.routing_exception
        if error is None or not _under(prefix):
            return None
        if request.method == "OPTIONS":
            return None
        if isinstance(error, HTTPException) and error.code == 405:
            allowed = getattr(error, "valid_methods", None) or ["GET"]
            return problem_response(
                ApiProblem(
                    405,
                    f"{request.method} is not allowed here; use {', '.join(allowed)}",
                    headers={"Allow": ", ".join(allowed)},
                )
            )
        if isinstance(error, HTTPException) and error.code == 404:
            return problem_response(ApiProblem(404, f"there is no {request.path} in this API"))
        return None

    def _setup(state: Any) -> None:
        app: Flask = state.app
        if str(app.config.get("RATELIMIT_STORAGE_URI", "memory://")).startswith("memory://"):
            app.extensions.setdefault(RATE_WINDOWS, LocalWindows())
        CORS(
            app,
            resources={
                rf"{prefix}/*": {"origins": cors_origins},
                rf"{prefix}": {"origins": cors_origins},
            },
            allow_headers=[
                "Authorization",
                "If-None-Match",
                "If-Modified-Since",
                "Accept-Encoding",
            ],
            expose_headers=EXPOSED_HEADERS,
            methods=["GET", "HEAD", "OPTIONS"],
            max_age=86400,
        )

    bp.record_once(_setup)


def _under(prefix: str) -> bool:
    return request.path == prefix or request.path.startswith(prefix + "/")


def _http_error(error: HTTPException) -> Response:
    status = error.code or 500
    if status >= 500:
        raise error
    detail = error.description or TITLES.get(status, "error")
    # Errors raised before the view (clearinghouse.hardening) may name the parameter too.
    named = getattr(error, "invalid_params", ())
    return problem_response(ApiProblem(status, detail, invalid_params=named))


def _check_headers() -> None:
    request.environ[STARTED_ENV] = time.perf_counter()
    size = sum(len(name) + len(value) for name, value in request.headers.items())
    if size > MAX_HEADER_BYTES:
        raise ApiProblem(
            431, f"request headers total {size} bytes; the limit is {MAX_HEADER_BYTES}"
        )


def _authenticate() -> None:
    """Find the Bearer key (kept in the request environ); then apply its own rate limit."""
    if request.method == "OPTIONS":
        return
    header = request.headers.get("Authorization", "")
    challenge = {"WWW-Authenticate": 'Bearer realm="clearinghouse"'}
    if not header:
        raise ApiProblem(
            401,
            "send your API key as 'Authorization: Bearer <key>' (ask the clearinghouse for one)",
            slug="missing-key",
            headers=challenge,
        )
    scheme, _, token = header.strip().partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token or len(header) > MAX_AUTHORIZATION_CHARS:
        raise ApiProblem(
            401,
            "the Authorization header must be 'Bearer <key>'",
            slug="malformed-key",
            headers=challenge,
        )
    api_key = match_api_key(db.session(), token) if token.startswith(KEY_PREFIX) else None
    if api_key is None:
        raise ApiProblem(401, "this API key is not known", slug="unknown-key", headers=challenge)
    if api_key.revoked_at is not None:
        raise ApiProblem(
            403,
            "this API key has been revoked; ask the clearinghouse for a new one",
            slug="revoked-key",
        )
    request.environ[API_KEY_ENV] = api_key
    _rate_limit(api_key)
    _touch(api_key)


def _rate_limit(api_key: ApiKey) -> None:
    """Count this request against each of the key's limits ("10/second;1000/hour")."""
    if not current_app.config.get("RATELIMIT_ENABLED", True):
        return
    try:
        items = _parsed_limits(api_key.rate_limit)
    except ValueError:
        log.warning("event=api_bad_rate_limit key=%s", api_key.prefix)
        items = _parsed_limits(DEFAULT_RATE_LIMIT)
    windows: LocalWindows | None = current_app.extensions.get(RATE_WINDOWS)
    for item in items:
        if windows is not None:
            resets_at = windows.hit(item, api_key.prefix)
            if resets_at is None:
                continue
        else:
            strategy = limiter.limiter
            if strategy.hit(item, "api-key", api_key.prefix):
                continue
            resets_at = strategy.get_window_stats(item, "api-key", api_key.prefix).reset_time
        retry_after = max(1, math.ceil(resets_at - time.time()))
        log.info("event=api_rate_limited key=%s limit=%s", api_key.prefix, api_key.rate_limit)
        raise ApiProblem(
            429,
            f"this key may make {api_key.rate_limit} requests; retry after {retry_after} s",
            slug="rate-limited",
            headers={"Retry-After": str(retry_after)},
        )


@functools.lru_cache(maxsize=256)
def _parsed_limits(text: str) -> tuple[limits.RateLimitItem, ...]:
    return tuple(limits.parse_many(text))


class LocalWindows:
    """Fixed-window counts per key and limit in this process, as `limits` counts them in its
    memory storage (a window opens at its first hit), without the timer thread that storage
    starts on nearly every hit (about 1 ms a request).  Used when the limits are counted in
    memory anyway; a shared storage (Redis) goes through `limits` as before."""

    MAX_WINDOWS = 10_000

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._windows: dict[tuple[str, str], list[float]] = {}  # → [hits, resets at]

    def hit(self, item: limits.RateLimitItem, key: str) -> float | None:
        """Count a hit: None while within the limit, else when the window resets (epoch s)."""
        now = time.time()
        name = (key, item.key_for())
        with self._lock:
            window = self._windows.get(name)
            if window is None or window[1] <= now:
                if len(self._windows) >= self.MAX_WINDOWS:
                    self._windows = {k: w for k, w in self._windows.items() if w[1] > now}
                window = self._windows[name] = [0, now + item.get_expiry()]
            window[0] += 1
            return None if window[0] <= item.amount else window[1]


def _touch(api_key: ApiKey) -> None:
    now = utcnow()
    if api_key.last_used_at is None or now - api_key.last_used_at >= LAST_USED_RESOLUTION:
        api_key.last_used_at = now
        db.session.commit()


def _finish(response: Response) -> Response:
    """gzip, then ETag over the bytes sent, then 304 when the client already has them."""
    response.headers.setdefault("Cache-Control", "private, max-age=0, must-revalidate")
    _log_request(response)
    if response.is_streamed or response.status_code != 200 or request.method not in ("GET", "HEAD"):
        return response
    response.headers.add("Vary", "Accept-Encoding")
    if _accepts_gzip() and response.content_length and response.content_length >= GZIP_MIN_BYTES:
        response.set_data(gzip.compress(response.get_data(), compresslevel=6, mtime=0))
        response.headers["Content-Encoding"] = "gzip"
    response.set_etag(hashlib.sha256(response.get_data()).hexdigest()[:32])
    modified = request.environ.get(LAST_MODIFIED_ENV)
    if modified is not None:
        response.last_modified = modified
    return cast(Response, response.make_conditional(request))


def _log_request(response: Response) -> None:
    started = request.environ.get(STARTED_ENV)
    took_ms = (time.perf_counter() - started) * 1000 if isinstance(started, float) else -1.0
    key = current_key()
    log.info(
        "event=api_request endpoint=%s status=%d key=%s took_ms=%.1f",
        request.endpoint or "-",
        response.status_code,
        key.prefix if key else "-",
        took_ms,
    )


def _accepts_gzip() -> bool:
    return "gzip" in request.accept_encodings and request.accept_encodings["gzip"] > 0


def streamed(
    chunks: Iterable[str], mimetype: str, headers: Mapping[str, str] | None = None
) -> Response:
    """A streamed body, gzip-compressed on the fly when the client accepts it."""
    encoded: Iterator[bytes] = (chunk.encode() for chunk in chunks)
    all_headers = dict(headers or {})
    all_headers["Vary"] = "Accept-Encoding"
    if _accepts_gzip():
        encoded = _gzip_stream(encoded)
        all_headers["Content-Encoding"] = "gzip"
    return current_app.response_class(encoded, mimetype=mimetype, headers=all_headers)


def _gzip_stream(chunks: Iterator[bytes]) -> Iterator[bytes]:
    compressor = zlib.compressobj(6, zlib.DEFLATED, 31)
    buffered = 0
    for chunk in chunks:
        out = compressor.compress(chunk)
        buffered += len(chunk)
        if buffered >= 64 * 1024:
            out += compressor.flush(zlib.Z_SYNC_FLUSH)
            buffered = 0
        if out:
            yield out
    yield compressor.flush()


def current_key() -> ApiKey | None:
    """The API key of this request (None on the few endpoints that need none)."""
    key = request.environ.get(API_KEY_ENV)
    return key if isinstance(key, ApiKey) else None


def set_last_modified(moment: datetime) -> None:
    request.environ[LAST_MODIFIED_ENV] = moment


# orjson writes what Flask's provider wrote (keys sorted, UTF-8 as is), ~10x faster; dates and
# dataclasses still go through Flask's `default`, so they read as before.
_ORJSON_OPTIONS = (
    orjson.OPT_SORT_KEYS
    | orjson.OPT_NON_STR_KEYS
    | orjson.OPT_PASSTHROUGH_DATETIME
    | orjson.OPT_PASSTHROUGH_DATACLASS
)


def json_response(body: Any) -> Response:
    default = current_app.json.default  # type: ignore[attr-defined]
    try:
        data = orjson.dumps(body, default=default, option=_ORJSON_OPTIONS)
    except (orjson.JSONEncodeError, TypeError):  # e.g. an integer past 64 bits
        data = json.dumps(body, ensure_ascii=False).encode()
    return current_app.response_class(data, mimetype="application/json")
