"""Every state-changing route refuses a valid form without its CSRF token, and changes nothing.

The routes come from the app's URL map: a new POST (PUT, PATCH, DELETE) route without an entry
in ROUTES fails `test_every_state_changing_route_has_an_entry`.  Each entry sends a payload the
route accepts (the control request, with the session's token, must change something), so a
refusal of the same payload without a token, or with a wrong one, can only be the CSRF check.
"""

from __future__ import annotations

import io
import logging
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from clearinghouse import store
from clearinghouse.accounts import create_api_key
from clearinghouse.extensions import db
from clearinghouse.freshness import token_hash
from clearinghouse.models import (
    ChangeRequest,
    FreshnessLink,
    FreshnessRequest,
    Group,
    User,
    WebhookState,
    WebhookSubscription,
    utcnow,
)
from clearinghouse.taxonomy import default_taxonomy
from indexer.sources import add_source
from tests.conftest import sample_record
from tests.staff_support import (
    PASSWORD,
    csrf_token,
    listing_form_data,
    make_user,
    new_client,
    post,
    sign_in,
)

STATE_CHANGING = {"POST", "PUT", "PATCH", "DELETE"}
# The app's CSRF refusal (public/errors.py): a validation error never says this.
CSRF_REFUSAL = "This form had expired or was sent from somewhere else."
IMPORT_CSV = (
    "name,concerns,city,state,days,start\nHarbor Caregivers,caregiving,Chicago,IL,TU,19:00\n"
)


@dataclass
class World:
    """What the routes act on: listings, a submission, accounts, a key, a checked upload."""

    app: Flask
    group: Group
    duplicate: Group
    archived: Group
    change: ChangeRequest
    colleague: User
    inactive: User
    key_id: int
    import_token: str
    feed_id: int
    paused_feed_id: int
    paused_webhook_id: int
    confirm_token: str = ""  # the group's yearly confirmation links (clearinghouse/freshness.py)
    stop_token: str = ""


@dataclass(frozen=True)
class Route:
    """How to send one route a payload it accepts: the URL, the form, and who sends it."""

    url: Callable[[World], str]
    form: Callable[[World], dict[str, Any]]
    signed_in: bool = True
    multipart: bool = False


def _upload(_world: World | None = None) -> dict[str, Any]:
    return {
        "fmt": "csv",
        "source": "partner",
        "file": (io.BytesIO(IMPORT_CSV.encode()), "partner.csv"),
    }


def _nothing(_world: World) -> dict[str, Any]:
    return {}


