"""Partner webhooks: a real receiver on loopback that fails, times out and recovers.

The worker's delivery pass (`deliver_due`) runs against a clock the test controls, so back-off
and the day-long retry window pass without waiting.  The receiver checks every signature,
drops a repeated delivery by its idempotency key, and applies the rest to a dict that must end
equal to the public directory.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from clearinghouse.extensions import db
from clearinghouse.geocoding import geocode_listing
from clearinghouse.listings import validate_listing
from clearinghouse.models import ApiKey, Group, GroupStatus, WebhookDelivery, WebhookSubscription
from clearinghouse.store import apply_listing, set_status
from clearinghouse.taxonomy import default_taxonomy
from clearinghouse.webhooks import WebhookSettings, deliver_due, signature
from indexer.worker import default_worker
from tests.api_support import new_key
from tests.conftest import sample_record, two_workers_at_once
from tests.staff_support import csrf_token, make_user, new_client, post, sign_in

START = datetime(2026, 3, 1, 9, 0, 0)
READ_TIMEOUT = 0.5  # seconds; the slow answer waits for the test's teardown instead


@dataclass
class Receiver:
    """A partner's endpoint: `plan` scripts the next answers ("fail", "slow"), then 200s."""

    host: str
    port: int
    secret: str = ""
    plan: list[str] = field(default_factory=list)
    mirror: dict[str, dict[str, Any]] = field(default_factory=dict)  # id -> group JSON
    applied_keys: list[str] = field(default_factory=list)
    tries: list[tuple[str, str]] = field(default_factory=list)  # (delivery key, answer)
    seqs: list[int] = field(default_factory=list)  # seqs applied, in arrival order
    bad_signatures: int = 0
    stamps: set[int] = field(default_factory=set)
    delay: float = 0.0  # seconds every answer takes (deliveries overlap in time)
    release: threading.Event = field(default_factory=threading.Event)
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}/hook"

    def receive(self, headers: Any, body: bytes) -> str:
        """What to answer: the next planned one; a 200 or slow answer applies the change."""
        with self.lock:
            answer = self.plan.pop(0) if self.plan else "ok"
            key = headers["X-Clearinghouse-Delivery"]
            self.tries.append((key, answer))
            if answer == "fail":
                return answer
            if not verify(self.secret, headers["X-Clearinghouse-Signature"], body):
                self.bad_signatures += 1
                return "fail"
            self.stamps.add(int(headers["X-Clearinghouse-Signature"].split(",")[0][2:]))
            if key in self.applied_keys:
                return answer  # a repeat of a change already applied: acknowledge, ignore
            self.applied_keys.append(key)
            change = json.loads(body)
            self.seqs.append(change["seq"])
            if change["action"] == "upsert":
                self.mirror[change["id"]] = change["group"]
            else:
                self.mirror.pop(change["id"], None)
            return answer


def verify(secret: str, header: str, body: bytes) -> bool:
    """What a partner runs (docs/api.md): recompute the HMAC over "<t>." + body."""
    parts = dict(item.split("=", 1) for item in header.split(","))
    expected = hmac.new(secret.encode(), parts["t"].encode() + b"." + body, hashlib.sha256)
    return hmac.compare_digest(expected.hexdigest(), parts["v1"])


def _handler(receiver: Receiver) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            answer = receiver.receive(self.headers, body)
            time.sleep(receiver.delay)
            if answer == "slow":
                receiver.release.wait(10)  # past the client's read timeout
            status = 500 if answer == "fail" else 200
            try:
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()
            except (BrokenPipeError, ConnectionResetError):
                pass  # the client gave up waiting

        def log_message(self, format: str, *args: Any) -> None:
            pass

    return Handler


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), BaseHTTPRequestHandler)
    found = Receiver("127.0.0.1", server.server_address[1])
    server.RequestHandlerClass = _handler(found)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield found
    found.release.set()
    server.shutdown()
    server.server_close()
    thread.join()


@pytest.fixture
def hooks_app(app: Flask) -> Flask:
    app.config.update(WEBHOOK_ALLOW_PRIVATE_URLS=True, WEBHOOK_READ_TIMEOUT=READ_TIMEOUT)
    return app


