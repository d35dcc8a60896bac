"""The staff freshness page's figures: the share of public listings fresh within 12 months,
by state and by source, counted from listings whose dates and sources the test sets."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import timedelta

from flask import Flask

from clearinghouse.extensions import db
from clearinghouse.models import FeedSource, Group, SourceOutcome, utcnow
from tests.staff_support import signed_in_client

WISCONSIN = {
    "name": "Madison Library",
    "city": "Madison",
    "region": "WI",
    "postal_code": "53703",
    "lat": 43.0747,
    "lon": -89.3841,
}


def _table(page: str, heading: str) -> dict[str, tuple[int, int, str]]:
    """The rows under `<h2>heading</h2>`: key -> (fresh, listings, share)."""
    section = page.split(f"<h2>{heading}</h2>", 1)[1].split("</table>", 1)[0]
    rows = re.findall(
        r'<tr><th scope="row">([^<]*)</th><td>(\d+)</td><td>(\d+)</td><td>(\d+%)</td></tr>',
        section,
    )
    return {key: (int(fresh), int(total), share) for key, fresh, total, share in rows}


def test_shares_by_state_and_by_source_count_what_is_fresh(
    app: Flask, make_group: Callable[..., Group]
) -> None:
    now = utcnow()
    db.session.add_all(
        [
            FeedSource(name="kc-feed", url="https://kc.example.org/feed.json", format="csv",
                       last_outcome=SourceOutcome.IMPORTED),
            FeedSource(name="broken-feed", url="https://b.example.org/feed.json", format="csv",
                       last_outcome=SourceOutcome.FAILED),
        ]
    )  # fmt: skip
    checked_lately = make_group(name="Checked Lately")
    checked_lately.verified_at = now - timedelta(days=30)
    confirmed = make_group(name="Confirmed By Group")
    confirmed.confirmed_at = now - timedelta(days=60)
    checked_long_ago = make_group(name="Checked Long Ago")
    checked_long_ago.verified_at = now - timedelta(days=500)
    checked_long_ago.source = "old-csv"
    fed = make_group(name="From A Healthy Feed", location=WISCONSIN)
    fed.source = "kc-feed"  # never checked, but its partner's feed keeps it true
    broken = make_group(name="From A Broken Feed", location=WISCONSIN)
    broken.source = "broken-feed"
    archived = make_group(status="archived", name="Archived Fresh One")
    archived.verified_at = now - timedelta(days=1)  # not public: not counted
    db.session.commit()

    staff = signed_in_client(app, "editor@example.org", "editor")
    page = staff.get("/staff/freshness").get_data(as_text=True)

    assert "<strong>60%</strong> of 5 public listings are fresh (3)" in page
    assert _table(page, "By state") == {"IL": (2, 3, "67%"), "WI": (1, 2, "50%")}
    assert _table(page, "By source") == {
        "—": (2, 2, "100%"),
        "old-csv": (0, 1, "0%"),
        "kc-feed": (1, 1, "100%"),
        "broken-feed": (0, 1, "0%"),
    }
