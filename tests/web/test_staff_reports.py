"""Verification, the import worklist, coverage gaps, the audit log and the dashboard."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable
from datetime import timedelta

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from clearinghouse.extensions import db
from clearinghouse.models import AuditEvent, Group, SearchMiss, utcnow
from tests.staff_support import listing_form_data, post, save_listing, signed_in_client


@pytest.fixture
def editor(app: Flask) -> FlaskClient:
    return signed_in_client(app, "editor@example.org", "editor")


def rows_of(response_text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(response_text)))


def test_stale_report_lists_unverified_listings_with_private_contacts(
    editor: FlaskClient, make_group: Callable[..., Group]
) -> None:
    old = make_group(
        name="Old Group",
        verified_at=(utcnow() - timedelta(days=500)).isoformat(),
        private_contact={"name": "Lee Leader", "phone": "312-555-0199"},
    )
    make_group(name="Never Verified")
    make_group(name="Fresh Group", verified_at=utcnow().isoformat())
    make_group(name="Archived Old", status="archived")
    page = editor.get("/staff/reports/stale").get_data(as_text=True)
    assert "Old Group" in page and "Never Verified" in page and "Lee Leader" in page
    assert "Fresh Group" not in page and "Archived Old" not in page
    assert "Old Group" not in editor.get("/staff/reports/stale?months=24").get_data(as_text=True)
    back = re.search(r'name="back" value="([^"]+)"', page)
    assert back is not None and back[1].startswith("/staff/reports/stale")
    response = post(editor, f"/staff/listings/{old.uuid}/verify", {"back": back[1]})
    assert response.headers["Location"].startswith("/staff/reports/stale")
    after = editor.get("/staff/reports/stale").get_data(as_text=True)
    assert "Old Group" not in after.split("<tbody>", 1)[1]


def test_stale_csv_carries_contact_details_for_outreach(
    editor: FlaskClient, make_group: Callable[..., Group]
) -> None:
    make_group(
        name='=HYPERLINK("http://evil.example")',
        private_contact={"name": "Lee Leader", "email": "lee@example.org"},
    )
    response = editor.get("/staff/reports/stale.csv")
    assert response.mimetype == "text/csv"
    assert "attachment" in response.headers["Content-Disposition"]
    (row,) = rows_of(response.get_data(as_text=True))
    assert row["private_contact_name"] == "Lee Leader"
    assert row["private_contact_email"] == "lee@example.org"
    assert row["verified_at"] == "never"
    assert row["name"].startswith("'=")  # never run as a spreadsheet formula


def test_flagged_worklist_gathers_import_flags_and_links_duplicates_to_merge(
    editor: FlaskClient, make_group: Callable[..., Group]
) -> None:
    original = make_group(name="Original Circle")
    copy = make_group(name="Copy Circle", concerns=["grief", "unheard-of worry"])
    copy.flags = [*copy.flags, f"possible-duplicate:{original.uuid}"]
    db.session.commit()
    page = editor.get("/staff/reports/flagged").get_data(as_text=True)
    assert "Copy Circle" in page
    assert "unknown-concern" in page and "unheard-of worry" in page
    assert "possible duplicate of" in page and "Original Circle" in page
    assert f"/staff/listings/{copy.uuid}/merge?other={original.uuid}" in page
    assert "Original Circle</a></td>" not in page  # the original itself is not flagged


def test_coverage_gaps_show_few_groups_next_to_missed_searches(
    editor: FlaskClient, make_group: Callable[..., Group], taxonomy: object
) -> None:
    make_group(name="Chicago Grief")  # grief in IL
    today = utcnow().date()
    db.session.add_all([
        SearchMiss(concern="alcohol", region="WI", day=today, count=7),
        SearchMiss(concern="alcohol", region="WI", day=today - timedelta(days=1), count=2),
        SearchMiss(concern="alcohol", region="WI", day=today - timedelta(days=400), count=50),
    ])  # fmt: skip
    db.session.commit()
    page = editor.get("/staff/reports/coverage?level=all").get_data(as_text=True)
    first_row = page.split("<tbody>", 1)[1].split("</tr>", 1)[0]
    assert "Wisconsin" in first_row and ">9<" in first_row  # the old misses are outside 90 days
    parent_csv = rows_of(editor.get("/staff/reports/coverage.csv?region=WI").get_data(as_text=True))
    alcohol_parent = taxonomy.get("alcohol").parent  # type: ignore[attr-defined]
    (row,) = [r for r in parent_csv if r["concern"] == alcohol_parent]
    assert row["active_groups"] == "0" and row["searches_found_nothing_90d"] == "9"
    il = rows_of(editor.get("/staff/reports/coverage.csv?region=IL&level=all").get_data(True))
    grief = taxonomy.lookup("grief")  # type: ignore[attr-defined]
    assert [r["active_groups"] for r in il if r["concern"] == grief] == ["1"]
    none_allowed = editor.get("/staff/reports/coverage.csv?region=IL&level=all&max_groups=0")
    assert grief not in {r["concern"] for r in rows_of(none_allowed.get_data(as_text=True))}
    assert editor.get("/staff/reports/coverage?days=abc&region=<b>").status_code == 200


def test_audit_log_is_searchable_by_person_and_date(
    app: Flask, editor: FlaskClient, make_group: Callable[..., Group]
) -> None:
    group = make_group(name="Audited Group")
    save_listing(editor, group, listing_form_data(name="Audited Again"))
    other = signed_in_client(app, "other@example.org", "editor")
    post(other, f"/staff/listings/{group.uuid}/verify")
    by_editor = editor.get("/staff/audit?actor=editor@example").get_data(as_text=True)
    assert "user:editor@example.org" in by_editor and "user:other@example.org" not in by_editor
    assert "Audited Again" in by_editor
    today = utcnow().date()
    in_range = editor.get(f"/staff/audit?since={today}&until={today}").get_data(as_text=True)
    assert "user:other@example.org" in in_range
    past = today - timedelta(days=30)
    empty = editor.get(f"/staff/audit?since={past}&until={past}").get_data(as_text=True)
    assert "No changes match." in empty
    bad = editor.get("/staff/audit?since=yesterday").get_data(as_text=True)
    assert "Dates are YYYY-MM-DD" in bad


def test_private_values_are_masked_in_the_audit_trail(
    editor: FlaskClient, make_group: Callable[..., Group]
) -> None:
    group = make_group()
    save_listing(
        editor,
        group,
        listing_form_data(name="Evening Grief Circle", private_contact_phone="312-555-0177"),
    )
    audit = editor.get("/staff/audit").get_data(as_text=True)
    assert "312-555-0177" not in audit
    assert "(private)" in audit


def test_dashboard_counts_and_recent_changes(
    editor: FlaskClient, make_group: Callable[..., Group]
) -> None:
    make_group(name="Counted One")
    make_group(name="Counted Two", concerns=["grief", "mystery worry"])
    make_group(name="Not Counted", status="archived")
    page = editor.get("/staff/").get_data(as_text=True)
    assert "<strong>2</strong> active listings" in page
    assert "<strong>2</strong> not verified in 12 months" in page
    assert "<strong>1</strong> flagged by imports" in page
    assert "<strong>0</strong> waiting for review" in page
    assert "Counted Two" in page  # recent changes
    assert "Changes waiting" in page  # index status
    events = db.session.scalars(select(AuditEvent)).all()
    assert len(events) == 3


def test_staff_can_dismiss_a_false_duplicate_flag_and_it_is_audited(
    editor: FlaskClient, make_group: Callable[..., Group]
) -> None:
    original = make_group(name="Original Circle")
    other = make_group(name="Similar Circle")
    flag = f"possible-duplicate:{original.uuid}"
    other.flags = [*other.flags, flag]
    db.session.commit()
    page = editor.get("/staff/reports/flagged").get_data(as_text=True)
    assert "Not a duplicate" in page
    response = post(editor, f"/staff/listings/{other.uuid}/dismiss-flag", {"flag": flag})
    assert response.headers["Location"] == "/staff/reports/flagged"
    db.session.refresh(other)
    assert flag not in other.flags
    event = db.session.scalars(
        select(AuditEvent).where(AuditEvent.group_uuid == other.uuid, AuditEvent.action == "flag")
    ).one()
    assert event.actor == "user:editor@example.org"
    worklist = editor.get("/staff/reports/flagged").get_data(as_text=True)
    assert "Similar Circle" not in worklist.split("<tbody>", 1)[1]
    # The flag stays gone after an edit (only data-derived flags are recomputed).
    save_listing(editor, other, listing_form_data(name="Similar Circle"))
    db.session.refresh(other)
    assert flag not in other.flags