def subscribe(client: FlaskClient, key: str, **body: Any) -> dict[str, Any]:
    response = client.post(
        "/api/v1/webhooks", json=body, headers={"Authorization": f"Bearer {key}"}
    )
    assert response.status_code == 201, response.get_data(as_text=True)
    created: dict[str, Any] = response.get_json()
    return created


class Clock:
    def __init__(self) -> None:
        self.now = START

    def advance(self, delta: timedelta) -> datetime:
        self.now += delta
        return self.now


def run_worker(
    app: Flask, clock: Clock, passes: int = 40, step: timedelta = timedelta(hours=1)
) -> None:
    """Delivery passes as the worker runs them, the clock moving on between them."""
    settings = WebhookSettings.from_config(app.config)
    for _ in range(passes):
        with app.test_request_context("/"):
            deliver_due(db.session(), taxonomy=default_taxonomy(), settings=settings, now=clock.now)
        db.session.remove()
        pending = db.session.scalars(select(WebhookSubscription)).all()
        if all(sub.next_attempt_at is None for sub in pending):
            # Every subscription is caught up or paused: one more pass proves nothing is left.
            with app.test_request_context("/"):
                more = deliver_due(
                    db.session(), taxonomy=default_taxonomy(), settings=settings, now=clock.now
                )
            assert not more
            return
        clock.advance(step)
    raise AssertionError("deliveries did not settle")


def edit(group: Group, **overrides: Any) -> None:
    record = sample_record(**overrides)
    validation = validate_listing(record, default_taxonomy())
    assert validation.data is not None, validation.errors
    data, _notes = geocode_listing(validation.data)
    apply_listing(db.session, data, actor="test", group=group)
    db.session.commit()


def directory(client: FlaskClient, key: str) -> dict[str, dict[str, Any]]:
    response = client.get("/api/v1/export.ndjson", headers={"Authorization": f"Bearer {key}"})
    groups = [json.loads(line) for line in response.get_data(as_text=True).splitlines()]
    return {group["id"]: group for group in groups}


def test_a_receiver_that_fails_times_out_and_recovers_ends_identical_to_the_directory(
    hooks_app: Flask, client: FlaskClient, receiver: Receiver, make_group: Callable[..., Group]
) -> None:
    before = make_group(name="Morning Grief Circle")
    make_group(name="Lakeview Widows", concerns=["grief"])
    key = new_key()
    created = subscribe(client, key, url=receiver.url, since="0")
    receiver.secret = created["secret"]
    # The first try fails, the retry times out (after the receiver applied it), then recovery.
    receiver.plan = ["fail", "slow"]
    third = make_group(name="Harbor Caregivers", concerns=["caregiving"])
    edit(before, name="Morning Grief Circle (Tuesdays)")
    set_status(db.session, third, GroupStatus.ARCHIVED, actor="test")
    db.session.commit()
    make_group(name="Sober Sunday", concerns=["alcohol"])
    make_group(name="Not Yet Public", status="pending")

    run_worker(hooks_app, Clock())

    assert receiver.bad_signatures == 0
    assert receiver.mirror == directory(client, key)
    assert len(receiver.mirror) == 3
    # Nothing lost: every outbox change arrived once, in order; the timed-out one came twice.
    keys = [key for key, _answer in receiver.tries]
    assert receiver.seqs == sorted(receiver.seqs)
    assert len(receiver.applied_keys) == len(set(receiver.applied_keys))
    assert [answer for _key, answer in receiver.tries[:3]] == ["fail", "slow", "ok"]
    assert keys[0] == keys[1] == keys[2], "a retry carries the same idempotency key"
    assert keys.count(keys[0]) == 3 and len(keys) == len(set(keys)) + 2
    # Signed with the worker's clock: the slow try an hour in, the recovery two hours in.
    epoch = datetime(1970, 1, 1)
    assert receiver.stamps == {
        int((START + timedelta(hours=hours) - epoch).total_seconds()) for hours in (1, 2)
    }
    subscription = db.session.scalar(select(WebhookSubscription))
    assert subscription is not None and subscription.state == "active"
    log = db.session.scalars(select(WebhookDelivery).order_by(WebhookDelivery.id)).all()
    assert [row.ok for row in log[:3]] == [False, False, True]
    assert "HTTP 500" in log[0].error and "in time" in log[1].error


