"""Where the server's time went under load, from `bench/run.py --spy DIR`'s py-spy samples.

    .venv/bin/python bench/spy.py /tmp/spy/spy-bench-run-100000-embedded.txt [--top 12]

py-spy samples every thread of every server process 200 times a second, idle or not
(`--idle`), and writes each distinct stack with its count ("collapsed stacks"). This prints
the share of samples that were working, split by what the thread was doing, and what the
idle ones waited in. A sample is "working" unless its innermost frame is a wait (a lock, a
socket, select): a thread waiting for Elasticsearch's answer is idle here, its time is the
engine's. The share of working samples is of one core's time summed over all threads, so on
2 cores it is at most 2 × the seconds sampled.
"""

from __future__ import annotations

import argparse
import re
from collections import Counter
from pathlib import Path

# Innermost frames that mean the thread is waiting, not working.
WAITS = re.compile(
    r"^(wait|select|poll|accept|sleep|recv|recv_into|readinto|_wait_for_tstate_lock|"
    r"acquire|epoll|do_handshake|read|readline|connect|sendall|send|wait_for_signals|"
    r"_worker)\b"  # _worker: a thread pool's idle thread, waiting in its queue's C code
)
# Where a working sample's time is counted: the first part any of its frames matches.
PARTS = [
    ("index worker (outbox, the fallback's build)", "indexer/"),
    ("engine: embedded", "clearinghouse/search/embedded"),
    ("engine: Elasticsearch client", "elastic"),
    ("engine: other search code", "clearinghouse/search/"),
    ("public bodies, cards", "clearinghouse/bodies.py"),
    ("API views, JSON", "clearinghouse/api/"),
    ("database (SQLAlchemy, sqlite3, psycopg)", "sqlalchemy/"),
    ("other clearinghouse code", "clearinghouse/"),
    ("Flask, Werkzeug, Jinja", "flask/|werkzeug/|jinja2/"),
    ("gunicorn (sockets, HTTP parsing)", "gunicorn/"),
]


OURS = re.compile(r"\((clearinghouse|indexer)/")


def frames(stack: str) -> list[str]:
    return stack.split(";")


def part_of(stack: list[str]) -> str:
    for name, pattern in PARTS:
        matcher = re.compile(pattern)
        if any(matcher.search(frame) for frame in reversed(stack)):
            return name
    return "other (interpreter, libraries)"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("samples", type=Path)
    parser.add_argument("--top", type=int, default=12)
    options = parser.parse_args()
    working: Counter[str] = Counter()
    waiting: Counter[str] = Counter()
    innermost: Counter[str] = Counter()  # working samples by the innermost frame of ours
    for line in options.samples.read_text().splitlines():
        stack_text, _, count_text = line.rpartition(" ")
        if not stack_text:
            continue
        stack, count = frames(stack_text), int(count_text)
        leaf = stack[-1].strip().split(" (")[0]  # "Class.method (file.py:line)"
        if WAITS.match(leaf.rsplit(".", 1)[-1]):
            waiting[leaf + " in " + part_of(stack)] += count
        else:
            working[part_of(stack)] += count
            ours = [frame for frame in stack if OURS.search(frame)]
            if ours:
                innermost[ours[-1].split(" (")[0] + " (" + ours[-1].split("(")[-1]] += count
    busy, idle = sum(working.values()), sum(waiting.values())
    print(f"{busy + idle} samples: {busy} working, {idle} waiting")
    print("working, by part (share of working samples):")
    for name, count in working.most_common(options.top):
        print(f"  {100 * count / busy:5.1f}%  {name}")
    print("working, by the innermost frame of clearinghouse/ or indexer/ code:")
    for name, count in innermost.most_common(options.top):
        print(f"  {100 * count / busy:5.1f}%  {name}")
    print("waiting, by wait and part (share of waiting samples):")
    for name, count in waiting.most_common(options.top):
        print(f"  {100 * count / idle:5.1f}%  {name}")


if __name__ == "__main__":
    main()
