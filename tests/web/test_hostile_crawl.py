"""A hostile crawl: every form and every API parameter filled with attacks, on both databases.

The crawl reads the forms from the pages themselves (public and staff, GET and POST), so a new
form or field is crawled without an edit here; API parameters come from the OpenAPI document,
HSDS's from the list below. Each value of a small corpus (markup, entities, SQL and FTS syntax,
control characters, invalid UTF-8, 100,000 characters, huge and negative numbers, direction
marks) goes into each field once, deterministically rotated rather than the full product.
Nothing may answer 5xx. Then values that are stored (a suggestion a reviewer approved, a staff
listing) must come out escaped in every format: HTML, JSON, NDJSON, HSDS, Meeting Guide, .ics.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from html.parser import HTMLParser
from typing import Any
from urllib.parse import quote, urlsplit

import icalendar
import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from werkzeug.test import TestResponse

from clearinghouse.extensions import db
from clearinghouse.models import ChangeRequest, Group
from tests.api_support import create, index_all, new_key
from tests.staff_support import listing_form_data, make_user, sign_in

INVALID_UTF8 = "\udcff"  # stands for the raw bytes %FF%FE on the wire
CORPUS = [
    '<script>alert("x1")</script>',
    "&lt;script&gt;alert(2)&lt;/script&gt;",
    "\"'><img src=x onerror=alert(3)>",
    '" OR 1=1 --',
    "NEAR(grief AND",
    "*",
    "a\x00b",
    "\x1b[31m\x07\x7f",
    "x\r\nBEGIN:VEVENT\r\nSUMMARY:injected",
    INVALID_UTF8,
    "x" * 100_000,
    "9" * 400,
    "-1",
    "1e309",
    "\u202eevil\u200f\u2066",
]
HSDS_PARAMETERS = {
    "/hsds/services": [
        "search",
        "page",
        "per_page",
        "format",
        "full",
        "minimal",
        "modified_after",
        "taxonomy_term_id",
        "taxonomy_id",
        "organization_id",
    ],
    "/hsds/organizations": ["search", "page", "per_page", "full_service", "format"],
    "/hsds/taxonomies": ["page", "per_page", "format"],
    "/hsds/taxonomy_terms": ["page", "per_page", "taxonomy_id", "parent_id", "top_only"],
}
# Where the crawl starts; every form on these pages is filled in.
PUBLIC_PAGES = ["/", "/search?q=grief", "/suggest", "/concerns", "/staff/login"]
STAFF_PAGES = [
    "/staff/",
    "/staff/listings",
    "/staff/listings/new",
    "/staff/audit",
    "/staff/review",
    "/staff/users",
    "/staff/api-keys",
    "/staff/imports",
    "/staff/reports/coverage",
    "/staff/reports/stale",
    "/staff/reports/flagged",
]
# Forms whose POST ends something the rest of the crawl needs.
NOT_FILLED = ("/staff/logout",)
ENDINGS = ("/purge", "/archive", "/merge", "/approve", "/reject", "/deactivate", "/revoke")


def encode(value: str) -> str:
    """Percent-encode a value; the invalid-UTF-8 marker becomes bytes no decoder accepts."""
    if value == INVALID_UTF8:
        return "%FF%FE"
    return quote(value, safe="")


def body(fields: dict[str, str | list[str]]) -> bytes:
    pairs = []
    for name, values in fields.items():
        for value in [values] if isinstance(values, str) else values:
            pairs.append(f"{quote(name, safe='')}={encode(value)}")
    return "&".join(pairs).encode("ascii")


@dataclass
class Form:
    action: str
    method: str
    fields: dict[str, str | list[str]] = field(default_factory=dict)  # what a browser sends
    names: list[str] = field(default_factory=list)  # every field, sent or not
    hidden: set[str] = field(default_factory=set)


class FormParser(HTMLParser):
    """The forms of a page with their fields' current values, as a browser would submit them."""

    def __init__(self, page_url: str) -> None:
        super().__init__()
        self.page_url = page_url
        self.forms: list[Form] = []
        self._select: str | None = None
        self._textarea: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {name: value or "" for name, value in attrs}
        if tag == "form":
            action = a.get("action") or urlsplit(self.page_url).path
            self.forms.append(Form(action, a.get("method", "get").upper()))
            return
        if tag == "option" and self._select and self.forms:
            # A select sends its selected option, or else its first.
            fields = self.forms[-1].fields
            if "selected" in a or self._select not in fields:
                fields[self._select] = a.get("value", "")
            return
        if not self.forms or "name" not in a:
            return
        form, name = self.forms[-1], a["name"]
        if name not in form.names and tag in ("input", "textarea", "select"):
            form.names.append(name)
        if tag == "input":
            kind = a.get("type", "text")
            if kind in ("submit", "button", "image", "file", "reset"):
                return
            if kind == "hidden":
                form.hidden.add(name)
            if kind in ("checkbox", "radio"):
                if "checked" in a:
                    form.fields.setdefault(name, a.get("value", "on"))
                return
            form.fields[name] = a.get("value", "")
        elif tag == "textarea":
            form.fields[name] = ""
            self._textarea = name
        elif tag == "select":
            self._select = name

    def handle_data(self, data: str) -> None:
        if self._textarea and self.forms:
            self.forms[-1].fields[self._textarea] += data

    def handle_endtag(self, tag: str) -> None:
        if tag == "select":
            self._select = None
        elif tag == "textarea":
            self._textarea = None


