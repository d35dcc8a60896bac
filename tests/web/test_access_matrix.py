"""Who may reach what: every registered route × every kind of caller × every method.

The table below holds one entry per endpoint; the test walks `app.url_map`, so a new route
without an entry fails until someone decides who may reach it. URLs are filled with real values
(a group, a review request, a user, an API key made for the walk), so the answers come from
the views themselves, not from a 404 on a made-up id. CSRF is switched off here: this is about
access; tests/web/test_staff_permissions.py and the CSRF tests check the tokens.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.routing import Rule
from werkzeug.test import TestResponse

from clearinghouse.accounts import create_api_key, revoke_api_key
from clearinghouse.extensions import db
from clearinghouse.freshness import token_hash
from clearinghouse.models import (
    ChangeRequest,
    FreshnessLink,
    FreshnessRequest,
    Group,
    WebhookState,
    WebhookSubscription,
    utcnow,
)
from clearinghouse.taxonomy import default_taxonomy
from indexer.sources import add_source
from tests.api_support import create, index_all
from tests.conftest import sample_record
from tests.staff_support import make_user, sign_in

CALLERS = ("anonymous", "revoked key", "API key", "editor", "admin")
# Kinds of access: who may reach a view (expected_status says what the others get).
PUBLIC, STAFF, ADMIN, API, SIGN_IN = "public", "staff", "admin", "api", "sign-in"
TO_SIGN_IN = 302  # the console sends strangers to /staff/login?next=…
NO_KEY = 401  # no key, or one not known (a staff session is not a key)
REVOKED_KEY = 403  # docs/api.md: "A revoked key gets 403"


@dataclass(frozen=True)
class Entry:
    """Who may reach an endpoint, and what each method answers someone allowed in.

    `allowed` maps a method to its status for a caller who may reach the view. POSTs are sent
    empty: the view itself answers (400 for a form with missing fields, 302 when there is
    nothing to refuse, e.g. an edit form re-saved as it was), which is enough to tell "let in"
    from "kept out".
    """

    access: str
    allowed: dict[str, int]


def public(**allowed: int) -> Entry:
    return Entry(PUBLIC, allowed or {"GET": 200})


def staff(**allowed: int) -> Entry:
    return Entry(STAFF, allowed or {"GET": 200})


def admin(**allowed: int) -> Entry:
    return Entry(ADMIN, allowed or {"GET": 200})


def api(**allowed: int) -> Entry:
    return Entry(API, allowed or {"GET": 200})


ACCESS: dict[str, Entry] = {
    # Public site: the same for everyone, keys and sessions change nothing.
    "public.home": public(),
    "public.about": public(),
    "public.search": public(),
    "public.concerns": public(),
    "public.concern": public(),
    "public.concern_suggest": public(),
    "public.group_page": public(),
    "public.group_ics": public(),
    "public.report": public(GET=200, POST=400),
    "public.report_thanks": public(),
    "public.suggest": public(GET=200, POST=400),
    "public.suggest_thanks": public(),
    "public.start_a_group": public(),
    "public.search_pdf": public(),
    "public.search_atom": public(),
    "public.embed": public(),
    "public.embed_script": public(),
    "public.embed_theme": public(),
    # A group's own confirmation links (the token is the key; empty POSTs lack CSRF here).
    "public.confirm_overview": public(),
    "public.confirm_still_right": public(GET=200, POST=200),
    "public.confirm_changed": public(GET=200, POST=400),
    "public.confirm_stopped": public(GET=200, POST=200),
    "public.confirm_stop_emails": public(GET=200, POST=400),
    "public.healthz": public(),
    "public.readyz": public(),
    "static": public(),
    # Open parts of the APIs: the description documents.
    "api.openapi": public(),
    "hsds.info": public(),
    # Partner API and HSDS: a live key, whoever holds it; a staff session is not a key.
    "api.changes": api(),
    "api.concerns": api(),
    "api.export": api(),
    "api.groups": api(),
    "api.group": api(),
    "api.meeting_guide_feed": api(),
    "hsds.organizations": api(),
    "hsds.organization": api(),
    "hsds.services": api(),
    "hsds.service": api(),
    "hsds.taxonomies": api(),
    "hsds.taxonomy_detail": api(),
    "hsds.taxonomy_terms": api(),
    "hsds.taxonomy_term": api(),
    "api.create_webhook": api(POST=400),  # an empty body names the missing url
    "api.list_webhooks": api(),
    "api.delete_webhook": api(DELETE=404),  # a subscription of another key (or none) is not found
    # Sign-in itself is open; signing out needs a session.
    "staff.login": Entry(SIGN_IN, {"GET": 200, "POST": 200}),
    "staff.logout": staff(POST=302),
    # The console: editors and admins.
    "staff.dashboard": staff(),
    "staff.audit_log": staff(),
    "staff.listings": staff(),
    "staff.listing": staff(),
    "staff.archive": staff(POST=302),
    "staff.restore": staff(POST=302),
    "staff.verify": staff(POST=302),
    "staff.dismiss_flag": staff(POST=302),
    "staff.edit_listing": staff(GET=200, POST=409),  # an empty form has no version: refused
    "staff.merge": staff(GET=200, POST=200),
    "staff.bulk": staff(POST=302),
    "staff.geocode_preview": staff(),
    "staff.new_listing": staff(GET=200, POST=400),
    "staff.coverage_report": staff(),
    "staff.coverage_csv": staff(),
    "staff.flagged_report": staff(),
    "staff.stale_report": staff(),
    "staff.stale_csv": staff(),
    "staff.review_queue": staff(),
    "staff.review_request": staff(),
    "staff.approve": staff(POST=302),
    "staff.edit_then_approve": staff(GET=200, POST=302),
    "staff.reject": staff(POST=400),
    # Admins only: users, API keys, imports, purging a listing.
    "staff.users": admin(GET=200, POST=400),
    "staff.activate_user": admin(POST=302),
    "staff.deactivate_user": admin(POST=302),
    "staff.api_keys": admin(GET=200, POST=400),
    "staff.revoke_key": admin(POST=302),
    "staff.imports": admin(GET=200, POST=400),
    "staff.cancel_import": admin(POST=302),
    "staff.confirm_import": admin(POST=302),
    "staff.purge": admin(POST=302),
    "staff.sources": admin(GET=200, POST=400),
    "staff.refresh_source_now": admin(POST=302),
    "staff.pause_source": admin(POST=302),
    "staff.resume_source": admin(POST=302),
    "staff.source_rejects": admin(),
    "staff.webhook_subscriptions": admin(),
    "staff.webhook_log": admin(),
    "staff.resume_webhook": admin(POST=302),
    # Directory booklet and freshness: every staff member.
    "staff.booklet": staff(),
    "staff.booklet_pdf": staff(GET=400),  # no region chosen: the form comes back saying so
    "staff.freshness_page": staff(),
    "staff.freshness_csv": staff(),
    "staff.mark_bounced": staff(POST=302),
}


def expected_status(entry: Entry, method: str, caller: str) -> int:
    """What `caller` must get from `method` on an endpoint with this entry."""
    let_in = entry.allowed[method]
    if entry.access == PUBLIC:
        return let_in
    if entry.access == SIGN_IN:  # someone signed in already is sent on to the console
        return 302 if caller in ("editor", "admin") else let_in
    if entry.access == API:
        return {"API key": let_in, "revoked key": REVOKED_KEY}.get(caller, NO_KEY)
    if caller not in ("editor", "admin"):
        return TO_SIGN_IN
    if entry.access == ADMIN and caller == "editor":
        return 403
    return let_in


class World:
    """Real things for the URLs: each mutating endpoint gets its own, so the walk's order
    never changes an answer (archiving one group does not hide the group a later URL shows)."""

    def __init__(self, app: Flask) -> None:
        self.app = app
        self.group = create(db.session(), name="Matrix Circle", organization="Matrix Friends")
        index_all()
        self.made: dict[str, Any] = {}

    def value(self, endpoint: str, argument: str) -> str:
        key = f"{endpoint}:{argument}"
        if key not in self.made:
            self.made[key] = self._make(endpoint, argument)
        return str(self.made[key])

    def _make(self, endpoint: str, argument: str) -> Any:
        session = db.session()
        if argument == "slug":
            return "grief-loss" if endpoint == "public.concern" else self.group.slug
        if argument in ("group_id", "service_id"):
            return self.group.uuid
        if argument == "organization_id":
            return self.hsds_id("/hsds/organizations")
        if argument == "taxonomy_id":
            return self.hsds_id("/hsds/taxonomies")
        if argument == "term_id":
            return self.hsds_id("/hsds/taxonomy_terms")
        if argument == "filename":
            return "css/site.css"
        if argument == "group_uuid":
            name = "Matrix " + endpoint.split(".")[1].replace("_", " ")
            return create(session, name=name, external_id=endpoint).uuid
        if argument == "request_id":
            change = ChangeRequest(kind="new", payload=sample_record(name=f"New {endpoint}"))
            session.add(change)
            session.commit()
            return change.id
        if argument == "account_id":
            return make_user(f"{endpoint}@example.org").id
        if argument == "key_id":
            row, _key = create_api_key(session, f"Partner for {endpoint}")
            session.commit()
            return row.id
        if argument == "source_id":
            source = add_source(
                session,
                endpoint.replace("_", "-"),
                url="http://127.0.0.1:9/feed.json",
                fmt="meeting-guide",
                taxonomy=default_taxonomy(),
                concern="alcohol",
            )
            source.paused = endpoint == "staff.resume_source"
            session.commit()
            return source.id
        if argument == "subscription_id" and endpoint.startswith("api."):
            return "0b6f2f5e-8d7c-4c57-9a59-2c1d0b9f1e11"  # made up: no key owns it
        if argument == "subscription_id":
            partner, _key = create_api_key(session, f"Hooked partner for {endpoint}")
            hook = WebhookSubscription(
                api_key=partner, url="https://partner.example.org/hook", secret="whsec_matrix"
            )
            hook.state = WebhookState.PAUSED.value
            session.add(hook)
            session.commit()
            return hook.id
        if argument == "token":
            return confirmation_token(session, self.group, endpoint)
        raise AssertionError(f"no value for <{argument}> of {endpoint}: add one to World._make")

    def hsds_id(self, path: str) -> str:
        _row, key = create_api_key(db.session(), "HSDS id finder")
        db.session.commit()
        body = self.app.test_client().get(path, headers={"Authorization": f"Bearer {key}"})
        assert body.status_code == 200, path
        return str(body.get_json()["contents"][0]["id"])

    def url(self, rule: Rule) -> str:
        values = {name: self.value(rule.endpoint, name) for name in rule.arguments}
        return re.sub(r"<(?:[a-z]+:)?(\w+)>", lambda m: values[m[1]], rule.rule)


def confirmation_token(session: Any, group: Group, endpoint: str) -> str:
    """A live link of a yearly confirmation request to the group, as the worker sends it."""
    asked = FreshnessRequest(group_id=group.id, address="lead@example.org", sent_at=utcnow())
    session.add(asked)
    session.flush()
    token = f"matrix-{endpoint}"
    purpose = "stop" if endpoint == "public.confirm_stop_emails" else "answer"
    session.add(
        FreshnessLink(
            token_hash=token_hash(token),
            request_id=asked.id,
            purpose=purpose,
            expires_at=utcnow() + timedelta(days=30),
        )
    )
    session.commit()
    return token


def routes(app: Flask) -> list[tuple[Rule, str]]:
    return [
        (rule, method)
        for rule in sorted(app.url_map.iter_rules(), key=lambda rule: rule.rule)
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"})
    ]


def client_for(app: Flask, caller: str) -> tuple[FlaskClient, dict[str, str]]:
    """A client and the headers it sends: a browser session, or a partner's key."""
    client = app.test_client()
    headers: dict[str, str] = {}
    if caller in ("editor", "admin"):
        make_user(f"matrix-{caller}@example.org", caller)
        assert sign_in(client, f"matrix-{caller}@example.org").status_code == 302
    elif caller in ("API key", "revoked key"):
        row, key = create_api_key(db.session(), f"Matrix {caller}")
        db.session.commit()
        if caller == "revoked key":
            revoke_api_key(db.session(), row)
            db.session.commit()
        headers["Authorization"] = f"Bearer {key}"
    return client, headers


