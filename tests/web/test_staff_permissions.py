"""Every staff route: anonymous → sign-in, editors → 403 on admin pages (CSRF: test_csrf.py)."""

from __future__ import annotations

import re

import pytest
from flask import Flask
from flask.testing import FlaskClient

from tests.staff_support import admin_client, anon_client, editor_client, new_client

__all__ = ["admin_client", "anon_client", "editor_client"]  # fixtures

# Admin-only areas (issue 5): users, API keys, imports, sources, and purging a listing.
ADMIN_PATHS = re.compile(
    r"^/staff/(users|api-keys|imports|sources|webhooks)(/|$)|^/staff/listings/[^/]+/purge$"
)
PLACEHOLDERS = {"group_uuid": "00000000-0000-0000-0000-000000000000", "request_id": "1"}


def staff_routes(app: Flask) -> list[tuple[str, str]]:
    """(method, concrete URL) for every registered /staff/ rule and method."""
    routes = []
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/staff"):
            continue
        url = rule.rule
        for name in rule.arguments:
            url = re.sub(rf"<(?:[a-z]+:)?{name}>", PLACEHOLDERS.get(name, "1"), url)
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
            routes.append((method, url))
    return routes


def test_the_route_walk_sees_every_area(app: Flask) -> None:
    urls = {url for _method, url in staff_routes(app)}
    for area in (
        "/staff/",
        "/staff/listings",
        "/staff/review",
        "/staff/audit",
        "/staff/users",
        "/staff/api-keys",
        "/staff/imports",
        "/staff/reports/coverage",
    ):
        assert area in urls
    assert len(urls) >= 30


def test_anonymous_people_are_sent_to_sign_in_from_every_staff_url(app: Flask) -> None:
    app.config["WTF_CSRF_ENABLED"] = False  # reach the sign-in check, not the CSRF check
    client = new_client(app)
    for method, url in staff_routes(app):
        response = client.open(url, method=method)
        if url == "/staff/login":
            assert response.status_code in (200, 400), (method, url)
            continue
        assert response.status_code == 302, (method, url, response.status_code)
        assert response.headers["Location"].startswith("/staff/login?next="), (method, url)


def test_editors_get_403_on_every_admin_url_and_no_403_elsewhere(
    app: Flask, editor_client: FlaskClient
) -> None:
    app.config["WTF_CSRF_ENABLED"] = False
    checked = 0
    for method, url in staff_routes(app):
        if url in ("/staff/login", "/staff/logout"):
            continue
        response = editor_client.open(url, method=method)
        if ADMIN_PATHS.match(url):
            assert response.status_code == 403, (method, url, response.status_code)
            checked += 1
        else:
            assert response.status_code != 403, (method, url)
            assert response.status_code < 500, (method, url)
        assert response.headers["Cache-Control"] == "no-store", (method, url)
    assert checked >= 8


def test_admins_reach_admin_pages(admin_client: FlaskClient) -> None:
    for url in ("/staff/users", "/staff/api-keys", "/staff/imports"):
        assert admin_client.get(url).status_code == 200, url


def test_admin_links_are_hidden_from_editors(
    editor_client: FlaskClient, admin_client: FlaskClient
) -> None:
    assert "/staff/users" not in editor_client.get("/staff/").get_data(as_text=True)
    assert "/staff/users" in admin_client.get("/staff/").get_data(as_text=True)


@pytest.mark.parametrize("path", ["/staff/listings/not-a-uuid", "/staff/review/99999"])
def test_unknown_things_are_404_not_500(editor_client: FlaskClient, path: str) -> None:
    assert editor_client.get(path).status_code == 404
