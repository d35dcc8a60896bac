"""Partner sources refreshing from real feeds served on loopback: changes, 304, timeouts, HTML.

The feed is a real Meeting Guide file from ../shared/external (read by path, never printed);
a test serves it, or a copy it changed, from a local HTTP server.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import func, select

from clearinghouse.extensions import db
from clearinghouse.geocoding import geocode_listing
from clearinghouse.models import (
    AuditEvent,
    ChangeRequest,
    FeedSource,
    Group,
    GroupStatus,
    Outbox,
    ReviewStatus,
    SourceOutcome,
    utcnow,
)
from clearinghouse.store import apply_listing
from clearinghouse.taxonomy import default_taxonomy
from indexer.pipeline import validate
from indexer.sources import (
    REMOVED_BY_SOURCE,
    RefreshResult,
    RefreshSettings,
    SourceError,
    add_source,
    find_source,
    parse_interval,
    refresh_source,
)
from indexer.worker import default_worker
from tests.feed_server import Feed, FeedServer, feed_server

__all__ = ["feed_server"]  # fixtures

EXTERNAL = Path(__file__).resolve().parents[3] / "shared" / "external"
KANSAS_CITY = EXTERNAL / "meeting-guide" / "spec_kansas-city_data-sample.json"
FEED_ROWS, FEED_GROUPS = 45, 40  # the file's meeting rows, and the groups they make


@pytest.fixture(autouse=True)
def quick_fetch(app: Flask) -> None:
    """A short timeout and no waiting between retries, so the timeout test is quick."""
    app.config.update(SOURCE_FETCH_TIMEOUT=0.5, SOURCE_FETCH_RETRIES=1, SOURCE_RETRY_BACKOFF=0)


def feed_items() -> list[dict[str, Any]]:
    items = json.loads(KANSAS_CITY.read_bytes())
    rows = len(items) if isinstance(items, list) else -1
    assert rows == FEED_ROWS
    return list(items)


def as_feed(items: list[dict[str, Any]], etag: str | None = None) -> Feed:
    return Feed(json.dumps(items).encode(), etag=etag)


def add(name: str, url: str, fmt: str = "meeting-guide") -> FeedSource:
    source = add_source(
        db.session(), name, url=url, fmt=fmt, concern="alcohol", taxonomy=default_taxonomy()
    )
    db.session.commit()
    return source


def refresh(app: Flask, name: str, allow_removals: bool = False) -> RefreshResult:
    return refresh_source(
        db.session(),
        find_source(db.session(), name),
        taxonomy=default_taxonomy(),
        settings=RefreshSettings.from_config(app.config),
        allow_removals=allow_removals,
    )


def live_groups(name: str) -> list[Group]:
    query = select(Group).where(Group.source == name, Group.status != GroupStatus.ARCHIVED)
    return list(db.session.scalars(query.order_by(Group.external_id)))


def single_meeting_groups(name: str, count: int) -> list[Group]:
    """Groups made of one feed row each: dropping that row drops exactly that group."""
    found = [group for group in live_groups(name) if len(group.meetings) == 1]
    assert len(found) >= count
    return found[:count]


def without(items: list[dict[str, Any]], groups: list[Group]) -> list[dict[str, Any]]:
    ids = {group.external_id for group in groups}
    kept = [item for item in items if str(item.get("slug")) not in ids]
    removed, wanted = len(items) - len(kept), len(groups)  # counts only: never print the feed
    assert removed == wanted
    return kept


def audit_count() -> int:
    return db.session.scalar(select(func.count()).select_from(AuditEvent)) or 0


def outbox_count() -> int:
    return db.session.scalar(select(func.count()).select_from(Outbox)) or 0


def test_a_feed_that_changes_between_refreshes_adds_updates_and_archives(
    app: Flask, feed_server: FeedServer
) -> None:
    items = feed_items()
    feed_server.feeds["/kc.json"] = as_feed(items)
    add("kc-intergroup", feed_server.url("/kc.json"))

    first = refresh(app, "kc-intergroup")
    assert first.outcome == SourceOutcome.IMPORTED
    assert first.summary() == (
        f"read {FEED_ROWS} rows → {FEED_GROUPS} groups: {FEED_GROUPS} added, 0 updated, "
        "0 unchanged, 0 rejected, 0 removed"
    )
    dropped = single_meeting_groups("kc-intergroup", 3)
    changed = single_meeting_groups("kc-intergroup", 4)[3]
    changed_items = without(items, dropped)
    for item in changed_items:
        if str(item.get("slug")) == changed.external_id:
            item["name"] = changed.name + " (Newcomers)"
    feed_server.feeds["/kc.json"] = as_feed(changed_items)

    second = refresh(app, "kc-intergroup")
    assert second.outcome == SourceOutcome.IMPORTED
    assert second.summary() == (
        f"read {FEED_ROWS - 3} rows → {FEED_GROUPS - 3} groups: 0 added, 1 updated, "
        f"{FEED_GROUPS - 4} unchanged, 0 rejected, 3 removed"
    )
    source = find_source(db.session(), "kc-intergroup")
    assert source.counts["removed"] == 3 and source.counts["updated"] == 1
    assert source.last_error == "" and source.attention == ""
    for group in dropped:
        db.session.refresh(group)
        assert group.status == GroupStatus.ARCHIVED  # archived, never deleted
        event = db.session.scalars(
            select(AuditEvent)
            .where(AuditEvent.group_uuid == group.uuid)
            .order_by(AuditEvent.id.desc())
        ).first()
        assert event is not None
        assert (event.action, event.actor) == (REMOVED_BY_SOURCE, "import:kc-intergroup")
        last = db.session.scalars(
            select(Outbox).where(Outbox.group_uuid == group.uuid).order_by(Outbox.seq.desc())
        ).first()
        assert last is not None and last.action == "remove"  # leaves search and the feed
    assert len(live_groups("kc-intergroup")) == FEED_GROUPS - 3


def test_the_change_feed_and_search_lose_a_listing_its_source_dropped(
    app: Flask, feed_server: FeedServer
) -> None:
    from tests.api_support import get_json, index_all, new_key

    items = feed_items()
    feed_server.feeds["/kc.json"] = as_feed(items)
    add("kc", feed_server.url("/kc.json"))
    refresh(app, "kc")
    index_all()
    headers = {"Authorization": f"Bearer {new_key()}"}
    client = app.test_client()
    cursor = get_json(client, "/api/v1/changes?limit=500", headers)
    while cursor["has_more"]:
        cursor = get_json(client, f"/api/v1/changes?since={cursor['next']}", headers)
    (gone,) = single_meeting_groups("kc", 1)
    search = f"/api/v1/groups?per_page=100&q={gone.name.split()[0]}"
    listed = gone.uuid in {g["id"] for g in get_json(client, search, headers)["data"]}
    assert listed
    feed_server.feeds["/kc.json"] = as_feed(without(items, [gone]))

    assert refresh(app, "kc").report is not None
    index_all()
    changes = get_json(client, f"/api/v1/changes?since={cursor['next']}", headers)["changes"]
    assert [(c["action"], c["id"]) for c in changes] == [("remove", gone.uuid)]
    still_listed = gone.uuid in {g["id"] for g in get_json(client, search, headers)["data"]}
    assert not still_listed


def test_an_unchanged_feed_answers_304_and_changes_nothing(
    app: Flask, feed_server: FeedServer
) -> None:
    feed_server.feeds["/kc.json"] = as_feed(feed_items(), etag='"v1"')
    add("kc", feed_server.url("/kc.json"))
    assert refresh(app, "kc").outcome == SourceOutcome.IMPORTED
    audits, outbox = audit_count(), outbox_count()
    counts = dict(find_source(db.session(), "kc").counts)

    again = refresh(app, "kc")

    assert again.outcome == SourceOutcome.NOT_MODIFIED
    assert feed_server.requests["/kc.json"] == 2  # one request per refresh, no retry
    assert feed_server.conditional["/kc.json"] == [None, '"v1"']
    assert (audit_count(), outbox_count()) == (audits, outbox)
    source = find_source(db.session(), "kc")
    assert source.last_outcome == SourceOutcome.NOT_MODIFIED
    assert source.counts == counts  # still the last import's
    assert source.next_run_at is not None and source.next_run_at > utcnow()


def test_a_feed_that_times_out_keeps_a_clear_error_and_backs_off(
    app: Flask, feed_server: FeedServer
) -> None:
    feed_server.feeds["/slow.json"] = Feed(b"[]", delay=30)  # far past the 0.5 s timeout
    add("slow", feed_server.url("/slow.json"))

    result = refresh(app, "slow")

    assert result.outcome == SourceOutcome.FAILED
    assert feed_server.requests["/slow.json"] == 2  # the first try and one retry
    source = find_source(db.session(), "slow")
    assert source.last_error == "no answer from 127.0.0.1 within 0.5 s (2 tries)"
    assert source.failures == 1 and source.running_since is None
    assert source.next_run_at is not None and source.next_run_at > utcnow()
    first_retry = source.next_run_at
    refresh(app, "slow")
    source = find_source(db.session(), "slow")
    assert source.failures == 2
    assert source.next_run_at - utcnow() > first_retry - source.last_run_at  # type: ignore[operator]


def test_a_feed_that_returns_html_is_refused_with_a_reason(
    app: Flask, feed_server: FeedServer
) -> None:
    page = b"<!DOCTYPE html><html><head><title>Meetings</title></head><body>Moved</body></html>"
    feed_server.feeds["/meetings"] = Feed(page, content_type="text/html; charset=utf-8")
    add("moved", feed_server.url("/meetings"))

    result = refresh(app, "moved")

    assert result.outcome == SourceOutcome.FAILED
    source = find_source(db.session(), "moved")
    assert "an HTML page (text/html), not JSON" in source.last_error
    assert source.etag is None and live_groups("moved") == []


def test_a_feed_that_is_not_what_it_claims_keeps_the_readers_message(
    app: Flask, feed_server: FeedServer
) -> None:
    feed_server.feeds["/groups.json"] = Feed(b'{"contents": []}')
    add("wrong", feed_server.url("/groups.json"))

    assert refresh(app, "wrong").outcome == SourceOutcome.FAILED
    assert find_source(db.session(), "wrong").last_error.startswith("wrong.json: ")


def test_a_missing_feed_reports_the_http_status(app: Flask, feed_server: FeedServer) -> None:
    add("gone", feed_server.url("/nothing-here.json"))
    refresh(app, "gone")
    assert find_source(db.session(), "gone").last_error == "the server answered HTTP 404 Not Found"


def test_the_safety_brake_holds_mass_removals_for_staff(
    app: Flask, feed_server: FeedServer
) -> None:
    items = feed_items()
    feed_server.feeds["/kc.json"] = as_feed(items)
    add("kc", feed_server.url("/kc.json"))
    refresh(app, "kc")
    dropped = single_meeting_groups("kc", 10)  # 10 of 40: 25%, over the 20% limit
    feed_server.feeds["/kc.json"] = as_feed(without(items, dropped))

    held = refresh(app, "kc")

    assert held.outcome == SourceOutcome.HELD
    assert held.report is not None and held.report.removed == 0
    assert len(live_groups("kc")) == FEED_GROUPS
    source = find_source(db.session(), "kc")
    assert "would remove 10 of 40 listings (25%, more than the 20% limit)" in source.attention

    allowed = refresh(app, "kc", allow_removals=True)

    assert allowed.outcome == SourceOutcome.IMPORTED and allowed.report is not None
    assert allowed.report.removed == 10
    assert len(live_groups("kc")) == FEED_GROUPS - 10
    assert find_source(db.session(), "kc").attention == ""


def test_the_removal_limit_is_a_setting(app: Flask, feed_server: FeedServer) -> None:
    items = feed_items()
    feed_server.feeds["/kc.json"] = as_feed(items)
    add("kc", feed_server.url("/kc.json"))
    refresh(app, "kc")
    feed_server.feeds["/kc.json"] = as_feed(without(items, single_meeting_groups("kc", 10)))
    app.config["SOURCE_REMOVAL_LIMIT"] = 0.3

    result = refresh(app, "kc")

    assert result.report is not None and result.report.removed == 10


def test_an_empty_feed_removes_nothing_and_flags_the_source(
    app: Flask, feed_server: FeedServer
) -> None:
    feed_server.feeds["/kc.json"] = as_feed(feed_items())
    add("kc", feed_server.url("/kc.json"))
    refresh(app, "kc")
    feed_server.feeds["/kc.json"] = Feed(b"[]")

    result = refresh(app, "kc")

    assert len(live_groups("kc")) == FEED_GROUPS
    source = find_source(db.session(), "kc")
    assert result.outcome == SourceOutcome.HELD
    assert source.attention.startswith("the feed listed nothing: 40 listings kept")


def test_a_staff_edit_is_not_overwritten_the_change_goes_to_review(
    app: Flask, feed_server: FeedServer
) -> None:
    items = feed_items()
    feed_server.feeds["/kc.json"] = as_feed(items)
    add("kc", feed_server.url("/kc.json"))
    refresh(app, "kc")
    (group,) = single_meeting_groups("kc", 1)
    staff_name = group.name + " (staff)"
    record = {**_raw(items, group.external_id), "name": staff_name}
    data = validate(record, default_taxonomy(), ("alcohol",)).data
    assert data is not None
    placed, _notes = geocode_listing(data)  # as staff saves place a listing
    apply_listing(db.session, placed, actor="user:editor@example.org", group=group)
    db.session.commit()
    for item in items:
        if str(item.get("slug")) == group.external_id:
            item["name"] = "Renamed by the intergroup"
    feed_server.feeds["/kc.json"] = as_feed(items)

    result = refresh(app, "kc")

    assert result.report is not None
    assert (result.report.updated, result.report.held) == (0, 1)
    db.session.refresh(group)
    assert group.name == staff_name
    (request,) = db.session.scalars(select(ChangeRequest).where(ChangeRequest.group_id == group.id))
    assert (request.kind, request.status, request.source) == ("edit", ReviewStatus.PENDING, "kc")
    fields = sorted(request.payload)  # field names only: the feed's values stay unprinted
    assert fields == ["name"]
    assert request.payload["name"] == "Renamed by the intergroup"

    for item in items:
        if str(item.get("slug")) == group.external_id:
            item["name"] = "Renamed again"
    feed_server.feeds["/kc.json"] = as_feed(items)
    refresh(app, "kc")
    (request,) = db.session.scalars(select(ChangeRequest).where(ChangeRequest.group_id == group.id))
    fields = sorted(request.payload)
    assert fields == ["name"]
    assert request.payload["name"] == "Renamed again"  # replaced, not repeated


def _raw(items: list[dict[str, Any]], slug: str | None) -> dict[str, Any]:
    """The project-shaped record of one feed row, as the reader makes it."""
    from indexer.meeting_guide import meeting_record

    (item,) = [item for item in items if str(item.get("slug")) == slug]
    record, _warnings, _slug = meeting_record(item)
    return record


def test_the_worker_refreshes_due_sources_and_skips_paused_ones(
    app: Flask, feed_server: FeedServer
) -> None:
    feed_server.feeds["/kc.json"] = as_feed(feed_items())
    add("kc", feed_server.url("/kc.json"))
    paused = add("paused", feed_server.url("/kc.json"))
    paused.paused = True
    db.session.commit()
    worker = default_worker(app)
    assert [job.name for job in worker.jobs] == [
        "outbox",
        "sources",
        "mail",
        "freshness",
        "webhooks",
        "standing",
    ]

    worker.run_due()

    assert feed_server.requests["/kc.json"] == 1
    assert find_source(db.session(), "kc").last_outcome == SourceOutcome.IMPORTED
    assert find_source(db.session(), "paused").last_run_at is None
    assert len(live_groups("kc")) == FEED_GROUPS


@pytest.mark.parametrize(
    ("every", "seconds"), [("6h", 21600), ("30m", 1800), ("1d", 86400), (" 90S ", 90)]
)
def test_intervals_read_as_people_write_them(every: str, seconds: int) -> None:
    assert parse_interval(every) == seconds


@pytest.mark.parametrize("every", ["", "6", "h", "10s", "1w", "-1h", "100d"])
def test_unreadable_intervals_are_refused(every: str) -> None:
    with pytest.raises(SourceError, match="--every"):
        parse_interval(every)


@pytest.mark.parametrize(
    ("name", "url", "fmt", "concern", "message"),
    [
        ("Bad Name", "https://example.org/f.json", "csv", None, "name 'Bad Name'"),
        ("ok", "ftp://example.org/f.json", "csv", None, "must start with http"),
        ("ok", "https://example.org/f.json", "xml", None, "format 'xml'"),
        ("ok", "https://example.org/f.json", "csv", "nonsense-xyz", "is not a concern"),
        ("ok", "https://example.org/f.json", "meeting-guide", None, "names no concern"),
    ],
)
def test_adding_a_source_names_what_is_wrong(
    app: Flask, name: str, url: str, fmt: str, concern: str | None, message: str
) -> None:
    with pytest.raises(SourceError, match=message):
        add_source(
            db.session(), name, url=url, fmt=fmt, concern=concern, taxonomy=default_taxonomy()
        )


def test_the_sources_commands(app: Flask, feed_server: FeedServer) -> None:
    runner = app.test_cli_runner()
    feed_server.feeds["/kc.json"] = as_feed(feed_items())
    url = feed_server.url("/kc.json")
    added = runner.invoke(
        args=["sources", "add", "kc", "--url", url, "--format", "meeting-guide",
              "--concern", "alcohol", "--every", "12h"]
    )  # fmt: skip
    assert added.exit_code == 0, added.output
    assert "Added source kc (meeting-guide, every 12h)" in added.output
    twice = runner.invoke(args=["sources", "add", "kc", "--url", url, "--format", "csv"])
    assert twice.exit_code != 0 and "a source with this name exists" in twice.output

    refreshed = runner.invoke(args=["sources", "refresh", "kc"])
    assert refreshed.exit_code == 0, refreshed.output
    assert (
        f"kc: read {FEED_ROWS} rows → {FEED_GROUPS} groups: {FEED_GROUPS} added, 0 updated, "
        "0 unchanged, 0 rejected, 0 removed"
    ) in refreshed.output

    paused = runner.invoke(args=["sources", "pause", "kc"])
    assert paused.exit_code == 0 and "Paused kc." in paused.output
    listed = runner.invoke(args=["sources", "list"])
    assert "kc  meeting-guide  paused" in listed.output
    assert f"{FEED_GROUPS} added" in listed.output
    assert runner.invoke(args=["sources", "resume", "kc"]).exit_code == 0
    assert "every 12h" in runner.invoke(args=["sources", "list"]).output

    feed_server.feeds["/down.json"] = Feed(b"oops", status=500)
    add("down", feed_server.url("/down.json"))
    everything = runner.invoke(args=["sources", "refresh"])
    assert everything.exit_code == 1
    assert "down: failed: the server answered HTTP 500 Internal Server Error after 2 tries" in (
        everything.output
    )
    assert "kc: not modified" in everything.output
    assert "1 of 2 sources failed" in everything.output
    unknown = runner.invoke(args=["sources", "pause", "nope"])
    assert unknown.exit_code != 0 and "no source is named 'nope'" in unknown.output


def test_the_staff_sources_page_adds_refreshes_pauses_and_lists_rejects(
    app: Flask, feed_server: FeedServer
) -> None:
    from tests.staff_support import csrf_token, post, signed_in_client

    items = feed_items()
    items[0] = {**items[0], "day": "someday", "slug": "broken-row"}  # one row to reject
    feed_server.feeds["/kc.json"] = as_feed(items)
    admin = signed_in_client(app, "admin@example.org", "admin")
    page = admin.get("/staff/sources")
    assert page.status_code == 200 and "No sources yet" in page.get_data(as_text=True)
    bad = post(admin, "/staff/sources", {"name": "kc", "url": "ftp://x", "fmt": "meeting-guide",
               "concern": "alcohol", "every": "6h"})  # fmt: skip
    assert bad.status_code == 400 and "must start with http" in bad.get_data(as_text=True)
    added = post(admin, "/staff/sources", {"name": "kc", "url": feed_server.url("/kc.json"),
                 "fmt": "meeting-guide", "concern": "alcohol", "every": "6h"})  # fmt: skip
    assert added.status_code == 302
    source = find_source(db.session(), "kc")

    no_token = admin.post(f"/staff/sources/{source.id}/refresh")
    assert no_token.status_code == 400 and "/kc.json" not in feed_server.requests
    refreshed = post(admin, f"/staff/sources/{source.id}/refresh", follow_redirects=True)
    text = refreshed.get_data(as_text=True)
    assert f"kc: read {FEED_ROWS} rows → " in text and "1 rejected, 0 removed" in text
    rejects = admin.get(f"/staff/sources/{source.id}/rejects.csv")
    lines = rejects.get_data(as_text=True).splitlines()
    assert rejects.mimetype == "text/csv" and lines[0] == "file,row,field,reason"
    assert len(lines) == 2 and lines[1].startswith("kc.json,1,")

    post(admin, f"/staff/sources/{source.id}/pause")
    db.session.refresh(source)
    assert source.paused
    assert ">Resume<" in admin.get("/staff/sources").get_data(as_text=True)
    post(admin, f"/staff/sources/{source.id}/resume")
    db.session.refresh(source)
    assert not source.paused
    assert csrf_token(admin, "/staff/sources")


def test_only_admins_see_sources_and_the_dashboard_shows_held_removals(
    app: Flask, feed_server: FeedServer
) -> None:
    from tests.staff_support import signed_in_client

    items = feed_items()
    feed_server.feeds["/kc.json"] = as_feed(items)
    add("kc", feed_server.url("/kc.json"))
    refresh(app, "kc")
    feed_server.feeds["/kc.json"] = Feed(b"[]")
    refresh(app, "kc")
    editor = signed_in_client(app, "editor@example.org", "editor")
    assert editor.get("/staff/sources").status_code == 403
    assert editor.get("/staff/sources/1/rejects.csv").status_code == 403
    dashboard = editor.get("/staff/").get_data(as_text=True)
    assert "Partner sources needing staff" in dashboard
    assert "the feed listed nothing: 40 listings kept" in dashboard