def test_two_workers_running_at_once_post_each_change_once(
    hooks_app: Flask, client: FlaskClient, receiver: Receiver, make_group: Callable[..., Group]
) -> None:
    """`serve`'s in-process loop beside `clearinghouse worker`: a subscription has one sender."""
    names = [f"Circle {number}" for number in range(6)]
    for name in names:
        make_group(name=name)
    created = subscribe(client, new_key(), url=receiver.url, since="0")
    receiver.secret = created["secret"]
    receiver.delay = 0.05  # each POST takes a while, so the two workers' passes overlap
    settings = WebhookSettings.from_config(hooks_app.config)
    two_workers_at_once(
        hooks_app,
        lambda: deliver_due(
            db.session(), taxonomy=default_taxonomy(), settings=settings, now=START
        ),
    )

    keys = [key for key, _answer in receiver.tries]
    assert len(keys) == len(names), keys  # each change POSTed once, by one of the two
    assert sorted(group["name"] for group in receiver.mirror.values()) == names
    db.session.expire_all()
    subscription = db.session.scalar(select(WebhookSubscription))
    assert subscription is not None and subscription.next_attempt_at is None  # lease released
    run_worker(hooks_app, Clock())  # a later pass finds nothing left to send
    assert len(receiver.tries) == len(names)


def test_a_subscription_with_concerns_or_regions_receives_only_matching_changes(
    hooks_app: Flask, client: FlaskClient, receiver: Receiver, make_group: Callable[..., Group]
) -> None:
    key = new_key()
    created = subscribe(client, key, url=receiver.url, concerns=["grief-loss"], regions=["il"])
    receiver.secret = created["secret"]
    assert created["regions"] == ["IL"]
    grief_il = make_group(name="Chicago Grief Circle", concerns=["grief"])
    make_group(name="Chicago Sober Circle", concerns=["alcohol"])
    texas = sample_record()["location"] | {"city": "Austin", "region": "TX", "postal_code": "78701"}
    make_group(
        name="Austin Grief Circle",
        concerns=["grief"],
        location=texas | {"lat": 30.27, "lon": -97.74},
    )
    set_status(db.session, grief_il, GroupStatus.ARCHIVED, actor="test")
    db.session.commit()
    after = make_group(name="Evanston Grief Circle", concerns=["grief"]).uuid

    run_worker(hooks_app, Clock())

    assert receiver.mirror == {after: directory(client, key)[after]}
    ids = {key.rsplit("-", 1)[0] for key in receiver.applied_keys}
    assert ids == {created["id"]}
    # The Chicago circle's upsert and its removal both arrived; nothing of the others did.
    assert len(receiver.applied_keys) == 3


def test_a_subscription_failing_for_the_retry_window_pauses_and_staff_see_it(
    hooks_app: Flask, client: FlaskClient, receiver: Receiver, make_group: Callable[..., Group]
) -> None:
    key = new_key()
    receiver.plan = ["fail"] * 1000
    created = subscribe(client, key, url=receiver.url)
    receiver.secret = created["secret"]
    make_group(name="Evening Grief Circle")
    clock = Clock()

    run_worker(hooks_app, clock, passes=60, step=timedelta(minutes=45))

    subscription = db.session.scalar(select(WebhookSubscription))
    assert subscription is not None
    assert subscription.state == "paused"
    assert subscription.paused_at is not None and subscription.failing_since == START
    assert subscription.paused_at - START >= timedelta(days=1)
    assert subscription.paused_at - START < timedelta(days=1, hours=2)
    assert receiver.applied_keys == []
    tries = len(receiver.tries)
    assert tries < 40, "back-off spaces the tries out"
    # Back-off: far fewer tries than passes, and none once paused.
    run_worker(hooks_app, clock, passes=5)
    assert len(receiver.tries) == tries
    listed = client.get("/api/v1/webhooks", headers={"Authorization": f"Bearer {key}"})
    assert listed.get_json()["data"][0]["state"] == "paused"

    make_user("admin@example.org", "admin")
    staff = new_client(hooks_app)
    sign_in(staff, "admin@example.org")
    page = staff.get("/staff/webhooks").get_data(as_text=True)
    assert receiver.url in page and "paused" in page and "HTTP 500" in page
    assert "Partner webhooks paused" in staff.get("/staff/").get_data(as_text=True)
    log = staff.get(f"/staff/webhooks/{subscription.id}").get_data(as_text=True)
    assert log.count("the endpoint answered HTTP 500") == tries
    receiver.plan = []
    resumed = post(
        staff, f"/staff/webhooks/{subscription.id}/resume", {"csrf_token": csrf_token(staff)}
    )
    assert resumed.status_code == 302
    run_worker(hooks_app, clock)
    assert len(receiver.applied_keys) == 1 and receiver.mirror == directory(client, key)