ROUTES: dict[tuple[str, str], Route] = {
    ("POST", "/suggest"): Route(
        lambda w: "/suggest",
        lambda w: {
            "name": "Westside Widows Circle",
            "concerns": "grief",
            "format": "peer-led",
            "attendance": "in-person",
            "cost": "free",
            "languages": "English",
            "city": "Springfield",
            "region": "IL",
            "meeting_freq": "weekly",
            "meeting_days": ["TU"],
            "meeting_start": "19:00",
            "contact_email": "widows@example.org",
        },
        signed_in=False,
    ),
    ("POST", "/groups/<slug>/report"): Route(
        lambda w: f"/groups/{w.group.slug}/report",
        lambda w: {"no_longer_meets": "y"},
        signed_in=False,
    ),
    ("POST", "/confirm/<token>/still-right"): Route(
        lambda w: f"/confirm/{w.confirm_token}/still-right", _nothing, signed_in=False
    ),
    ("POST", "/confirm/<token>/changed"): Route(
        lambda w: f"/confirm/{w.confirm_token}/changed",
        lambda w: {
            "name": "Target Grief Circle Renamed",
            "concerns": "grief",
            "format": "peer-led",
            "attendance": "in-person",
            "open": "yes",
            "cost": "free",
            "languages": "en",
            "city": "Chicago",
            "region": "IL",
            "postal_code": "60614",
            "meeting_freq": "weekly",
            "meeting_days": ["TU"],
            "meeting_start": "19:00",
        },
        signed_in=False,
    ),
    ("POST", "/confirm/<token>/stopped"): Route(
        lambda w: f"/confirm/{w.confirm_token}/stopped",
        lambda w: {"note": "Moved to St. Mark's"},
        signed_in=False,
    ),
    ("POST", "/confirm/<token>/stop-emails"): Route(
        lambda w: f"/confirm/{w.stop_token}/stop-emails", _nothing, signed_in=False
    ),
    ("POST", "/staff/freshness/<group_uuid>/bounced"): Route(
        lambda w: f"/staff/freshness/{w.group.uuid}/bounced", _nothing
    ),
    ("POST", "/staff/login"): Route(
        lambda w: "/staff/login",
        lambda w: {"email": "admin@example.org", "password": PASSWORD},
        signed_in=False,
    ),
    ("POST", "/staff/logout"): Route(lambda w: "/staff/logout", _nothing),
    ("POST", "/staff/users"): Route(
        lambda w: "/staff/users",
        lambda w: {"email": "intruder@example.org", "role": "admin", "password": "x" * 16},
    ),
    ("POST", "/staff/users/<int:account_id>/deactivate"): Route(
        lambda w: f"/staff/users/{w.colleague.id}/deactivate", _nothing
    ),
    ("POST", "/staff/users/<int:account_id>/activate"): Route(
        lambda w: f"/staff/users/{w.inactive.id}/activate", _nothing
    ),
    ("POST", "/staff/api-keys"): Route(lambda w: "/staff/api-keys", lambda w: {"name": "Partner"}),
    ("POST", "/staff/api-keys/<int:key_id>/revoke"): Route(
        lambda w: f"/staff/api-keys/{w.key_id}/revoke", _nothing
    ),
    ("POST", "/staff/listings/new"): Route(
        lambda w: "/staff/listings/new", lambda w: listing_form_data(name="Brand New Circle")
    ),
    ("POST", "/staff/listings/<group_uuid>/edit"): Route(
        lambda w: f"/staff/listings/{w.group.uuid}/edit",
        lambda w: listing_form_data(name="Renamed Circle", version=store.version_of(w.group)),
    ),
    ("POST", "/staff/imports"): Route(lambda w: "/staff/imports", _upload, multipart=True),
    ("POST", "/staff/imports/confirm"): Route(
        lambda w: "/staff/imports/confirm", lambda w: {"token": w.import_token}
    ),
    ("POST", "/staff/imports/cancel"): Route(
        lambda w: "/staff/imports/cancel", lambda w: {"token": w.import_token}
    ),
    ("POST", "/staff/sources"): Route(
        lambda w: "/staff/sources",
        lambda w: {
            "name": "westside-intergroup",
            "url": "http://127.0.0.1:9/meetings.json",
            "fmt": "meeting-guide",
            "concern": "alcohol",
            "every": "6h",
        },
    ),
    ("POST", "/staff/sources/<int:source_id>/refresh"): Route(
        lambda w: f"/staff/sources/{w.feed_id}/refresh", _nothing
    ),
    ("POST", "/staff/sources/<int:source_id>/pause"): Route(
        lambda w: f"/staff/sources/{w.feed_id}/pause", _nothing
    ),
    ("POST", "/staff/webhooks/<int:subscription_id>/resume"): Route(
        lambda w: f"/staff/webhooks/{w.paused_webhook_id}/resume", _nothing
    ),
    ("POST", "/staff/sources/<int:source_id>/resume"): Route(
        lambda w: f"/staff/sources/{w.paused_feed_id}/resume", _nothing
    ),
    ("POST", "/staff/listings/bulk"): Route(
        lambda w: "/staff/listings/bulk", lambda w: {"action": "archive", "ids": [w.group.uuid]}
    ),
    ("POST", "/staff/listings/<group_uuid>/verify"): Route(
        lambda w: f"/staff/listings/{w.group.uuid}/verify", _nothing
    ),
    ("POST", "/staff/listings/<group_uuid>/archive"): Route(
        lambda w: f"/staff/listings/{w.group.uuid}/archive", _nothing
    ),
    ("POST", "/staff/listings/<group_uuid>/restore"): Route(
        lambda w: f"/staff/listings/{w.archived.uuid}/restore", _nothing
    ),
    ("POST", "/staff/listings/<group_uuid>/purge"): Route(
        lambda w: f"/staff/listings/{w.group.uuid}/purge", lambda w: {"confirm": w.group.slug}
    ),
    ("POST", "/staff/listings/<group_uuid>/dismiss-flag"): Route(
        lambda w: f"/staff/listings/{w.group.uuid}/dismiss-flag",
        lambda w: {"flag": "checked-by-phone"},
    ),
    ("POST", "/staff/listings/<group_uuid>/merge"): Route(
        lambda w: f"/staff/listings/{w.group.uuid}/merge", lambda w: {"other": w.duplicate.uuid}
    ),
    ("POST", "/staff/review/<int:request_id>/approve"): Route(
        lambda w: f"/staff/review/{w.change.id}/approve", _nothing
    ),
    ("POST", "/staff/review/<int:request_id>/edit"): Route(
        lambda w: f"/staff/review/{w.change.id}/edit",
        lambda w: listing_form_data(name="Approved With Edits"),
    ),
    ("POST", "/staff/review/<int:request_id>/reject"): Route(
        lambda w: f"/staff/review/{w.change.id}/reject", lambda w: {"reason": "Not a group"}
    ),
}


