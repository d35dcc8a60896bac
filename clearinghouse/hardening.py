"""What every request and response goes through, whichever blueprint answers it.

- Control characters (NUL above all: PostgreSQL refuses it in text) are refused at the door
  in the URL path, query parameters, field names and file names (a 400 that says so), and
  removed from form values, where they come from pasted text.
- Integers in URLs are bounded to what an id column holds, so an overlong id is a 404.
- Every response carries a content security policy, frame denial and `nosniff`.
- Absolute links are built from CLEARINGHOUSE_BASE_URL when it is set, never from whatever
  `Host` header a client sent; CLEARINGHOUSE_TRUSTED_HOSTS refuses other hosts outright.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from flask import Flask, Response, current_app, request
from werkzeug.datastructures import ImmutableMultiDict
from werkzeug.exceptions import BadRequest, SecurityError
from werkzeug.routing import IntegerConverter

from clearinghouse.inputs import MAX_DATABASE_INT, has_control, strip_control

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment

CONTROL_REFUSED = (
    "The address or form contains control characters (such as NUL) that are not allowed. "
    "Remove them and try again."
)


class BoundedIntConverter(IntegerConverter):
    """`<int:…>` that matches only ids a database column can hold (others are a 404)."""

    def __init__(self, map: Any, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("max", MAX_DATABASE_INT)
        super().__init__(map, *args, **kwargs)


def init_app(app: Flask) -> None:
    """Call before any blueprint is registered (the int converter is read when rules bind)."""
    app.url_map.converters["int"] = BoundedIntConverter
    app.before_request(refuse_control_characters)
    app.after_request(security_headers)
    app.register_error_handler(SecurityError, untrusted_host)
    base_url = app.config.get("BASE_URL")
    if base_url:
        app.wsgi_app = CanonicalOrigin(app.wsgi_app, base_url)  # type: ignore[method-assign]


class ControlCharacters(BadRequest):
    """A 400 naming where the control characters were; the APIs list it in invalid_params."""

    def __init__(self, where: str) -> None:
        super().__init__(description=CONTROL_REFUSED)
        self.invalid_params = [(where, "contains control characters")]


def _names_and_addresses() -> Iterator[tuple[str, str]]:
    """Every one-line value a client chose (path, parameters, field and file names), by name."""
    yield "path", request.path
    for name, value in request.args.items(multi=True):
        yield name, name
        yield name, value
    if request.method in ("POST", "PUT", "PATCH"):
        for name in request.form:
            yield name, name
        for name, upload in request.files.items(multi=True):
            yield name, name
            yield name, upload.filename or ""


def refuse_control_characters() -> None:
    for where, value in _names_and_addresses():
        if has_control(value):
            raise ControlCharacters(where)
    if request.method in ("POST", "PUT", "PATCH") and any(
        has_control(value, multiline=True) for value in request.form.values()
    ):
        # werkzeug's cached `form` may be replaced; every form library reads it from here.
        request.form = ImmutableMultiDict(
            [(name, strip_control(value)) for name, value in request.form.items(multi=True)]
        )


def untrusted_host(error: SecurityError) -> Response:
    """A Host outside TRUSTED_HOSTS: no page (links could not be built), a plain refusal."""
    return Response("This site does not answer to that host name.\n", 400, mimetype="text/plain")


def content_security_policy(tile_url: str) -> str:
    """Nothing from other sites runs here: our own scripts and styles, map tiles as images."""
    tiles = _origin(tile_url)
    sources = " ".join(part for part in ("'self' data:", tiles) if part)
    return (
        "default-src 'self'; script-src 'self'; style-src 'self'; "
        f"img-src {sources}; connect-src 'self'; object-src 'none'; "
        "base-uri 'self'; form-action 'self'; frame-ancestors 'none'"
    )


# The one page another site may frame (it sets its own `frame-ancestors *` policy).
FRAMEABLE_ENDPOINTS = frozenset({"public.embed"})


def security_headers(response: Response) -> Response:
    policy = content_security_policy(str(current_app.config.get("TILE_URL", "")))
    response.headers.setdefault("Content-Security-Policy", policy)
    if request.endpoint not in FRAMEABLE_ENDPOINTS:
        response.headers.setdefault("X-Frame-Options", "DENY")
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("Referrer-Policy", "same-origin")
    return response


def _origin(url: str) -> str:
    """The scheme and host of a URL template ("https://tile.example/{z}/…" → its origin)."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}" if parts.scheme and parts.netloc else ""


class CanonicalOrigin:
    """WSGI middleware: every request is seen as addressed to the configured base URL."""

    def __init__(self, app: WSGIApplication, base_url: str) -> None:
        parts = urlsplit(base_url)
        self.app, self.scheme, self.host = app, parts.scheme, parts.netloc

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        environ["wsgi.url_scheme"] = self.scheme
        environ["HTTP_HOST"] = self.host
        environ.pop("HTTP_X_FORWARDED_HOST", None)
        return self.app(environ, start_response)
