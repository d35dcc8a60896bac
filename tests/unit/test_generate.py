"""The synthetic listing generator and the committed sample it produced."""

from __future__ import annotations

import gzip
import itertools
import json
import math
import os
import re
import subprocess
import sys
from collections import Counter
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
import zipcodes

from clearinghouse.listings import validate_listing
from clearinghouse.taxonomy import Taxonomy
from clearinghouse.vocab import ATTENDANCE, FORMATS
from indexer.generate import DEFAULT_AS_OF, VERIFIED_SPAN_DAYS, generate_listings, main
from indexer.generate import words as generate_words

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = ROOT / "seed_data" / "sample_listings.json"
SAMPLE_COUNT, SAMPLE_SEED = 2400, 2026
FAKE_PHONE = re.compile(r"^\(\d{3}\) 555-01\d\d$")
FAKE_EMAIL = re.compile(r"^[a-z0-9.]+@example\.(org|com|net)$")


@pytest.fixture(scope="module")
def sample() -> list[dict[str, Any]]:
    records = json.loads(SAMPLE.read_text(encoding="utf-8"))
    assert isinstance(records, list)
    return records


def _strings(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for item in value.values() for s in _strings(item)]
    if isinstance(value, list):
        return [s for item in value for s in _strings(item)]
    return []


def _km(a: tuple[float, float], b: tuple[float, float]) -> float:
    lat = math.radians((a[0] + b[0]) / 2)
    return 111.32 * math.hypot(a[0] - b[0], (a[1] - b[1]) * math.cos(lat))


# -- the committed sample -------------------------------------------------------------------


def test_every_sample_listing_validates_without_errors_or_repairs(
    sample: list[dict[str, Any]], taxonomy: Taxonomy
) -> None:
    problems = {}
    for index, record in enumerate(sample):
        validation = validate_listing(record, taxonomy)
        if not validation.ok or validation.warnings or validation.data.unknown_concerns:  # type: ignore[union-attr]
            problems[index] = (validation.errors, validation.warnings)
    assert problems == {}


def test_sample_has_at_least_2000_active_listings_with_unique_external_ids(
    sample: list[dict[str, Any]],
) -> None:
    assert len(sample) >= 2000
    assert {record["status"] for record in sample} == {"active"}
    assert len({record["external_id"] for record in sample}) == len(sample)


def test_sample_is_what_the_generator_gives_for_its_seed(sample: list[dict[str, Any]]) -> None:
    regenerated = list(generate_listings(SAMPLE_COUNT, seed=SAMPLE_SEED))
    assert regenerated == sample, (
        "seed_data/sample_listings.json is stale (the generator or the taxonomy changed); run "
        "python -m indexer.generate --count 2400 --seed 2026 --out seed_data/sample_listings.json"
    )


def test_sample_covers_every_concern_leaf(sample: list[dict[str, Any]], taxonomy: Taxonomy) -> None:
    leaves = {term.slug for term in taxonomy if not term.is_parent}
    used = {slug for record in sample for slug in record["concerns"]}
    assert leaves - used == set()
    assert used <= {term.slug for term in taxonomy}