def state_changing_routes(app: Flask) -> set[tuple[str, str]]:
    """Every cookie-authenticated route that changes state.

    The partner API (/api/) is left out: it is authenticated by a Bearer key a browser never
    sends on its own, not by a cookie, so a cross-site form cannot act as anyone there.
    """
    return {
        (method, rule.rule)
        for rule in app.url_map.iter_rules()
        for method in (rule.methods or set()) & STATE_CHANGING
        if not rule.rule.startswith("/api/")
    }


def test_every_state_changing_route_has_an_entry(app: Flask) -> None:
    routes = state_changing_routes(app)
    missing = sorted(routes - ROUTES.keys())
    assert not missing, f"add these routes to ROUTES with a payload they accept: {missing}"
    assert sorted(ROUTES.keys() - routes) == [], "ROUTES names routes the app no longer has"


@pytest.fixture
def world(app: Flask, make_group: Callable[..., Group], tmp_path: Path) -> World:
    app.config["IMPORT_FOLDER"] = str(tmp_path / "imports")
    make_user("admin@example.org", "admin")
    group = make_group(name="Target Grief Circle")
    group.flags = [*(group.flags or []), "checked-by-phone"]
    duplicate = make_group(name="Target Grief Circle Again", contact={"phone": "312-555-0142"})
    archived = make_group(name="Archived Grief Circle", status="archived")
    change = ChangeRequest(kind="new", payload=sample_record(name="Submitted Circle"))
    db.session.add(change)
    colleague = make_user("colleague@example.org")
    inactive = make_user("former@example.org")
    inactive.active = False
    key, _plain = create_api_key(db.session, "County line")
    # Nothing listens on port 9 (discard): a refresh fails at once and records why.
    feed = add_source(
        db.session,
        "county-feed",
        url="http://127.0.0.1:9/feed.json",
        fmt="meeting-guide",
        taxonomy=default_taxonomy(),
        concern="alcohol",
    )
    paused = add_source(
        db.session,
        "paused-feed",
        url="http://127.0.0.1:9/other.json",
        fmt="meeting-guide",
        taxonomy=default_taxonomy(),
        concern="alcohol",
    )
    paused.paused = True
    webhook = WebhookSubscription(
        api_key=key, url="https://partner.example.org/hook", secret="whsec_test"
    )
    webhook.state = WebhookState.PAUSED.value
    db.session.add(webhook)
    db.session.commit()
    uploader = signed_in(app)
    preview = post(uploader, "/staff/imports", _upload(), content_type="multipart/form-data")
    token = re.search(r'name="token"[^>]*value="([^"]+)"', preview.get_data(as_text=True))
    assert token is not None, "the import preview offers no confirmation"
    group.private_contact_email = "lead@example.org"
    confirm_token, stop_token = _confirmation_links(group)
    return World(
        app,
        group,
        duplicate,
        archived,
        change,
        colleague,
        inactive,
        key.id,
        token[1],
        feed.id,
        paused.id,
        webhook.id,
        confirm_token,
        stop_token,
    )


