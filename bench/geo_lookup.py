"""Benchmark offline place lookups (clearinghouse.geo.resolve_place) once the gazetteer is warm.

    .venv/bin/python bench/geo_lookup.py --runs 2000

Every search with a place resolves it first, so a lookup should cost well under a millisecond
(the design's budget: < 1 ms).  Reports the warm-up time, then p50/p95/max per kind of place
typed and overall, in microseconds.  This used to be a timed assertion in tests/unit/test_geo.py;
timing belongs here, not in a test that a busy machine can fail.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from clearinghouse import geo

PLACES = {
    "ZIP": "60614",
    "ZIP+4": "60614-1234",
    "City, ST ZIP": "Chicago, IL 60614",
    "city, st (lower case, St.)": "st. louis, mo",
    "City State": "Portland Oregon",
    "state name": "Illinois",
    "bare city": "Milwaukee",
    "Canadian postal code": "M5V 3L9",
    "lat, lon": "41.92, -87.65",
}


def percentile(samples: list[float], fraction: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=1000, help="lookups per kind of place")
    options = parser.parse_args()

    started = time.perf_counter()
    geo.warm_up()
    print(f"warm-up (ZIP, city and region indexes): {time.perf_counter() - started:.2f} s")

    print(f"{'place':<28} {'p50 µs':>8} {'p95 µs':>8} {'max µs':>8}")
    everything: list[float] = []
    for kind, text in PLACES.items():
        geo.resolve_place(text)  # a wrong entry fails here, before it is timed
        samples = []
        for _ in range(options.runs):
            started = time.perf_counter()
            geo.resolve_place(text)
            samples.append((time.perf_counter() - started) * 1e6)
        everything += samples
        print(
            f"{kind:<28} {statistics.median(samples):>8.1f} {percentile(samples, 0.95):>8.1f}"
            f" {max(samples):>8.1f}"
        )
    print(
        f"{'all':<28} {statistics.median(everything):>8.1f}"
        f" {percentile(everything, 0.95):>8.1f} {max(everything):>8.1f}"
        f"  (mean {statistics.fmean(everything):.1f} µs, budget 1000 µs)"
    )
    print(f"load average during the run: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")


if __name__ == "__main__":
    main()
