"""Schedules as they really are, end to end: staff form, pages, API, .ics, HSDS, Meeting Guide."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from icalendar import Calendar
from sqlalchemy import select

from clearinghouse.extensions import db
from clearinghouse.listings import validate_listing
from clearinghouse.models import AuditEvent, Group, Outbox
from clearinghouse.schedule import Rule, long_date, occurrences
from clearinghouse.store import apply_listing
from clearinghouse.taxonomy import Taxonomy
from tests.api_support import MEETING_GUIDE_TYPES, api_headers, get_json, index_all, load_json
from tests.conftest import sample_record
from tests.staff_support import admin_client, editor_client, listing_form_data, post
from tests.web.test_api_openapi import validate
from tests.web.test_hsds import assert_valid
from tests.web.test_public_reach import pdf_text

__all__ = ["admin_client", "api_headers", "editor_client"]  # fixtures

CHICAGO = "America/Chicago"


def next_tuesdays(count: int) -> list[date]:
    """The next Tuesdays a 7 pm Chicago meeting falls on, from now (pages use the real clock)."""
    rule = Rule("weekly", ("TU",), time(19), None, CHICAGO)
    return [moment.date() for moment in occurrences(rule, datetime.now(UTC), count)]


def weekly_tuesday(**fields: Any) -> dict[str, Any]:
    return {"freq": "weekly", "byday": ["TU"], "start": "19:00", "end": "20:00", **fields}


def page(client: FlaskClient, url: str) -> str:
    response = client.get(url)
    assert response.status_code == 200, url
    return response.get_data(as_text=True)


def spoken(day: date) -> str:
    return f"{day:%A}, {day:%B} {day.day}"  # as "Next meetings" lists a day


# -- the staff form ------------------------------------------------------------------------


def only_group(name: str) -> Group:
    group = db.session.scalar(select(Group).where(Group.name == name))
    assert group is not None
    return group


def test_staff_enter_every_other_week_cancellations_and_a_closure_and_they_are_audited(
    editor_client: FlaskClient,
) -> None:
    tuesday = next_tuesdays(1)[0]
    response = post(
        editor_client,
        "/staff/listings/new",
        listing_form_data(
            **{
                "meetings-0-freq": "weekly",
                "meetings-0-byday": "TU",
                "meetings-0-interval": "2",
                "meetings-0-anchor": tuesday.isoformat(),
                "meetings-0-cancellations": f"{tuesday.isoformat()} Election day",
            },
            closure="y",
            closure_until="2099-01-10",
            closure_reason="Library renovation",
            cancellations="2098-12-24 Christmas Eve\n2098-12-31",
        ),
    )
    assert response.status_code == 302, response.get_data(as_text=True)
    group = only_group("Tuesday Grief Circle")
    (meeting,) = group.meetings
    assert (meeting.interval, meeting.anchor) == (2, tuesday)
    assert meeting.cancellations == [{"date": tuesday.isoformat(), "reason": "Election day"}]
    assert group.temporarily_closed and group.closed_until == date(2099, 1, 10)
    assert group.closed_reason == "Library renovation"
    assert group.cancellations == [
        {"date": "2098-12-24", "reason": "Christmas Eve"},
        {"date": "2098-12-31", "reason": ""},
    ]
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.group_uuid == group.uuid))
    assert event is not None
    assert event.changes["closure"] == [
        None,
        {"until": "2099-01-10", "reason": "Library renovation"},
    ]
    # The edit form shows what was saved, and saving it again changes nothing.
    form = page(editor_client, f"/staff/listings/{group.uuid}/edit")
    assert "2099-01-10" in form and "Library renovation" in form
    assert "2098-12-24 Christmas Eve" in form and f"{tuesday.isoformat()} Election day" in form
    assert "Every other Tuesday, 7:00–8:30 pm Central" in page(
        editor_client, f"/staff/listings/{group.uuid}"
    )


def test_reopening_a_group_is_an_audited_edit_that_reaches_the_index_and_feed(
    editor_client: FlaskClient, make_group: Callable[..., Group]
) -> None:
    group = make_group(closure={"until": None, "reason": "Flooded"})
    queued = db.session.scalar(select(Outbox.seq).order_by(Outbox.seq.desc()))
    form = page(editor_client, f"/staff/listings/{group.uuid}/edit")
    version = form.split('name="version" type="hidden" value="', 1)[1].split('"', 1)[0]
    data = listing_form_data(
        name=group.name,
        version=version,
        closure=None,
        closure_until="",
        closure_reason="",
        **{"meetings-0-freq": "weekly", "meetings-0-byday": "TU"},
    )
    response = post(editor_client, f"/staff/listings/{group.uuid}/edit", data)
    assert response.status_code == 302, response.get_data(as_text=True)
    db.session.refresh(group)
    assert not group.temporarily_closed and group.closed_reason == ""
    events = db.session.scalars(
        select(AuditEvent).where(AuditEvent.group_uuid == group.uuid).order_by(AuditEvent.id)
    ).all()
    assert events[-1].changes["closure"] == [{"until": None, "reason": "Flooded"}, None]
    latest = db.session.scalar(select(Outbox).order_by(Outbox.seq.desc()))
    assert latest is not None and latest.seq > (queued or 0)
    assert latest.group_uuid == group.uuid and latest.action == "upsert"
    # The same form posted again from the old version is refused, not merged.
    stale = post(editor_client, f"/staff/listings/{group.uuid}/edit", data)
    assert stale.status_code == 409


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"meetings-0-interval": "2"}, "every other week needs a date it meets on"),
        (
            {"meetings-0-interval": "2", "meetings-0-anchor": "2026-12-02"},
            "2026-12-02 is a Wednesday; give a date it meets on (Tuesday)",
        ),
        ({"meetings-0-cancellations": "Dec 24"}, "&#39;Dec&#39; is not a date (use YYYY-MM-DD"),
        ({"closure": "y", "closure_until": "2099-13-01"}, "is not a date (use YYYY-MM-DD"),
        ({"cancellations": "2026-12-24 " + "x" * 400}, "at most 300 are allowed"),
        ({"meetings-0-interval": "7"}, "Not a valid choice"),
    ],
)
def test_schedule_mistakes_in_the_form_get_a_clear_message_not_a_500(
    editor_client: FlaskClient, fields: dict[str, str], message: str
) -> None:
    data = listing_form_data(**{"meetings-0-freq": "weekly", "meetings-0-byday": "TU", **fields})
    response = post(editor_client, "/staff/listings/new", data)
    assert response.status_code == 400
    assert message in response.get_data(as_text=True)
    assert db.session.scalar(select(Group)) is None


# -- public pages ---------------------------------------------------------------------------


def test_group_page_labels_a_closure_and_skips_it_in_next_meetings(
    client: FlaskClient, make_group: Callable[..., Group]
) -> None:
    first, second, third, fourth = next_tuesdays(4)
    group = make_group(
        meetings=[weekly_tuesday()],
        closure={"until": third.isoformat(), "reason": "Library renovation"},
    )
    text = page(client, f"/groups/{group.slug}")
    assert f"Temporarily closed until {long_date(third)}: Library renovation" in text
    next_dates = text.split("Next meetings", 1)[1].split("</ul>", 1)[0]
    assert spoken(first) not in next_dates and spoken(second) not in next_dates
    assert spoken(third) in next_dates and spoken(fourth) in next_dates


def test_group_page_shows_cancelled_days_and_skips_them(
    client: FlaskClient, make_group: Callable[..., Group]
) -> None:
    first, second, _third = next_tuesdays(3)
    group = make_group(
        meetings=[weekly_tuesday(cancellations=[{"date": first.isoformat(), "reason": "Holiday"}])],
        cancellations=f"{second.isoformat()} Building closed; 2001-01-02 long ago",
    )
    text = page(client, f"/groups/{group.slug}")
    assert f"No meeting on {first:%A}, {long_date(first)} (Holiday)" in text
    assert f"No meeting on {second:%A}, {long_date(second)} (Building closed)" in text
    assert "long ago" not in text  # past cancellations are not news
    next_dates = text.split("Next meetings", 1)[1].split("</ul>", 1)[0]
    assert spoken(first) not in next_dates and spoken(second) not in next_dates
    assert "Temporarily closed" not in text


def test_every_other_week_reads_in_words_and_counts_from_the_anchor(
    client: FlaskClient, make_group: Callable[..., Group]
) -> None:
    tuesdays = next_tuesdays(4)
    group = make_group(meetings=[weekly_tuesday(interval=2, anchor=tuesdays[1].isoformat())])
    text = page(client, f"/groups/{group.slug}")
    assert "Every other Tuesday, 7:00–8:00 pm Central" in text
    next_dates = text.split("Next meetings", 1)[1].split("</ul>", 1)[0]
    assert spoken(tuesdays[1]) in next_dates and spoken(tuesdays[3]) in next_dates
    assert spoken(tuesdays[0]) not in next_dates and spoken(tuesdays[2]) not in next_dates


def test_closed_groups_stay_findable_and_their_cards_say_so(
    client: FlaskClient, make_group: Callable[..., Group]
) -> None:
    make_group(name="Open Grief Circle")
    make_group(name="Closed Grief Circle", closure={"until": None, "reason": "Flooded basement"})
    index_all()
    text = page(client, "/search?q=grief")
    closed_card = text.split("Closed Grief Circle", 1)[1].split("</li>", 1)[0]
    assert "Temporarily closed: Flooded basement" in closed_card
    assert "Next meeting:" not in closed_card
    open_card = text.split("Open Grief Circle", 1)[1].split("</li>", 1)[0]
    assert "Temporarily closed" not in open_card and "Next meeting:" in open_card


def test_a_printed_list_says_a_group_is_closed(
    client: FlaskClient, make_group: Callable[..., Group]
) -> None:
    make_group(name="Closed Grief Circle", closure={"until": "2099-01-12", "reason": "Flooded"})
    index_all()
    response = client.get("/search.pdf?q=grief")
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    text = " ".join(pdf_text(response.data).split())
    assert "Temporarily closed until January 12, 2099: Flooded" in text


# -- outputs -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Biweekly:
    """Every other Tuesday from the next one (t0), closed until t0 + 4 weeks, then a cancelled
    meeting at t0 + 6 weeks (its own) and t0 + 8 weeks (the whole group's)."""

    group: Group
    t0: date

    def week(self, n: int) -> date:
        return self.t0 + timedelta(weeks=n)


@pytest.fixture
def biweekly(make_group: Callable[..., Group]) -> Biweekly:
    t0 = next_tuesdays(1)[0]
    week = Biweekly(None, t0).week  # type: ignore[arg-type]
    group = make_group(
        meetings=[
            weekly_tuesday(
                interval="2",
                anchor=t0.isoformat(),
                cancellations=[{"date": week(6).isoformat(), "reason": "Holiday"}],
            )
        ],
        cancellations=f"{week(8).isoformat()} Election",
        closure={"until": week(4).isoformat(), "reason": "Renovation"},
    )
    return Biweekly(group, t0)


def test_calendar_file_has_interval_anchor_and_exdates(
    client: FlaskClient, biweekly: Biweekly
) -> None:
    calendar = Calendar.from_ical(client.get(f"/groups/{biweekly.group.slug}.ics").data)
    (event,) = calendar.walk("VEVENT")
    rule = event["RRULE"]
    assert rule["FREQ"] == ["WEEKLY"] and rule["INTERVAL"] == [2] and rule["BYDAY"] == ["TU"]
    start = event.decoded("DTSTART")
    assert start.date() == biweekly.t0 and start.time() == time(19)
    assert str(start.tzinfo) == CHICAGO
    props = event["EXDATE"] if isinstance(event["EXDATE"], list) else [event["EXDATE"]]
    exdates = [moment.dt for prop in props for moment in prop.dts]
    # The two meetings while closed, then the two cancelled ones; none in between.
    assert sorted(moment.date() for moment in exdates) == [
        biweekly.week(0),
        biweekly.week(2),
        biweekly.week(6),
        biweekly.week(8),
    ]
    assert {(moment.time(), str(moment.tzinfo)) for moment in exdates} == {(time(19), CHICAGO)}
    until = long_date(biweekly.week(4))
    assert f"Temporarily closed until {until}: Renovation" in str(event["DESCRIPTION"])


def test_api_json_carries_interval_anchor_cancellations_and_closure(
    client: FlaskClient, api_headers: dict[str, str], biweekly: Biweekly
) -> None:
    body = get_json(client, f"/api/v1/groups/{biweekly.group.uuid}", api_headers)
    (meeting,) = body["meetings"]
    assert (meeting["interval"], meeting["anchor"]) == (2, biweekly.t0.isoformat())
    assert meeting["text"] == "Every other Tuesday, 7:00–8:00 pm Central"
    assert meeting["cancellations"] == [{"date": biweekly.week(6).isoformat(), "reason": "Holiday"}]
    assert body["cancellations"] == [{"date": biweekly.week(8).isoformat(), "reason": "Election"}]
    assert body["closure"] == {"until": biweekly.week(4).isoformat(), "reason": "Renovation"}
    document = client.get("/api/v1/openapi.json").get_json()
    validate(document, {"$ref": "#/components/schemas/Group"}, body)


def test_hsds_service_is_temporarily_closed_with_interval_and_valid_from(
    client: FlaskClient, api_headers: dict[str, str], biweekly: Biweekly
) -> None:
    service = get_json(client, f"/hsds/services/{biweekly.group.uuid}", api_headers)
    assert service["status"] == "temporarily closed"
    (rule,) = service["schedules"]
    assert (rule["freq"], rule["interval"], rule["dtstart"]) == (
        "WEEKLY",
        2,
        biweekly.t0.isoformat(),
    )
    assert rule["valid_from"] == biweekly.week(4).isoformat()
    assert f"Temporarily closed until {long_date(biweekly.week(4))}: Renovation." in rule["notes"]
    election = biweekly.week(8)
    assert f"No meeting on Tuesday, {long_date(election)} (Election)." in rule["notes"]
    assert_valid("compiled/service.json", service)


def test_meeting_guide_marks_closed_groups_tc_and_words_every_other_week(
    client: FlaskClient, api_headers: dict[str, str], biweekly: Biweekly, make_group: Any
) -> None:
    make_group(name="Open Circle")
    feed = get_json(client, "/api/v1/meeting-guide.json", api_headers)
    by_name = {entry["name"]: entry for entry in feed}
    closed = by_name[biweekly.group.name]
    assert "TC" in closed["types"] and "TC" in load_json(MEETING_GUIDE_TYPES)
    assert f"Meets every other week, counting from {long_date(biweekly.t0)}." in closed["notes"]
    assert "TC" not in by_name["Open Circle"]["types"]


def test_a_closure_that_has_ended_is_neither_labelled_nor_tc(
    client: FlaskClient, api_headers: dict[str, str], make_group: Callable[..., Group]
) -> None:
    group = make_group(closure={"until": "2001-01-01", "reason": "Long over"})
    assert "Temporarily closed" not in page(client, f"/groups/{group.slug}")
    feed = get_json(client, "/api/v1/meeting-guide.json", api_headers)
    assert all("TC" not in entry["types"] for entry in feed)
    service = get_json(client, f"/hsds/services/{group.uuid}", api_headers)
    assert service["status"] == "active"


# -- the migration, on both databases -------------------------------------------------------


def test_schedule_fields_survive_the_store_and_the_migration_goes_both_ways(
    store_app: Flask, taxonomy: Taxonomy
) -> None:
    from alembic import command

    from clearinghouse.database import alembic_config, migrate

    record = sample_record(
        meetings=[weekly_tuesday(interval=2, anchor="2026-12-01", cancellations="2026-12-15")],
        closure={"until": "2027-01-12", "reason": "Renovation"},
    )
    data = validate_listing(record, taxonomy).data
    assert data is not None
    group_id = apply_listing(db.session, data, actor="test").group.id
    db.session.commit()
    db.session.expire_all()
    stored = db.session.get(Group, group_id)
    assert stored is not None and stored.closed_until == date(2027, 1, 12)
    (meeting,) = stored.meetings
    assert (meeting.interval, meeting.anchor) == (2, date(2026, 12, 1))
    assert meeting.cancellations == [{"date": "2026-12-15", "reason": ""}]
    db.session.close()
    engine = db.engine
    with engine.begin() as connection:
        config = alembic_config(str(engine.url))
        config.attributes["connection"] = connection
        command.downgrade(config, "0006")
    migrate(store_app)  # and up again: old rows read as every week, open, nothing cancelled
    restored = db.session.get(Group, group_id)
    assert restored is not None and not restored.temporarily_closed
    assert restored.cancellations == []
    assert [(m.interval, m.anchor, m.cancellations) for m in restored.meetings] == [(1, None, [])]
