"""Readers: files of every import format → raw records, or one clear FormatError."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from clearinghouse.listings import validate_listing
from clearinghouse.taxonomy import Taxonomy
from indexer import hsds_reader, meeting_guide
from indexer.readers import FormatError, RawRecord, open_source, read_records

DATA = Path(__file__).resolve().parents[1] / "data"
STANDARDS = Path(__file__).resolve().parents[3] / "shared" / "standards"
TSML_TEMPLATE = STANDARDS / "meeting-guide" / "tsml-template.csv"


def records(path: Path, fmt: str) -> list[RawRecord]:
    return list(read_records(path, fmt))


def good(path: Path, fmt: str) -> dict[int, dict[str, Any]]:
    return {raw.row: raw.record for raw in records(path, fmt) if raw.record is not None}


def write(tmp_path: Path, name: str, content: str | bytes) -> Path:
    path = tmp_path / name
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, encoding="utf-8")
    return path


# -- the project's CSV ------------------------------------------------------------------


def test_project_csv_rows_become_records_numbered_after_the_header() -> None:
    rows = good(DATA / "listings.csv", "csv")
    first = rows[1]
    assert first["name"] == "Evening Grief Circle"
    assert first["external_id"] == "CH-1001"
    assert first["languages"] == ["en", "es"]
    assert first["location"]["postal_code"] == "60614"
    assert first["meetings"] == [
        {"freq": "weekly", "byday": ["TU"], "start": "19:00", "end": "20:30"}
    ]
    assert first["private_contact"]["name"] == "Pat (facilitator)"


def test_csv_days_with_ordinals_are_a_monthly_rule() -> None:
    rule = good(DATA / "listings.csv", "csv")[2]["meetings"][0]
    assert rule["freq"] == "monthly"
    assert rule["byday"] == ["2TU", "4TU"]


def test_csv_meetings_column_holds_several_rules() -> None:
    rules = good(DATA / "listings.csv", "csv")[4]["meetings"]
    assert [(r["freq"], r["byday"], r["start"], r["end"]) for r in rules] == [
        ("weekly", ["MO"], "19:00", "20:30"),
        ("monthly", ["2SA"], "10:00", "12:00"),
    ]


def test_csv_by_arrangement_and_online_only(taxonomy: Taxonomy) -> None:
    record = good(DATA / "listings.csv", "csv")[9]
    assert record["location"] is None
    assert record["meetings"][0]["freq"] == "arrangement"
    validation = validate_listing(record, taxonomy)
    assert validation.data is not None, validation.errors
    assert validation.data.attendance == "phone"
    assert validation.data.service_area == ("IL",)


def test_csv_header_is_matched_ignoring_case_and_aliases(tmp_path: Path) -> None:
    path = write(
        tmp_path, "x.csv", "Name,Concern,ZIP,Day,Start Time\nGrief Group,grief,60614,Tuesday,7pm\n"
    )
    [raw] = records(path, "csv")
    assert raw.record is not None
    assert raw.record["location"]["postal_code"] == "60614"
    assert raw.record["meetings"][0]["byday"] == ["Tuesday"]
    assert raw.record["concerns"] == ["grief"]


def test_semicolon_delimited_csv_is_read(tmp_path: Path) -> None:
    path = write(
        tmp_path, "x.csv", "name;concerns;city;state\nGrief Group;grief, loss;Chicago;IL\n"
    )
    [raw] = records(path, "csv")
    assert raw.record is not None and raw.record["concerns"] == ["grief, loss"]


def test_unknown_columns_are_reported_once(tmp_path: Path) -> None:
    path = write(tmp_path, "x.csv", "name,concerns,favourite_colour\nA,grief,blue\n")
    source = open_source(path, "csv")
    assert any("favourite_colour" in warning for warning in source.warnings)


def test_blank_rows_are_skipped_but_still_counted(tmp_path: Path) -> None:
    path = write(tmp_path, "x.csv", "name,concerns\nA,grief\n,\n\nB,grief\n")
    assert [raw.row for raw in records(path, "csv")] == [1, 4]


def test_a_row_with_too_many_fields_is_unreadable(tmp_path: Path) -> None:
    path = write(tmp_path, "x.csv", "name,concerns\nA,grief,extra\nB,grief\n")
    first, second = records(path, "csv")
    assert first.record is None and first.error and "2" in first.error
    assert second.record is not None


def test_a_10_mb_field_is_read_and_left_to_validation(tmp_path: Path, taxonomy: Taxonomy) -> None:
    huge = "x" * (10 * 1024 * 1024)
    path = write(
        tmp_path,
        "x.csv",
        f'name,concerns,city,description\nA,grief,Tulsa,"{huge}"\nB,grief,Tulsa,short\n',
    )
    first, second = records(path, "csv")
    assert first.record is not None and len(first.record["description"]) == len(huge)
    validation = validate_listing(first.record, taxonomy)
    assert [error.field for error in validation.errors] == ["description"]
    assert "10,485,760 characters" in validation.errors[0].message
    assert second.record is not None


# -- encodings --------------------------------------------------------------------------


def test_utf8_with_bom_is_read(tmp_path: Path) -> None:
    path = write(tmp_path, "x.csv", "\ufeffname,concerns\nCafé Grief Group,grief\n".encode())
    [raw] = records(path, "csv")
    assert raw.record is not None and raw.record["name"] == "Café Grief Group"


def test_a_windows_1252_file_is_read_with_a_warning(tmp_path: Path) -> None:
    content = "name,concerns,city\nGrupo de Duelo – Señora,grief,Chicago\n".encode("cp1252")
    source = open_source(write(tmp_path, "legacy.csv", content), "csv")
    assert any("Windows-1252" in warning for warning in source.warnings)
    [raw] = list(source.records())
    assert raw.record is not None and raw.record["name"] == "Grupo de Duelo – Señora"


def test_a_broken_byte_in_a_utf8_file_rejects_only_that_row(tmp_path: Path) -> None:
    content = (
        b"name,concerns,city\n"
        + "Café Group,grief,Chicago\n".encode()
        + b"Bad \xe9 Group,grief,Chicago\n"
        + b"Third,grief,Chicago\n"
    )
    source = open_source(write(tmp_path, "mixed.csv", content), "csv")
    first, second, third = list(source.records())
    assert first.record is not None and third.record is not None
    assert second.record is None and second.row == 2
    assert second.field == "name" and second.error and "0xE9" in second.error
    assert any("not valid UTF-8" in warning for warning in source.warnings)


# -- wrong formats ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "fmt", "expected"),
    [
        ("listings.csv", "json", "not JSON"),
        ("listings.csv", "meeting-guide", "not JSON"),
        ("groups.json", "csv", "looks like JSON"),
        ("meeting-guide-feed.json", "json", "--format meeting-guide"),
        ("meeting-guide-feed.json", "hsds", "--format meeting-guide"),
        ("hsds-services.json", "meeting-guide", "--format hsds"),
        ("hsds-services.json", "json", "--format hsds"),
        ("groups.json", "meeting-guide", "--format json"),
    ],
)
def test_a_file_that_is_not_its_format_fails_with_one_message(
    name: str, fmt: str, expected: str
) -> None:
    with pytest.raises(FormatError) as error:
        open_source(DATA / name, fmt)
    assert name in str(error.value) and expected in str(error.value)
    assert "\n" not in str(error.value)


def test_a_csv_without_a_known_header_fails(tmp_path: Path) -> None:
    path = write(tmp_path, "numbers.csv", "1,2,3\n4,5,6\n")
    with pytest.raises(FormatError, match=r"numbers\.csv: no recognisable CSV header"):
        open_source(path, "csv")


@pytest.mark.parametrize("content", ["", "   \n"])
def test_an_empty_file_fails(tmp_path: Path, content: str) -> None:
    with pytest.raises(FormatError, match="empty"):
        open_source(write(tmp_path, "empty.json", content), "json")


# -- the project's JSON -----------------------------------------------------------------


def test_project_json_in_the_api_page_shape(taxonomy: Taxonomy) -> None:
    rows = good(DATA / "groups.json", "json")
    first = rows[1]
    assert first["external_id"] == "5f0c9a51-3b1e-4d7e-9c55-1a2b3c4d5e01"
    assert "id" not in first and "url" not in first
    assert all("text" not in meeting for meeting in first["meetings"])
    validation = validate_listing(rows[2], taxonomy)
    assert validation.data is not None, validation.errors
    assert validation.data.concerns == ("caregiving", "dementia-caregivers")
    assert validation.data.meetings[0].byday == ("2TH", "4TH")


def test_ndjson_is_read_line_by_line(tmp_path: Path) -> None:
    groups = json.loads((DATA / "groups.json").read_text())["data"]
    lines = [json.dumps(group) for group in groups[:2]] + ["{not json"]
    path = write(tmp_path, "export.ndjson", "\n".join(lines) + "\n")
    first, second, third = records(path, "json")
    assert first.record is not None and second.record is not None
    assert third.record is None and third.error == "line 3 is not JSON"


def test_a_plain_array_of_groups_is_read(tmp_path: Path) -> None:
    path = write(tmp_path, "groups.json", json.dumps([{"name": "A", "concerns": ["grief"]}, 7]))
    first, second = records(path, "json")
    assert first.record == {"name": "A", "concerns": ["grief"]}
    assert second.record is None and second.row == 2


# -- Meeting Guide ----------------------------------------------------------------------


def feed_records() -> list[RawRecord]:
    return records(DATA / "meeting-guide-feed.json", "meeting-guide")


def by_external_id(raws: list[RawRecord]) -> dict[str, dict[str, Any]]:
    return {raw.record["external_id"]: raw.record for raw in raws if raw.record is not None}


def test_meetings_of_one_group_merge_under_the_shortest_slug() -> None:
    raws = feed_records()
    group = by_external_id(raws)["serenity-seekers"]
    assert [meeting["byday"] for meeting in group["meetings"]] == [["MO"], ["TH"]]
    merged = next(raw for raw in raws if raw.record is group)
    assert merged.row == 1 and "rows 1, 2" in merged.warnings[0]


def test_meeting_guide_types_map_to_facets() -> None:
    groups = by_external_id(feed_records())
    women = groups["mujeres-en-recuperacion"]
    assert women["open"] is False
    assert women["audience"] == ["women"]
    assert women["languages"] == ["es"]
    assert groups["serenity-seekers"]["accessibility"] == ["wheelchair"]
    assert "Meeting types: Discussion." in groups["serenity-seekers"]["description"]
    assert groups["sunrise-serenity"]["audience"] == ["lgbtq", "young-adults"]
    assert groups["back-to-basics-hybrid"]["accessibility"] == ["asl"]


def test_attendance_from_place_and_conference_link() -> None:
    groups = by_external_id(feed_records())
    assert groups["lunch-bunch-online"]["attendance"] == "online"
    assert groups["lunch-bunch-online"]["meetings"][0]["byday"] == ["MO", "WE", "FR"]
    assert groups["back-to-basics-hybrid"]["attendance"] == "hybrid"
    assert groups["serenity-seekers"]["attendance"] == "in-person"


def test_temporarily_closed_without_a_link_stays_listed_as_closed_until_further_notice() -> None:
    closed = by_external_id(feed_records())["downtown-noon"]
    assert closed["status"] is None  # still listed (labelled, sorted after open groups)
    assert closed["closure"] == {"until": None, "reason": "Location Temporarily Closed"}
    item = {"name": "Noon", "day": 1, "time": "12:00", "types": ["O", "TC"], "city": "Chicago"}
    online, _warnings, _slug = meeting_guide.meeting_record(
        {**item, "conference_url": "https://zoom.us/j/1"}
    )
    # TC with a link: the place is closed and the group meets online, not closed.
    assert online["closure"] is None and online["attendance"] == "online"
    closed, _warnings, _slug = meeting_guide.meeting_record(item)
    assert closed["closure"] == {"until": None, "reason": "Location Temporarily Closed"}


def test_unreadable_meeting_rows_carry_their_row_and_field() -> None:
    errors = {raw.row: (raw.field, raw.error) for raw in feed_records() if raw.record is None}
    assert errors[10] == ("day", "9 is not a day (0 = Sunday … 6 = Saturday)")
    assert errors[13] == ("slug", "duplicate of row 3")


def test_a_row_check_rejects_a_bad_meeting_without_sinking_its_group(tmp_path: Path) -> None:
    place = {"address": "1 Main St", "city": "Chicago", "state": "IL", "postal_code": "60601"}
    feed = [
        {"name": "Keep Coming Back", "slug": "kcb", "day": 1, "time": "19:00", **place},
        {"name": "Keep Coming Back", "slug": "kcb-2", "day": 3, "time": "25:70", **place},
    ]
    path = write(tmp_path, "feed.json", json.dumps(feed))

    def check(record: dict[str, Any]) -> list[tuple[str, str]]:
        bad = record["meetings"][0]["start"] == "25:70"
        return [("meetings[0]", "not a time")] if bad else []

    raws = list(open_source(path, "meeting-guide", check=check).records())
    rejected = [raw for raw in raws if raw.record is None]
    kept = [raw for raw in raws if raw.record is not None]
    assert [(raw.row, raw.field) for raw in rejected] == [(2, "meetings[0]")]
    assert len(kept) == 1 and len(kept[0].record["meetings"]) == 1  # type: ignore[index]


def test_every_types_json_code_is_known_with_its_english_name() -> None:
    official = json.loads((STANDARDS / "meeting-guide" / "types.json").read_text())
    for code, names in official.items():
        assert meeting_guide.TYPE_NAMES.get(code) == names["en"], code


def test_split_address_reads_a_formatted_address() -> None:
    assert meeting_guide.split_address("2634 Union Ave, San Jose, CA 95124, USA") == (
        "2634 Union Ave", "San Jose", "CA", "95124", "USA",
    )  # fmt: skip
    assert meeting_guide.split_address("Toronto, ON M5V 2T6, Canada") == (
        "", "Toronto", "ON", "M5V 2T6", "CANADA",
    )  # fmt: skip


# -- the 12 Step Meeting List template --------------------------------------------------


def test_the_tsml_template_is_detected_and_every_row_is_read() -> None:
    source = open_source(TSML_TEMPLATE, "csv")
    assert source.layout == "tsml"
    raws = list(source.records())
    assert all(raw.record is not None for raw in raws)
    data_rows = len(TSML_TEMPLATE.read_text().strip().splitlines()) - 1
    merged = [warning for raw in raws for warning in raw.warnings if "merged" in warning]
    assert merged == ["rows 19, 27 are one group and were merged into one listing"]
    assert len(raws) == data_rows - 1


def test_tsml_rows_map_contacts_types_and_conference_links() -> None:
    groups = by_external_id(list(open_source(TSML_TEMPLATE, "csv").records()))
    first = groups["after-work-topic-meeting"]
    assert first["location"]["address"] == "2634 Union Ave"
    assert first["location"]["city"] == "San Jose"
    assert first["location"]["postal_code"] == "95124"
    assert first["contact"]["website"] == "https://saturdaynitelive.org"
    assert first["accessibility"] == ["wheelchair"]
    assert first["meetings"][0] == {
        "start": "6:00 PM", "end": "", "timezone": "America/Los_Angeles",
        "freq": "weekly", "byday": ["MO"],
    }  # fmt: skip
    online = groups["underground-book-study"]
    assert online["attendance"] == "online"
    assert online["online"]["url"] == "https://us04web.zoom.us/j/9999999999"
    assert online["status"] is None
    assert groups["hora-de-vivir"]["languages"] == ["es"]
    assert len(groups["cup-of-coffee-group"]["meetings"]) == 2


# -- HSDS -------------------------------------------------------------------------------


def test_hsds_services_become_one_listing_per_place(taxonomy: Taxonomy) -> None:
    raws = records(DATA / "hsds-services.json", "hsds")
    ids = [raw.record["external_id"] for raw in raws if raw.record]
    assert ids == [
        "1b5e7f1c-3c71-4d6c-8f1d-2a9b0e6d4c01",
        "2c6f8a2d-4d82-4e7d-9a2e-3b0c1f7e5d02@loc-mke",
        "2c6f8a2d-4d82-4e7d-9a2e-3b0c1f7e5d02@loc-gb",
        "3d7a9b3e-5e93-4f8e-8b3f-4c1d2a8f6e03",
    ]
    grief = raws[0].record
    assert grief is not None
    validation = validate_listing(grief, taxonomy)
    assert validation.data is not None, validation.errors
    data = validation.data
    assert data.concerns == ("grief-loss",)
    assert data.organization == "Lakeside Hospice"
    assert data.accessibility == ("hearing-loop", "wheelchair")
    assert data.private_contact_name == "Robin (coordinator)"
    assert data.meetings[0].byday == ("TH",) and str(data.meetings[0].start) == "18:30:00"
    assert data.languages == ("en", "es")


def test_hsds_monthly_schedules_virtual_places_and_fees(taxonomy: Taxonomy) -> None:
    raws = records(DATA / "hsds-services.json", "hsds")
    diabetes = validate_listing(raws[1].record or {}, taxonomy).data
    assert diabetes is not None
    assert diabetes.meetings[0].freq == "monthly" and diabetes.meetings[0].byday == ("1WE",)
    assert diabetes.unknown_concerns == ("Peer support circles",)
    online = validate_listing(raws[3].record or {}, taxonomy).data
    assert online is not None
    assert online.attendance == "online" and online.location is None
    assert online.online_url == "https://meet.example.org/caregivers"
    assert online.cost == "fee"


def test_hsds_every_other_week_and_temporarily_closed_are_read(
    taxonomy: Taxonomy, tmp_path: Path
) -> None:
    document = json.loads((DATA / "hsds-services.json").read_text())
    service = document["contents"][0]
    service["status"] = "temporarily closed"
    schedules = [
        s for place in service.get("service_at_locations", []) for s in place.get("schedules", [])
    ] or service.get("schedules", [])
    assert schedules, "the sample service has schedules"
    for rule in schedules:
        rule.update(freq="WEEKLY", byday="TU", interval=2, dtstart="2026-12-01")
        rule["valid_from"] = "2099-01-12"
    path = tmp_path / "closed.json"
    path.write_text(json.dumps({**document, "contents": [service]}))
    raw = records(path, "hsds")[0]
    data = validate_listing(raw.record or {}, taxonomy).data
    assert data is not None, raw
    assert (data.meetings[0].interval, str(data.meetings[0].anchor)) == (2, "2026-12-01")
    assert data.closure is not None and str(data.closure.until) == "2099-01-12"
    assert data.status is None  # still listed, labelled closed


def test_the_official_hsds_examples_are_read() -> None:
    examples = STANDARDS / "hsds-3.0" / "examples"
    [full] = records(examples / "service_full.json", "hsds")
    assert full.record is not None and full.record["name"] == "Community Counselling"
    assert full.record["organization"] == "Example Organization Inc."
    listed = records(examples / "service_list.json", "hsds")
    assert [raw.record["name"] for raw in listed if raw.record] == ["Community Counselling"]


def test_a_spreadsheet_file_given_as_csv_fails(tmp_path: Path) -> None:
    workbook = b"PK\x03\x04\x14\x00\x06\x00\x08\x00\x00\x00!\x00" + bytes(200)
    with pytest.raises(FormatError, match=r"book\.xlsx: a binary file, not CSV text"):
        open_source(write(tmp_path, "book.xlsx", workbook), "csv")


def test_a_utf16_file_with_a_bom_is_read(tmp_path: Path) -> None:
    content = "name,concerns\nGrupo de Duelo Señora,grief\n".encode("utf-16")
    [raw] = records(write(tmp_path, "excel.csv", content), "csv")
    assert raw.record is not None and raw.record["name"] == "Grupo de Duelo Señora"


def test_project_json_knows_its_count_for_the_progress_bar() -> None:
    assert open_source(DATA / "groups.json", "json").total == 3
    assert open_source(DATA / "meeting-guide-feed.json", "meeting-guide").total is None


def test_a_broken_byte_in_json_rejects_only_its_record(tmp_path: Path) -> None:
    good_record = b'{"name": "Caf\xc3\xa9 Group", "concerns": ["grief"]}'
    bad_record = b'{"name": "Bad \xe9", "concerns": ["grief"]}'
    content = b"[" + good_record + b", " + bad_record + b"]"
    first, second = records(write(tmp_path, "groups.json", content), "json")
    assert first.record is not None and first.record["name"] == "Café Group"
    assert second.record is None and second.error and "0xE9" in second.error


def test_an_export_of_one_group_is_read(tmp_path: Path) -> None:
    path = write(tmp_path, "one.ndjson", json.dumps({"name": "A", "concerns": ["grief"]}) + "\n")
    [raw] = records(path, "json")
    assert raw.record == {"name": "A", "concerns": ["grief"]}


def test_an_unknown_type_code_is_ignored_with_a_warning(tmp_path: Path) -> None:
    feed = [{"name": "A", "slug": "a", "day": 1, "time": "19:00", "types": ["O", "ZZZ"]}]
    [raw] = records(write(tmp_path, "feed.json", json.dumps(feed)), "meeting-guide")
    assert raw.warnings == ("types: 'ZZZ' is not a Meeting Guide type and was ignored",)
    assert raw.record is not None and raw.record["open"] is True


def test_hsds_service_areas_named_by_code_or_name_become_regions() -> None:
    service = {"name": "Circle", "service_areas": [{"name": "IL"}, {"name": "Wisconsin"}]}
    service["service_areas"].append({"name": "Cook County"})  # not a state: left out
    record, _warnings = hsds_reader.service_record(service, None)
    assert record["service_area"] == ["IL", "WI"]