def walk(app: Flask, caller: str, check: Callable[[str, str, str, TestResponse], None]) -> None:
    """Open every route as `caller`; sign-out goes last, as it ends the session the rest need."""
    world = World(app)
    client, headers = client_for(app, caller)
    ordered = sorted(routes(app), key=lambda route: route[0].endpoint == "staff.logout")
    for rule, method in ordered:
        url = world.url(rule)
        response = client.open(url, method=method, headers=headers)
        response.close()  # a static file's handle, for one
        check(rule.endpoint, method, url, response)


def test_every_route_has_an_entry(app: Flask) -> None:
    endpoints = {rule.endpoint for rule in app.url_map.iter_rules()}
    missing = sorted(endpoints - ACCESS.keys())
    assert not missing, (
        f"routes without an access entry: {missing}; add each to ACCESS in {__file__} "
        "saying who may reach it (public, staff, admin, api) and what it answers"
    )
    stale = sorted(ACCESS.keys() - endpoints)
    assert not stale, f"ACCESS names endpoints that no longer exist: {stale}"
    for rule, method in routes(app):
        assert method in ACCESS[rule.endpoint].allowed, (
            f"{rule.endpoint} answers {method} but its ACCESS entry gives no status for it"
        )


@pytest.mark.parametrize("caller", CALLERS)
def test_each_caller_gets_the_expected_answer_from_every_route(
    store_app: Flask, caller: str
) -> None:
    store_app.config["WTF_CSRF_ENABLED"] = False
    wrong: list[str] = []

    def check(endpoint: str, method: str, url: str, response: TestResponse) -> None:
        entry = ACCESS.get(endpoint)
        if entry is None or method not in entry.allowed:
            return  # test_every_route_has_an_entry says what to add
        want = expected_status(entry, method, caller)
        got = response.status_code
        if got != want:
            wrong.append(f"{method} {url} ({endpoint}): {got}, expected {want}")
        elif entry.access in (STAFF, ADMIN) and got == 302:
            # A redirect keeps strangers out only if it goes to sign-in, and lets staff in
            # only if it goes anywhere else.
            to_sign_in = response.headers["Location"].startswith("/staff/login?next=")
            if to_sign_in != (caller not in ("editor", "admin")):
                wrong.append(f"{method} {url}: sent to {response.headers['Location']}")

    walk(store_app, caller, check)
    assert not wrong, f"{caller}:\n" + "\n".join(wrong)