def test_subscriptions_are_validated_and_belong_to_their_key(
    app: Flask, client: FlaskClient
) -> None:
    mine, theirs = new_key("Mine"), new_key("Theirs")

    def create(key: str, body: Any) -> Any:
        return client.post(
            "/api/v1/webhooks", json=body, headers={"Authorization": f"Bearer {key}"}
        )

    for body, field_name in [
        ({"url": "ftp://partner.example.org/x"}, "url"),
        ({"url": "http://partner.example.org/x"}, "url"),
        ({"url": "https://127.0.0.1/x"}, "url"),
        ({"url": "https://partner.example.org/x", "concerns": ["no-such-thing"]}, "concerns"),
        ({"url": "https://partner.example.org/x", "regions": ["ZZ"]}, "regions"),
        ({"url": "https://partner.example.org/x", "since": "99999"}, "since"),
        ({"url": "https://partner.example.org/x", "since": "²"}, "since"),
        ({"url": "https://[::1/x"}, "url"),
        ({"url": "https://partner.example.org/x", "colour": "red"}, "colour"),
    ]:
        response = create(mine, body)
        assert response.status_code == 400, body
        assert response.get_json()["invalid_params"][0]["name"] == field_name
    assert create(mine, ["not", "an", "object"]).status_code == 400

    made = create(mine, {"url": "https://partner.example.org/hook"}).get_json()
    assert made["secret"].startswith("whsec_")
    mine_list = client.get("/api/v1/webhooks", headers={"Authorization": f"Bearer {mine}"})
    assert [sub["id"] for sub in mine_list.get_json()["data"]] == [made["id"]]
    assert "secret" not in mine_list.get_data(as_text=True)
    their_list = client.get("/api/v1/webhooks", headers={"Authorization": f"Bearer {theirs}"})
    assert their_list.get_json()["data"] == []
    path = f"/api/v1/webhooks/{made['id']}"
    assert client.delete(path, headers={"Authorization": f"Bearer {theirs}"}).status_code == 404
    assert client.delete(path, headers={"Authorization": f"Bearer {mine}"}).status_code == 204
    assert client.delete(path, headers={"Authorization": f"Bearer {mine}"}).status_code == 404


def test_a_revoked_keys_subscriptions_are_not_delivered(
    hooks_app: Flask, client: FlaskClient, receiver: Receiver, make_group: Callable[..., Group]
) -> None:
    key = new_key()
    receiver.secret = subscribe(client, key, url=receiver.url)["secret"]
    make_group(name="Evening Grief Circle")
    for api_key in db.session.scalars(select(ApiKey)):
        api_key.revoked_at = START
    db.session.commit()

    run_worker(hooks_app, Clock())

    assert receiver.tries == []


def test_the_worker_runs_webhook_deliveries(app: Flask) -> None:
    assert "webhooks" in [job.name for job in default_worker(app).jobs]


def test_the_worked_signature_example_in_the_docs_is_what_the_server_signs() -> None:
    docs = (Path(__file__).resolve().parents[2] / "docs" / "api.md").read_text(encoding="utf-8")
    secret = re.search(r'with secret "([^"]+)" and t=(\d+), the body\n#\s+(\{.*\})\n', docs)
    header = re.search(r"is signed\n#\s+(t=\S+)\n", docs)
    assert secret is not None and header is not None
    body = secret[3].encode()
    assert signature(secret[1], int(secret[2]), body) == header[1]
    assert verify(secret[1], header[1], body)