def _confirmation_links(group: Group) -> tuple[str, str]:
    """A yearly confirmation request to the group, as the worker sends it: its two tokens."""
    request = FreshnessRequest(group_id=group.id, address="lead@example.org", sent_at=utcnow())
    db.session.add(request)
    db.session.flush()
    tokens = []
    for purpose in ("answer", "stop"):
        token = f"{purpose}-token-for-the-csrf-test"
        db.session.add(
            FreshnessLink(
                token_hash=token_hash(token),
                request_id=request.id,
                purpose=purpose,
                expires_at=utcnow() + timedelta(days=30),
            )
        )
        tokens.append(token)
    db.session.commit()
    return tokens[0], tokens[1]


def signed_in(app: Flask) -> FlaskClient:
    client = new_client(app)
    assert sign_in(client, "admin@example.org").status_code == 302
    return client


def state(world: World, client: FlaskClient) -> dict[str, Any]:
    """Every row of every table, the uploads waiting, and whether the client is signed in."""
    tables = {}
    with db.engine.connect() as connection:
        for table in db.metadata.sorted_tables:
            tables[table.name] = sorted(map(repr, connection.execute(select(table))))
    uploads = Path(world.app.config["IMPORT_FOLDER"])
    return {
        "tables": tables,
        "uploads": sorted(map(str, uploads.rglob("*"))) if uploads.exists() else [],
        "signed in": client.get("/staff/").status_code == 200,
    }


def send(client: FlaskClient, route: Route, world: World, token: str | None) -> Any:
    form = route.form(world)
    if token is not None:
        form["csrf_token"] = token
    kind = "multipart/form-data" if route.multipart else None
    return client.post(route.url(world), data=form, content_type=kind)


@pytest.mark.parametrize("key", sorted(ROUTES), ids=lambda key: f"{key[0]} {key[1]}")
def test_a_valid_form_without_its_csrf_token_is_refused_and_changes_nothing(
    app: Flask, world: World, key: tuple[str, str], caplog: pytest.LogCaptureFixture
) -> None:
    route = ROUTES[key]
    client = signed_in(app) if route.signed_in else new_client(app)
    other_session = csrf_token(signed_in(app))
    before = state(world, client)
    for token in (None, "", "not-a-token", other_session):
        caplog.clear()
        with caplog.at_level(logging.INFO):
            response = send(client, route, world, token)
        assert response.status_code == 400, (key, token, response.status_code)
        assert CSRF_REFUSAL in response.get_data(as_text=True), (key, token)
        assert "event=csrf_refused" in caplog.text, (key, token)
        assert state(world, client) == before, (key, token)
    # The control: the same form with the session's token is accepted and changes something.
    token = csrf_token(client, "/staff/" if route.signed_in else "/staff/login")
    response = send(client, route, world, token)
    assert response.status_code in (200, 302), (key, response.status_code)
    assert CSRF_REFUSAL not in response.get_data(as_text=True)
    assert state(world, client) != before, f"{key}: the control request changed nothing"


def test_the_admin_created_by_the_control_request_is_real(app: Flask, world: World) -> None:
    """The /staff/users payload is one the route accepts: the control makes the admin."""
    client = signed_in(app)
    send(client, ROUTES[("POST", "/staff/users")], world, csrf_token(client))
    made = db.session.scalar(select(User).where(User.email == "intruder@example.org"))
    assert made is not None and made.role == "admin"