def test_sample_weights_common_concerns_above_the_rest(sample: list[dict[str, Any]]) -> None:
    counts = Counter(slug for record in sample for slug in record["concerns"])
    typical = sorted(counts.values())[len(counts) // 2]
    for common in ("alcohol", "drugs", "depression", "anxiety", "dementia-caregivers"):
        assert counts[common] > 2 * typical, (common, counts[common], typical)


def test_sample_has_both_formats_mostly_peer_led(sample: list[dict[str, Any]]) -> None:
    formats = Counter(record["format"] for record in sample)
    assert set(formats) == set(FORMATS)
    assert 0.65 <= formats["peer-led"] / len(sample) <= 0.85


def test_sample_has_every_attendance_kind_mostly_in_person(sample: list[dict[str, Any]]) -> None:
    kinds = Counter(record["attendance"] for record in sample)
    assert set(kinds) == set(ATTENDANCE)
    assert kinds["in-person"] > kinds["hybrid"] > kinds["phone"]
    assert kinds["in-person"] > kinds["online"] > kinds["phone"]


def test_sample_spreads_over_at_least_45_states_roughly_by_population(
    sample: list[dict[str, Any]],
) -> None:
    states = Counter(r["location"]["region"] for r in sample if r["location"])
    assert len(states) >= 45
    assert states["CA"] > states["IL"] > states["NM"] > states["VT"]
    assert states["TX"] > states["OH"]


def test_sample_has_a_mix_of_admission_cost_and_language(sample: list[dict[str, Any]]) -> None:
    assert {r["open"] for r in sample} == {True, False}
    assert any(r["time_limited"] and r["format"] == "professional-expert" for r in sample)
    costs = Counter(r["cost"] for r in sample)
    assert costs["free"] + costs["donation"] > 4 * costs["fee"] > 0
    assert all(r["cost_note"] for r in sample if r["cost"] == "fee")
    languages = Counter(code for r in sample for code in r["languages"])
    assert languages["en"] > languages["es"] > 0
    assert len(languages) >= 6
    assert any(r["audience"] for r in sample)
    assert any("wheelchair" in r["accessibility"] for r in sample)


def test_sample_schedules_are_weekly_monthly_or_by_arrangement_mostly_evenings(
    sample: list[dict[str, Any]],
) -> None:
    meetings = [m for r in sample for m in r["meetings"]]
    assert {m["freq"] for m in meetings} == {"weekly", "monthly", "arrangement"}
    monthly = [day for m in meetings if m["freq"] == "monthly" for day in m["byday"]]
    assert any(day.startswith("-1") for day in monthly)
    assert any(len(m["byday"]) == 2 for m in meetings if m["freq"] == "monthly")
    starts = [int(m["start"][:2]) for m in meetings if m.get("start")]
    evenings = sum(17 <= hour < 21 for hour in starts)
    assert evenings > len(starts) / 2
    assert any(hour < 12 for hour in starts) and any(12 <= hour < 17 for hour in starts)
    for meeting in meetings:
        if meeting.get("start"):
            assert meeting["end"] > meeting["start"]


def test_sample_verification_dates_spread_over_the_last_two_years(
    sample: list[dict[str, Any]],
) -> None:
    dates = [date.fromisoformat(r["verified_at"]) for r in sample]
    earliest = DEFAULT_AS_OF - timedelta(days=VERIFIED_SPAN_DAYS)
    assert all(earliest <= day <= DEFAULT_AS_OF for day in dates)
    stale = sum(day < DEFAULT_AS_OF - timedelta(days=365) for day in dates)
    assert 0.3 < stale / len(dates) < 0.7


def test_sample_places_are_real_zips_with_points_near_their_centre(
    sample: list[dict[str, Any]],
) -> None:
    in_person = [r for r in sample if r["location"]]
    assert in_person
    for record in in_person:
        place = record["location"]
        (row,) = zipcodes.matching(place["postal_code"])
        assert (row["city"], row["state"]) == (place["city"], place["region"])
        assert place["timezone"] == row["timezone"]
        centre = (float(row["lat"]), float(row["long"]))
        assert _km(centre, (place["lat"], place["lon"])) <= 2.0
        assert re.match(r"^\d+ ", place["address"]) and place["name"]
        assert record["attendance"] in ("in-person", "hybrid")


def test_sample_online_and_phone_groups_have_no_street_and_at_most_one_state(
    sample: list[dict[str, Any]],
) -> None:
    remote = [r for r in sample if r["attendance"] in ("online", "phone")]
    for record in remote:
        assert record["location"] is None
        assert len(record["service_area"]) <= 1
        assert record["online"]["url" if record["attendance"] == "online" else "phone"]
        assert all(m.get("timezone") for m in record["meetings"])
    assert any(record["service_area"] for record in remote)
    hybrid = [r for r in sample if r["attendance"] == "hybrid"]
    assert all(r["location"] and r["online"]["url"] for r in hybrid)


def test_sample_contacts_are_fictional_and_private_names_first_names_only(
    sample: list[dict[str, Any]],
) -> None:
    for record in sample:
        for block in (record["contact"], record["private_contact"], record["online"] or {}):
            if block.get("phone"):
                assert FAKE_PHONE.match(block["phone"]), block["phone"]
            if block.get("email"):
                assert FAKE_EMAIL.match(block["email"]), block["email"]
        for url in (record["contact"].get("website"), (record["online"] or {}).get("url")):
            if url:
                assert re.match(r"^https://[a-z.]*example\.(org|com|net)/", url), url
        name = record["private_contact"].get("name")
        if name:
            assert name in generate_words.FIRST_NAMES


def test_sample_text_has_no_unfilled_templates_and_varied_descriptions(
    sample: list[dict[str, Any]],
) -> None:
    for record in sample:
        for text in _strings(record):
            assert "{" not in text and "}" not in text, text
        sentences = re.findall(r"[.!?](?:\s|$)", record["description"])
        assert 2 <= len(sentences) <= 4, record["description"]
    openings = Counter(r["description"].split(" ")[0] for r in sample)
    assert len(openings) >= 5
    assert len({r["name"] for r in sample}) > 0.8 * len(sample)


# -- the generator ----------------------------------------------------------------------------


def test_same_seed_gives_the_same_records_and_a_longer_run_extends_a_shorter_one() -> None:
    first = list(generate_listings(50, seed=11))
    assert list(generate_listings(50, seed=11)) == first
    assert list(generate_listings(120, seed=11))[:50] == first


def test_different_seeds_give_different_records() -> None:
    one = list(generate_listings(50, seed=11))
    other = list(generate_listings(50, seed=12))
    assert [r["name"] for r in one] != [r["name"] for r in other]
    assert sum(a == b for a, b in zip(one, other, strict=True)) == 0


def test_output_does_not_depend_on_hash_randomisation(tmp_path: Path) -> None:
    outputs = []
    for hash_seed in ("1", "2"):
        env = {**os.environ, "PYTHONHASHSEED": hash_seed}
        result = subprocess.run(
            [sys.executable, "-m", "indexer.generate", "--count", "40", "--seed", "5"],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            check=True,
        )
        outputs.append(result.stdout)
    assert outputs[0] == outputs[1]
    assert json.loads(outputs[0]) == list(generate_listings(40, seed=5))


def test_generator_streams_without_building_the_whole_corpus() -> None:
    records = generate_listings(10**12, seed=3)
    first = list(itertools.islice(records, 3))
    assert [r["external_id"] for r in first] == ["gen-3-1", "gen-3-2", "gen-3-3"]


def test_other_seeds_validate_too(taxonomy: Taxonomy) -> None:
    for record in generate_listings(600, seed=99):
        validation = validate_listing(record, taxonomy)
        assert validation.ok and not validation.warnings, (record, validation.errors)


def test_status_mix_gives_other_statuses_for_a_benchmark_corpus() -> None:
    mix = {"active": 0.8, "pending": 0.1, "inactive": 0.1}
    statuses = Counter(r["status"] for r in generate_listings(400, seed=8, status_mix=mix))
    assert set(statuses) == {"active", "pending", "inactive"}
    assert statuses["active"] > statuses["pending"] + statuses["inactive"]


@pytest.mark.parametrize(
    "mix", [{"approved": 1.0}, {"active": -1.0, "pending": 2.0}, {"active": 0.0}]
)
def test_bad_status_mix_is_refused_with_a_reason(mix: dict[str, float]) -> None:
    with pytest.raises(ValueError, match="status"):
        next(generate_listings(5, seed=1, status_mix=mix))


def test_negative_count_is_refused() -> None:
    with pytest.raises(ValueError, match="n must be 0 or more"):
        next(generate_listings(-1))


def test_as_of_moves_the_verification_window() -> None:
    as_of = date(2030, 6, 1)
    dates = [date.fromisoformat(r["verified_at"]) for r in generate_listings(100, as_of=as_of)]
    assert all(as_of - timedelta(days=VERIFIED_SPAN_DAYS) <= day <= as_of for day in dates)


def test_command_writes_a_json_array_or_gzip(tmp_path: Path) -> None:
    plain, packed = tmp_path / "listings.json", tmp_path / "listings.json.gz"
    assert main(["--count", "7", "--seed", "4", "--out", str(plain)]) == 0
    assert main(["--count", "7", "--seed", "4", "--out", str(packed)]) == 0
    expected = list(generate_listings(7, seed=4))
    assert json.loads(plain.read_text(encoding="utf-8")) == expected
    assert json.loads(gzip.decompress(packed.read_bytes())) == expected
