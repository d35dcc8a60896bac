"""Helpers for the staff console tests: accounts, signed-in clients, CSRF tokens."""

from __future__ import annotations

import re
from functools import cache
from typing import Any

import pytest
from argon2 import PasswordHasher
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from clearinghouse.extensions import db
from clearinghouse.models import User

PASSWORD = "correct horse battery"


def new_client(app: Flask) -> FlaskClient:
    """A client with its own cookies (a second browser)."""
    return app.test_client()


@pytest.fixture
def anon_client(app: Flask) -> FlaskClient:
    return new_client(app)


_TOKEN = re.compile(r'name="csrf(?:_token|-token)"[^>]*(?:value|content)="([^"]+)"')


@cache
def _cheap_hash(password: str) -> str:
    # Argon2 at test strength: the app verifies it the same way (parameters live in the hash),
    # without the ~1 s per hash the production settings cost on this machine.
    return PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1).hash(password)


def make_user(email: str, role: str = "editor", password: str = PASSWORD) -> User:
    """A staff account made like `create_user` does, with a cheap hash for speed."""
    user = User(email=email.strip().lower(), role=role, password_hash=_cheap_hash(password))
    db.session.add(user)
    db.session.commit()
    return user


def csrf_token(client: FlaskClient, path: str = "/staff/") -> str:
    """The CSRF token of the client's session, read from a staff page as a browser would."""
    page = client.get(path).get_data(as_text=True)
    match = _TOKEN.search(page)
    assert match is not None, f"no CSRF token on {path}"
    return match[1]


def post(
    client: FlaskClient, url: str, data: dict[str, Any] | None = None, **kw: Any
) -> TestResponse:
    """POST with the session's CSRF token, like a form in the page."""
    fields = dict(data or {})
    fields.setdefault("csrf_token", csrf_token(client))
    return client.post(url, data=fields, **kw)


def version_in(page: str) -> str | None:
    """The listing version a staff page's form carries (None when it carries none)."""
    match = re.search(r'<input[^>]*name="version"[^>]*value="([^"]*)"', page)
    return match[1] if match else None


def save_listing(client: FlaskClient, group: Any, data: dict[str, Any]) -> TestResponse:
    """Save a listing's edit form as the browser does: opened now, so with its current version."""
    url = f"/staff/listings/{group.uuid}/edit"
    fields = dict(data)
    fields.setdefault("version", version_in(client.get(url).get_data(as_text=True)) or "")
    return post(client, url, fields)


def approve(client: FlaskClient, request_id: int, **kw: Any) -> TestResponse:
    """Approve a review request as the page's button does: with the version it was reviewed at."""
    version = version_in(client.get(f"/staff/review/{request_id}").get_data(as_text=True))
    data = {"version": version} if version else {}
    return post(client, f"/staff/review/{request_id}/approve", data, **kw)


def sign_in(client: FlaskClient, email: str, password: str = PASSWORD) -> TestResponse:
    token = csrf_token(client, "/staff/login")
    return client.post(
        "/staff/login", data={"email": email, "password": password, "csrf_token": token}
    )


def signed_in_client(app: Flask, email: str, role: str) -> FlaskClient:
    make_user(email, role)
    client = new_client(app)
    response = sign_in(client, email)
    assert response.status_code == 302, response.get_data(as_text=True)
    return client


@pytest.fixture
def editor_client(app: Flask) -> FlaskClient:
    return signed_in_client(app, "editor@example.org", "editor")


@pytest.fixture
def admin_client(app: Flask) -> FlaskClient:
    return signed_in_client(app, "admin@example.org", "admin")


def listing_form_data(**overrides: Any) -> dict[str, Any]:
    """A valid staff listing form submission; keyword arguments replace fields."""
    data: dict[str, Any] = {
        "name": "Tuesday Grief Circle",
        "description": "Peer support after a death.",
        "organization": "",
        "concerns": "grief",
        "format": "peer-led",
        "attendance": "in-person",
        "open": "y",
        "cost": "free",
        "cost_note": "",
        "languages": "en, es",
        "contact_phone": "",
        "contact_email": "circle@example.org",
        "contact_website": "",
        "online_url": "",
        "online_phone": "",
        "online_notes": "",
        "service_area": "",
        "location_name": "Lincoln Park Library",
        "location_address": "1150 W Fullerton Ave",
        "location_city": "Chicago",
        "location_region": "IL",
        "location_postal_code": "60614",
        "location_country": "US",
        "location_notes": "",
        "location_lat": "",
        "location_lon": "",
        "timezone": "",
        "meetings-0-freq": "monthly",
        "meetings-0-byday": "2TU",
        "meetings-0-start": "19:00",
        "meetings-0-end": "20:30",
        "meetings-0-note": "",
        "private_contact_name": "",
        "private_contact_phone": "",
        "private_contact_email": "",
        "private_contact_notes": "",
        "status": "active",
    }
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}
