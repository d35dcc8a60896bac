"""Partner API access and HTTP behaviour: keys, rate limits, problems, caching, gzip, CORS."""

from __future__ import annotations

import gzip
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient, FlaskCliRunner

from clearinghouse import create_app
from clearinghouse.accounts import revoke_api_key
from clearinghouse.extensions import db
from clearinghouse.models import ApiKey, Group
from tests.api_support import api_headers, get_json, new_key
from tests.conftest import app_config

__all__ = ["api_headers"]

KEYED_URLS = [
    "/api/v1/concerns",
    "/api/v1/changes",
    "/api/v1/export.ndjson",
    "/api/v1/meeting-guide.json",
    "/api/v1/groups",
    "/api/v1/groups/00000000-0000-0000-0000-000000000000",
    "/hsds/services",
    "/hsds/taxonomies",
]


def assert_problem(response: object, status: int) -> dict[str, object]:
    assert getattr(response, "status_code") == status  # noqa: B009
    assert getattr(response, "mimetype") == "application/problem+json"  # noqa: B009
    body = response.get_json(force=True)  # type: ignore[attr-defined]
    assert body["status"] == status
    assert body["title"] and body["detail"]
    assert body["type"].startswith("urn:clearinghouse:problem:")
    return body  # type: ignore[no-any-return]


@pytest.mark.parametrize("url", KEYED_URLS)
def test_missing_key_is_401_with_a_bearer_challenge(client: FlaskClient, url: str) -> None:
    response = client.get(url)
    assert_problem(response, 401)
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


@pytest.mark.parametrize(
    "header",
    [
        "Bearer chk_deadbeef_not-a-real-key",
        "Bearer ",
        "Basic dXNlcjpwYXNz",
        "chk_deadbeef_x",
        "Bearer " + "x" * 10_000,
        "Bearer chk_" + "é" * 50,
    ],
)
def test_bad_keys_are_401(client: FlaskClient, header: str) -> None:
    assert_problem(client.get("/api/v1/concerns", headers={"Authorization": header}), 401)


def test_revoked_key_is_403(client: FlaskClient) -> None:
    key = new_key()
    assert (
        client.get("/api/v1/concerns", headers={"Authorization": f"Bearer {key}"}).status_code
        == 200
    )
    row = db.session.scalars(db.select(ApiKey)).one()
    revoke_api_key(db.session(), row)
    db.session.commit()
    body = assert_problem(
        client.get("/api/v1/concerns", headers={"Authorization": f"Bearer {key}"}), 403
    )
    assert "revoked" in str(body["detail"])


def test_last_used_is_recorded_at_most_once_a_minute(client: FlaskClient) -> None:
    key = new_key()
    headers = {"Authorization": f"Bearer {key}"}
    row = db.session.scalars(db.select(ApiKey)).one()
    assert row.last_used_at is None
    client.get("/api/v1/concerns", headers=headers)
    db.session.refresh(row)
    first = row.last_used_at
    assert first is not None
    client.get("/api/v1/concerns", headers=headers)
    db.session.refresh(row)
    assert row.last_used_at == first
    row.last_used_at = first - timedelta(minutes=5)
    db.session.commit()
    client.get("/api/v1/concerns", headers=headers)
    db.session.refresh(row)
    assert row.last_used_at is not None and row.last_used_at > first - timedelta(minutes=5)


@pytest.fixture
def limited_app(template_database: Path, tmp_path: Path) -> Iterator[Flask]:
    import shutil

    path = tmp_path / "limited.db"
    shutil.copy(template_database, path)
    app = create_app(app_config(f"sqlite:///{path}", tmp_path, RATELIMIT_ENABLED=True))
    with app.app_context():
        yield app
        db.session.remove()
        db.engine.dispose()


