"""Locust users for `bench/load.py`: visitors, partners and staff on one served clearinghouse.

Not run directly: `bench/load.py` builds the instance, serves it and runs Locust headless with
this file.  It passes what the users need through the environment: BENCH_API_KEY,
BENCH_STAFF_PASSWORD, BENCH_STAFF_USERS (how many editor accounts bench-editor-<n>@… exist).
"""

from __future__ import annotations

import itertools
import os
import random
import re
from html.parser import HTMLParser
from typing import Any

from locust import HttpUser, between, task

TERMS = ["grief", "alcohol", "anxiety", "caregivers", "divorce", "cancer", "parents", "support"]
PLACES = ["60614", "Chicago, IL", "10001", "Austin, TX", "94110", "CA", "Seattle, WA"]
_editor_numbers = itertools.count()


class Visitor(HttpUser):
    """Someone looking for a group: the home page, searches by concern and place, group pages."""

    weight = 6
    wait_time = between(0.2, 1.0)

    def on_start(self) -> None:
        self.slugs: list[str] = []

    @task(4)
    def search(self) -> None:
        params = {"q": random.choice(TERMS), "near": random.choice(PLACES)}
        with self.client.get("/search", params=params, name="/search", catch_response=True) as r:
            self.slugs = re.findall(r'href="/groups/([a-z0-9-]+)"', r.text)[:10] or self.slugs
            if r.status_code != 200:
                r.failure(f"status {r.status_code}")

    @task(3)
    def group_page(self) -> None:
        if self.slugs:
            self.client.get(f"/groups/{random.choice(self.slugs)}", name="/groups/[slug]")

    @task(1)
    def home(self) -> None:
        self.client.get("/", name="/")


class Partner(HttpUser):
    """A referral partner's site calling the search API with its key."""

    weight = 3
    wait_time = between(0.2, 1.0)

    def on_start(self) -> None:
        self.client.headers["Authorization"] = f"Bearer {os.environ['BENCH_API_KEY']}"

    @task(3)
    def search(self) -> None:
        params = {"q": random.choice(TERMS), "near": random.choice(PLACES), "per_page": "20"}
        self.client.get("/api/v1/groups", params=params, name="/api/v1/groups?q&near")

    @task(1)
    def browse(self) -> None:
        params = {"concern": "grief-loss", "page": str(random.randint(1, 3))}
        self.client.get("/api/v1/groups", params=params, name="/api/v1/groups?concern&page")


class FormFields(HTMLParser):
    """What a browser would submit for the first form on a page that has a `version` field."""

    def __init__(self) -> None:
        super().__init__()
        self.fields: list[tuple[str, str]] = []
        self._textarea: str | None = None
        self._select: str | None = None
        self._text = ""

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {key: value or "" for key, value in attrs}
        if tag == "input" and a.get("name"):
            if a.get("type") in ("checkbox", "radio") and "checked" not in a:
                return
            if a.get("type") in ("submit", "button", "file"):
                return
            self.fields.append((a["name"], a.get("value", "on" if a.get("type") else "")))
        elif tag == "textarea" and a.get("name"):
            self._textarea, self._text = a["name"], ""
        elif tag == "select" and a.get("name"):
            self._select = a["name"]
        elif tag == "option" and self._select and "selected" in a:
            self.fields.append((self._select, a.get("value", "")))

    def handle_data(self, data: str) -> None:
        if self._textarea is not None:
            self._text += data

    def handle_endtag(self, tag: str) -> None:
        if tag == "textarea" and self._textarea is not None:
            self.fields.append((self._textarea, self._text))
            self._textarea = None
        elif tag == "select":
            self._select = None


class StaffEditor(HttpUser):
    """An editor working through their own share of listings: edits and re-verifications.

    Each editor has a disjoint set of listings, so no save meets another's (which would be an
    honest 409 conflict, not a failure of the site).
    """

    weight = 1
    wait_time = between(0.5, 2.0)

    def on_start(self) -> None:
        self.number = next(_editor_numbers)
        editors = int(os.environ["BENCH_STAFF_USERS"])
        email = f"bench-editor-{self.number % editors}@example.org"
        page = self.client.get("/staff/login", name="/staff/login")
        self.client.post(
            "/staff/login",
            data={
                "email": email,
                "password": os.environ["BENCH_STAFF_PASSWORD"],
                "csrf_token": _csrf(page.text),
            },
            name="/staff/login",
        )
        listing = self.client.get("/staff/listings?per_page=100", name="/staff/listings")
        uuids = sorted(set(re.findall(r"/staff/listings/([0-9a-f-]{36})", listing.text)))
        self.uuids = uuids[self.number % editors :: editors] or uuids
        self.saves = 0

    @task(2)
    def edit(self) -> None:
        uuid = random.choice(self.uuids)
        page = self.client.get(f"/staff/listings/{uuid}/edit", name="/staff/listings/[id]/edit")
        parser = FormFields()
        parser.feed(page.text)
        fields: dict[str, Any] = {}
        for name, value in parser.fields:
            fields.setdefault(name, value)
        self.saves += 1
        fields["description"] = f"Edited by the load test, save {self.saves}."
        with self.client.post(
            f"/staff/listings/{uuid}/edit",
            data=fields,
            name="/staff/listings/[id]/edit (save)",
            allow_redirects=False,
            catch_response=True,
        ) as response:
            if response.status_code != 302:
                response.failure(f"save answered {response.status_code}")

    @task(1)
    def verify(self) -> None:
        uuid = random.choice(self.uuids)
        page = self.client.get(f"/staff/listings/{uuid}", name="/staff/listings/[id]")
        # The action redirects whatever happened; the flash on the next page says it was done.
        with self.client.post(
            f"/staff/listings/{uuid}/verify",
            data={"csrf_token": _csrf(page.text)},
            name="/staff/listings/[id]/verify (save)",
            catch_response=True,
        ) as response:
            if response.status_code != 200 or "verified today" not in response.text:
                response.failure(f"verify answered {response.status_code} without its message")


def _csrf(page: str) -> str:
    match = re.search(r'name="csrf[_-]token"[^>]*(?:value|content)="([^"]+)"', page)
    return match[1] if match else ""