def forms_on(client: FlaskClient, url: str) -> list[Form]:
    response = client.get(url)
    assert response.status_code == 200, url
    parser = FormParser(url)
    parser.feed(response.get_data(as_text=True))
    return [form for form in parser.forms if form.action not in NOT_FILLED]


def hostile_fills(form: Form) -> Iterator[dict[str, str | list[str]]]:
    """Each field gets each corpus value once: round r gives field j value (r + j) mod N.

    Hidden fields (CSRF token, version) keep their values so the fill reaches the view.
    """
    names = [name for name in form.names if name not in form.hidden]
    for round_ in range(len(CORPUS)):
        fill = dict(form.fields)
        for index, name in enumerate(names):
            fill[name] = CORPUS[(round_ + index) % len(CORPUS)]
        yield fill


def submit(client: FlaskClient, form: Form, fill: dict[str, str | list[str]]) -> TestResponse:
    if form.method == "GET":
        response = client.get(f"{form.action}?{body(fill).decode()}")
    else:
        response = client.post(
            form.action, data=body(fill), content_type="application/x-www-form-urlencoded"
        )
    response.close()
    return response


@pytest.fixture
def world(store_app: Flask) -> dict[str, Any]:
    """A group, a pending suggestion, a signed-in admin and a partner key."""
    group = create(db.session(), name="Evening Grief Circle", organization="Grief Friends")
    suggestion = ChangeRequest(kind="edit", group_id=group.id, payload={"name": "Renamed"})
    db.session.add(suggestion)
    db.session.commit()
    index_all()
    make_user("admin@example.org", "admin")
    admin = store_app.test_client()
    assert sign_in(admin, "admin@example.org").status_code == 302
    key = new_key(rate_limit="100000/minute")
    return {"group": group, "admin": admin, "key": key, "request_id": suggestion.id}


def test_no_form_or_parameter_answers_a_5xx_to_hostile_values(
    store_app: Flask, world: dict[str, Any]
) -> None:
    group, admin = world["group"], world["admin"]
    public = store_app.test_client()
    failures: list[str] = []
    crawled = 0
    pages = [(public, url) for url in [*PUBLIC_PAGES, f"/groups/{group.slug}/report"]] + [
        (admin, url)
        for url in [
            *STAFF_PAGES,
            f"/staff/listings/{group.uuid}",
            f"/staff/listings/{group.uuid}/edit",
            f"/staff/listings/{group.uuid}/merge",
            f"/staff/review/{world['request_id']}",
            f"/staff/review/{world['request_id']}/edit",
        ]
    ]
    # Every form is read before any is sent, and the ones that end something go last.
    found = [(client, page, form) for client, page in pages for form in forms_on(client, page)]
    found.sort(key=lambda item: item[2].action.endswith(ENDINGS))
    for client, page, form in found:
        for fill in hostile_fills(form):
            status = submit(client, form, fill).status_code
            crawled += 1
            if status >= 500:
                failures.append(f"{form.method} {form.action} from {page}: {status}")
    headers = {"Authorization": f"Bearer {world['key']}"}
    for path, names in api_parameters(public, headers).items():
        for name in names:
            for value in CORPUS:
                url = f"{path}?{body({name: value}).decode()}"
                response = public.get(url, headers=headers)
                crawled += 1
                if response.status_code >= 500:
                    failures.append(f"GET {path}?{name}={value[:40]!r}: {response.status_code}")
    assert not failures, "\n".join(failures)
    assert crawled > 500  # the crawl found the forms and parameters it should have


def api_parameters(client: FlaskClient, headers: dict[str, str]) -> dict[str, list[str]]:
    """Each API path's query parameters, from the published OpenAPI document, plus HSDS's."""
    document = client.get("/api/v1/openapi.json").get_json()
    found: dict[str, list[str]] = dict(HSDS_PARAMETERS)
    for path, item in document["paths"].items():
        names = [
            parameter["name"]
            for operation in item.values()
            if isinstance(operation, dict)
            for parameter in operation.get("parameters", [])
            if parameter.get("in") == "query"
        ]
        if names:
            found["/api/v1" + path] = names
    assert "q" in found["/api/v1/groups"]
    return found


# -- what is stored comes out escaped ------------------------------------------------------

SCRIPT, ENTITIES, IMG, ICS_INJECTION = CORPUS[0], CORPUS[1], CORPUS[2], CORPUS[8]
RAW_MARKUP = re.compile(r"<\s*(script|img)\b", re.I)