@pytest.mark.parametrize("rate_limit", ["3/minute", "100/second;3/hour"])
def test_each_key_has_its_own_rate_limit(limited_app: Flask, rate_limit: str) -> None:
    client = limited_app.test_client()
    slow = {"Authorization": f"Bearer {new_key('Slow partner', rate_limit=rate_limit)}"}
    other = {"Authorization": f"Bearer {new_key('Other partner', rate_limit='100/minute')}"}
    statuses = [client.get("/api/v1/concerns", headers=slow).status_code for _ in range(3)]
    assert statuses == [200, 200, 200]
    limited = client.get("/api/v1/concerns", headers=slow)
    body = assert_problem(limited, 429)
    assert int(limited.headers["Retry-After"]) >= 1
    assert rate_limit in str(body["detail"])
    assert client.get("/api/v1/concerns", headers=other).status_code == 200


def test_etag_and_last_modified_give_304(
    client: FlaskClient, api_headers: dict[str, str], make_group: Callable[..., Group]
) -> None:
    group = make_group()
    url = f"/api/v1/groups/{group.uuid}"
    first = client.get(url, headers=api_headers)
    assert first.status_code == 200
    etag = first.headers["ETag"]
    assert first.headers["Last-Modified"]
    again = client.get(url, headers={**api_headers, "If-None-Match": etag})
    assert again.status_code == 304 and again.get_data() == b""
    stale = client.get(url, headers={**api_headers, "If-None-Match": '"something-else"'})
    assert stale.status_code == 200
    since = client.get(
        url, headers={**api_headers, "If-Modified-Since": first.headers["Last-Modified"]}
    )
    assert since.status_code == 304


def test_large_json_is_gzipped_when_accepted(
    client: FlaskClient, api_headers: dict[str, str]
) -> None:
    plain = client.get("/api/v1/concerns", headers=api_headers)
    zipped = client.get("/api/v1/concerns", headers={**api_headers, "Accept-Encoding": "gzip"})
    assert "Content-Encoding" not in plain.headers
    assert zipped.headers["Content-Encoding"] == "gzip"
    assert "Accept-Encoding" in zipped.headers["Vary"]
    assert gzip.decompress(zipped.get_data()) == plain.get_data()
    assert len(zipped.get_data()) < len(plain.get_data())
    assert zipped.headers["ETag"] != plain.headers["ETag"]


def test_cors_lets_partner_widgets_call(client: FlaskClient, api_headers: dict[str, str]) -> None:
    origin = {"Origin": "https://partner.example.org"}
    preflight = client.options(
        "/api/v1/groups",
        headers={
            **origin,
            "Access-Control-Request-Method": "GET",
            "Access-Control-Request-Headers": "Authorization",
        },
    )
    assert preflight.status_code == 200
    assert preflight.headers["Access-Control-Allow-Origin"] in ("*", origin["Origin"])
    assert "authorization" in preflight.headers["Access-Control-Allow-Headers"].lower()
    response = client.get("/api/v1/concerns", headers={**api_headers, **origin})
    assert response.headers["Access-Control-Allow-Origin"] in ("*", origin["Origin"])
    assert "X-Changes-Cursor" in response.headers["Access-Control-Expose-Headers"]
    hsds = client.get("/hsds/", headers=origin)
    assert hsds.headers["Access-Control-Allow-Origin"] in ("*", origin["Origin"])


