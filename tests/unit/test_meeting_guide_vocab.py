"""One Meeting Guide table, read by the importer and written by the export: codes round-trip."""

from __future__ import annotations

import pytest

from clearinghouse import meeting_guide_vocab as mg
from clearinghouse.api.meeting_guide import meeting_types
from clearinghouse.models import Group
from clearinghouse.vocab import ACCESSIBILITY, AUDIENCES, ISO_639_1
from indexer.meeting_guide import meeting_record

FACETS = {
    "languages": (mg.LANGUAGE_CODES, {}),
    "audience": (mg.AUDIENCE_CODES, mg.AUDIENCE_WRITTEN_AS),
    "accessibility": (mg.ACCESSIBILITY_CODES, {}),
}
EVERY_CODE = [(facet, code, value) for facet, (pairs, _) in FACETS.items() for code, value in pairs]


def _imported(types: list[str], **item: object) -> dict[str, object]:
    record, warnings, _slug = meeting_record(
        {"name": "Circle", "day": 2, "time": "19:00"} | item | {"types": types}
    )
    assert warnings == []
    return record


def _exported(facet: str, value: str) -> list[str]:
    group = Group(name="Circle", open=True, languages=["en"], audience=[], accessibility=[])
    setattr(group, facet, [value] if facet != "languages" else ["en", value])
    return meeting_types(group)


@pytest.mark.parametrize(("facet", "code", "value"), EVERY_CODE)
def test_every_code_imports_as_its_value_and_exports_as_a_code_that_imports_the_same(
    facet: str, code: str, value: str
) -> None:
    assert code in mg.TYPE_NAMES
    imported = _imported([code])[facet]
    assert value in imported  # type: ignore[operator]
    written = _exported(facet, value)
    assert mg.OPEN_TYPES[True] in written
    back = _imported(written)
    assert value in back[facet]  # type: ignore[operator]


@pytest.mark.parametrize("is_open", [True, False])
def test_open_and_closed_round_trip(is_open: bool) -> None:
    group = Group(name="Circle", open=is_open, languages=["en"], audience=[], accessibility=[])
    assert _imported(meeting_types(group))["open"] is is_open


def test_every_value_with_a_code_reads_back_as_itself_except_the_nearest_code_ones() -> None:
    vocabularies = {"languages": ISO_639_1, "audience": AUDIENCES, "accessibility": ACCESSIBILITY}
    for facet, (pairs, nearest) in FACETS.items():
        written = mg.writing(pairs, nearest)
        assert set(written) <= set(vocabularies[facet]), facet
        for value, code in written.items():
            read = mg.reading(pairs)[code]
            assert (read == value) is (value not in nearest), (facet, value)


def test_teens_are_written_as_young_people_and_read_back_as_young_adults() -> None:
    assert _exported("audience", "teens")[1:] == ["Y"]
    assert _imported(["Y"])["audience"] == ["young-adults"]


def test_child_friendly_is_a_meeting_type_not_the_families_audience() -> None:
    record = _imported(["CF", "O"])
    assert record["audience"] == []
    assert record["description"] == "Meeting types: Child-Friendly."
    assert "CF" not in _exported("audience", "families")


@pytest.mark.parametrize(("number", "code"), list(enumerate(mg.DAY_CODES)))
def test_every_day_number_round_trips(number: int, code: str) -> None:
    meetings = _imported([], day=number)["meetings"]
    assert meetings == [{"start": "19:00", "end": "", "freq": "weekly", "byday": [code]}]
    assert mg.DAY_NUMBERS[code] == number