def suggestion(name: str) -> dict[str, str | list[str]]:
    return {
        "name": f"{name} {SCRIPT}",
        "concerns": "grief",
        "description": f"{ENTITIES} and {IMG} {CORPUS[14]}",
        "format": "peer-led",
        "attendance": "in-person",
        "open": "yes",
        "cost": "free",
        "cost_note": CORPUS[3],
        "languages": "English",
        "location_name": f"Hall {IMG}",
        "address": "100 Main St",
        "city": "Springfield",
        "region": "IL",
        "postal_code": "62701",
        "meeting_freq": "weekly",
        "meeting_days": ["TU"],
        "meeting_start": "19:00",
        "message": SCRIPT,
    }


def stored_hostile_groups(app: Flask, world: dict[str, Any]) -> list[Group]:
    """A public suggestion approved by a reviewer, and a listing staff typed in."""
    admin = world["admin"]
    public = app.test_client()
    [form] = [form for form in forms_on(public, "/suggest") if form.method == "POST"]
    fill = {**form.fields, **suggestion("Suggested Circle")}
    assert submit(public, form, fill).status_code == 302
    change = db.session.scalars(select(ChangeRequest).where(ChangeRequest.kind == "new")).one()
    [approve] = [
        form
        for form in forms_on(admin, f"/staff/review/{change.id}")
        if form.action.endswith("/approve")
    ]
    assert submit(admin, approve, approve.fields).status_code == 302
    typed = listing_form_data(
        name=f"Staff Circle {SCRIPT}",
        description=f"{ENTITIES} {IMG}",
        organization=f"Org {SCRIPT}",
        location_name=ENTITIES,
        location_notes=f'Room "A<B" & {CORPUS[14]}',
        cost_note=CORPUS[3],
        **{"meetings-0-note": ICS_INJECTION},
    )
    [new] = [form for form in forms_on(admin, "/staff/listings/new") if form.method == "POST"]
    saved = submit(admin, new, {**new.fields, **typed})
    assert saved.status_code == 302, re.findall(r'class="[^"]*error[^"]*"[^>]*>([^<]+)', saved.text)
    index_all()
    stored = db.session.scalars(select(Group).where(Group.status == "active")).all()
    groups = [group for group in stored if group.name.startswith(("Staff", "Suggested"))]
    assert len(groups) == 2, [group.name for group in stored]
    return groups


def strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from strings(item)


def test_stored_hostile_values_are_escaped_in_every_output_format(
    store_app: Flask, world: dict[str, Any]
) -> None:
    check_outputs(store_app, world, markup_in_feeds=False)


def test_feeds_carry_no_markup_a_partner_site_would_render(
    store_app: Flask, world: dict[str, Any]
) -> None:
    check_outputs(store_app, world, markup_in_feeds=True)


def check_outputs(app: Flask, world: dict[str, Any], *, markup_in_feeds: bool) -> None:
    """Every output of the stored groups: HTML escaped, JSON and .ics well-formed.

    With `markup_in_feeds`, also no string in JSON or .ics is markup: partner sites and
    calendar apps render them, often as HTML.
    """
    groups = stored_hostile_groups(app, world)
    client = app.test_client()
    headers = {"Authorization": f"Bearer {world['key']}"}
    html_pages = ["/search?q=circle", "/search?near=62701", f"/staff/listings/{groups[0].uuid}"]
    json_documents = ["/api/v1/groups?q=circle", "/api/v1/meeting-guide.json", "/hsds/services"]
    ndjson_documents = ["/api/v1/export.ndjson", "/hsds/services?format=ndjson"]
    calendars = []
    for group in groups:
        html_pages.append(f"/groups/{group.slug}")
        json_documents += [f"/api/v1/groups/{group.uuid}", f"/hsds/services/{group.uuid}"]
        calendars.append(f"/groups/{group.slug}.ics")

    def fetch(url: str) -> str:
        reader = world["admin"] if url.startswith("/staff") else client
        response = reader.get(url, headers=headers)
        assert response.status_code == 200, url
        return response.get_data(as_text=True)

    seen = 0
    for url in html_pages:
        page = fetch(url)
        seen += "Circle" in page
        assert not re.search(r"<script>alert|<img src=x", page, re.I), url
    for url in json_documents + ndjson_documents:
        text = fetch(url)
        lines = text.splitlines() if url in ndjson_documents else [text]
        for line in lines:
            values = list(strings(json.loads(line)))  # valid JSON, line by line for NDJSON
            seen += any("Circle" in value for value in values)
            markup = [value[:80] for value in values if RAW_MARKUP.search(value)]
            assert not (markup_in_feeds and markup), (url, markup)
    for url in calendars:
        raw = fetch(url)
        assert not any(line.startswith("SUMMARY:injected") for line in raw.splitlines()), url
        events = list(icalendar.Calendar.from_ical(raw).walk("VEVENT"))
        assert len(events) == 1, (url, [str(event.get("SUMMARY")) for event in events])
        for name in ("SUMMARY", "DESCRIPTION", "LOCATION"):
            text = str(events[0].get(name, ""))
            assert not (markup_in_feeds and RAW_MARKUP.search(text)), (url, name)
    assert seen >= len(html_pages) + len(json_documents)