@pytest.mark.parametrize(
    ("url", "status", "param"),
    [
        ("/api/v1/concerns?colour=red", 400, "colour"),
        ("/api/v1/groups?per_page=100000", 400, "per_page"),
        ("/api/v1/groups?per_page=0", 400, "per_page"),
        ("/api/v1/groups?page=-3", 400, "page"),
        ("/api/v1/groups?radius=9999", 400, "radius"),
        ("/api/v1/groups?lat=abc&lon=1", 400, "lat"),
        ("/api/v1/groups?sort=random", 400, "sort"),
        ("/api/v1/groups?format=everything", 400, "format"),
        ("/api/v1/groups?concern=not-a-concern-at-all", 400, "concern"),
        ("/api/v1/groups?bogus=1&q=grief", 400, "bogus"),
        ("/api/v1/changes?since=%00", 400, "since"),
        ("/api/v1/meeting-guide.json?region=ZZ", 400, "region"),
        ("/api/v1/meeting-guide.json?concern=nope", 400, "concern"),
        ("/api/v1/meeting-guide.json?day=1", 400, "day"),
        ("/api/v1/groups/not-a-uuid", 404, None),
        ("/api/v1/groups/00000000-0000-0000-0000-000000000000", 404, None),
        ("/api/v1/nothing/here", 404, None),
    ],
)
def test_bad_input_is_problem_json_naming_the_parameter(
    client: FlaskClient, api_headers: dict[str, str], url: str, status: int, param: str | None
) -> None:
    body = assert_problem(client.get(url, headers=api_headers), status)
    if param:
        names = [item["name"] for item in body["invalid_params"]]  # type: ignore[attr-defined]
        assert names == [param]


def test_wrong_method_is_405_problem(client: FlaskClient, api_headers: dict[str, str]) -> None:
    for method in ("post", "put", "delete", "patch"):
        response = getattr(client, method)("/api/v1/changes", headers=api_headers)
        assert_problem(response, 405)
        assert "GET" in response.headers["Allow"]


def test_huge_headers_are_refused_cleanly(client: FlaskClient, api_headers: dict[str, str]) -> None:
    headers = {**api_headers, "X-Padding": "x" * 40_000}
    assert_problem(client.get("/api/v1/concerns", headers=headers), 431)
    huge_etag = {**api_headers, "If-None-Match": '"' + "a" * 8000 + '"'}
    assert client.get("/api/v1/concerns", headers=huge_etag).status_code == 200


def test_openapi_document_needs_no_key(client: FlaskClient) -> None:
    body = get_json(client, "/api/v1/openapi.json", {})
    assert body["openapi"].startswith("3.1")
    assert {"/groups", "/groups/{id}", "/concerns", "/changes"} <= set(body["paths"])


def test_search_outage_is_503_while_the_feed_keeps_working(
    client: FlaskClient, api_headers: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from clearinghouse.search import get_backend
    from clearinghouse.search.base import SearchUnavailable

    def down(*_args: object, **_kwargs: object) -> None:
        raise SearchUnavailable("engine down")

    monkeypatch.setattr(get_backend(client.application), "search", down)
    response = client.get("/api/v1/groups?q=grief", headers=api_headers)
    assert_problem(response, 503)
    assert int(response.headers["Retry-After"]) > 0
    assert client.get("/api/v1/changes", headers=api_headers).status_code == 200


def test_keys_are_listed_and_revoked_from_the_command_line(
    client: FlaskClient, runner: FlaskCliRunner
) -> None:
    created = runner.invoke(args=["api-keys", "create", "--name", "County 211"])
    assert created.exit_code == 0, created.output
    key = created.output.strip().splitlines()[-1]
    headers = {"Authorization": f"Bearer {key}"}
    assert client.get("/api/v1/concerns", headers=headers).status_code == 200
    prefix = key.split("_")[1]
    listed = runner.invoke(args=["api-keys", "list"])
    assert prefix in listed.output and "County 211" in listed.output
    assert key not in listed.output  # only the prefix is ever shown again
    revoked = runner.invoke(args=["api-keys", "revoke", prefix])
    assert revoked.exit_code == 0, revoked.output
    assert_problem(client.get("/api/v1/concerns", headers=headers), 403)
    assert "revoked" in runner.invoke(args=["api-keys", "list"]).output
    unknown = runner.invoke(args=["api-keys", "revoke", "ffffffff"])
    assert unknown.exit_code != 0 and "no API key" in unknown.output
    bad_limit = runner.invoke(args=["api-keys", "create", "--name", "X", "--rate-limit", "lots"])
    assert bad_limit.exit_code != 0 and "rate limit" in bad_limit.output
