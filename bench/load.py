"""Load: 60 s of visitors, partners and staff against `clearinghouse serve`, with Locust.

    .venv/bin/pip install -e '.[bench]'         # Locust
    .venv/bin/python bench/load.py              # 60 s, 30 users, writes bench/RESULTS.md
    .venv/bin/python bench/load.py --seconds 20 --users 10 --no-record

Builds a throwaway instance in a temporary folder (SQLite, the embedded engine, the sample
listings, a partner key with a high limit, editor accounts), serves it with
`clearinghouse serve` on 127.0.0.1 (gunicorn, the background worker in one process), and runs
Locust headless with `bench/locustfile.py` for exactly --seconds: visitors (search pages by
concern and place, group pages, the home page), partners (`/api/v1/groups` searches) and
editors (edits through the real form, re-verifications).  Every answer other than the
expected status counts as an error.  Prints, and unless --no-record appends to
bench/RESULTS.md, requests/s, p50/p95/p99 and errors, with the machine and its load average
before and after.  Only loopback traffic.
"""

from __future__ import annotations

import argparse
import csv
import datetime
import http.client
import os
import platform
import secrets
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "RESULTS.md"
STAFF_USERS = 4


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=int, default=60)
    parser.add_argument("--users", type=int, default=30, help="simultaneous Locust users")
    parser.add_argument("--spawn-rate", type=float, default=10.0)
    parser.add_argument("--workers", type=int, default=None, help="serve --workers (one a core)")
    parser.add_argument("--no-record", action="store_true", help="do not write RESULTS.md")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="clearinghouse-load-") as temp:
        folder = Path(temp)
        env = _instance_env(folder)
        print("building the instance (sample listings, index, accounts) …", flush=True)
        key, password = _build(env)
        port = _free_port()
        server = _serve(env, port, args.workers, folder)
        try:
            before = os.getloadavg()
            figures = _run_locust(args, port, key, password, folder)
            after = os.getloadavg()
        finally:
            server.terminate()
            server.wait(60)
    report = _report(args, figures, before, after)
    print(report)
    if not args.no_record:
        with RESULTS.open("a", encoding="utf-8") as results:
            results.write(report)
        print(f"appended to {RESULTS}")
    if figures["Aggregated"]["failures"]:
        sys.exit(1)


def _instance_env(folder: Path) -> dict[str, str]:
    return {
        **os.environ,
        "CLEARINGHOUSE_DATABASE_URL": f"sqlite:///{folder / 'clearinghouse.db'}",
        "CLEARINGHOUSE_INDEX_PATH": str(folder / "search.db"),
        "CLEARINGHOUSE_SEARCH": "embedded",
        "CLEARINGHOUSE_SECRET_KEY": secrets.token_hex(16),
    }


def _cli(env: dict[str, str], *args: str, stdin: str | None = None) -> str:
    command = [sys.executable, "-c", "from clearinghouse.cli import main; main()", *args]
    result = subprocess.run(
        command, env=env, cwd=ROOT, input=stdin, capture_output=True, text=True, check=False
    )
    if result.returncode != 0:
        raise SystemExit(f"clearinghouse {' '.join(args)} failed:\n{result.stderr}")
    return result.stdout


def _build(env: dict[str, str]) -> tuple[str, str]:
    _cli(env, "init")
    _cli(env, "seed")
    _cli(env, "index", "rebuild")
    password = secrets.token_urlsafe(12)
    for number in range(STAFF_USERS):
        email = f"bench-editor-{number}@example.org"
        _cli(env, "users", "create", "--email", email, "--role", "editor", stdin=password + "\n")
    output = _cli(env, "api-keys", "create", "--name", "load test", "--rate-limit", "100000/minute")
    return output.strip().splitlines()[-1], password


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _serve(
    env: dict[str, str], port: int, workers: int | None, folder: Path
) -> subprocess.Popen[bytes]:
    command = [sys.executable, "-c", "from clearinghouse.cli import main; main()", "serve",
               "--host", "127.0.0.1", "--port", str(port)]  # fmt: skip
    if workers:
        command += ["--workers", str(workers)]
    log = (folder / "server.log").open("wb")
    server = subprocess.Popen(command, env=env, stdout=log, stderr=log, cwd=ROOT)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SystemExit((folder / "server.log").read_text(errors="replace")[-3000:])
        try:
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            connection.request("GET", "/healthz")
            if connection.getresponse().status == 200:
                return server
        except OSError:
            time.sleep(0.3)
    server.terminate()
    raise SystemExit("the server did not answer /healthz within 120 s")


def _run_locust(
    args: argparse.Namespace, port: int, key: str, password: str, folder: Path
) -> dict[str, dict[str, float]]:
    locust = Path(sys.executable).with_name("locust")
    if not locust.exists():
        raise SystemExit("Locust is not installed: .venv/bin/pip install -e '.[bench]'")
    prefix = folder / "locust"
    env = {
        **os.environ,
        "BENCH_API_KEY": key,
        "BENCH_STAFF_PASSWORD": password,
        "BENCH_STAFF_USERS": str(STAFF_USERS),
    }
    command = [
        str(locust), "-f", str(ROOT / "bench" / "locustfile.py"), "--headless",
        "--host", f"http://127.0.0.1:{port}", "--users", str(args.users),
        "--spawn-rate", str(args.spawn_rate), "--run-time", f"{args.seconds}s",
        "--stop-timeout", "10", "--csv", str(prefix), "--only-summary",
    ]  # fmt: skip
    print(f"running Locust for {args.seconds} s with {args.users} users …", flush=True)
    subprocess.run(command, env=env, cwd=ROOT, check=False, timeout=args.seconds + 120)
    return _read_stats(prefix.with_name("locust_stats.csv"))


def _read_stats(path: Path) -> dict[str, dict[str, float]]:
    figures: dict[str, dict[str, float]] = {}
    with path.open(newline="", encoding="utf-8") as stats:
        for row in csv.DictReader(stats):
            label = row["Name"] if row["Name"] == "Aggregated" else f"{row['Type']} {row['Name']}"
            figures[label] = {
                "requests": float(row["Request Count"]),
                "failures": float(row["Failure Count"]),
                "rps": float(row["Requests/s"]),
                "p50": float(row["50%"]),
                "p95": float(row["95%"]),
                "p99": float(row["99%"]),
            }
    return figures


def _machine() -> str:
    model = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
        memory = Path("/proc/meminfo").read_text().splitlines()[0].split()[1]
        gigabytes = f"{int(memory) / 1024 / 1024:.0f} GB RAM"
    except OSError:
        gigabytes = "? RAM"
    return (
        f"{os.cpu_count()} cores ({model}), {gigabytes}, {platform.system()} {platform.release()}"
    )


def _report(
    args: argparse.Namespace,
    figures: dict[str, dict[str, float]],
    before: tuple[float, float, float],
    after: tuple[float, float, float],
) -> str:
    total = figures["Aggregated"]
    when = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC")
    lines = [
        f"\n## {when}: {args.seconds} s, {args.users} users\n",
        f"- Machine: {_machine()}; Python {platform.python_version()}.",
        f"- Load average (1/5/15 min) before: {before[0]:.2f} / {before[1]:.2f} / "
        f"{before[2]:.2f}; after: {after[0]:.2f} / {after[1]:.2f} / {after[2]:.2f}.",
        "- `clearinghouse serve` (SQLite, embedded engine, sample listings, worker in-process) "
        f"and Locust on the same machine, loopback; --workers {args.workers or 'default'}.",
        f"- **{total['rps']:.1f} requests/s, p50 {total['p50']:.0f} ms, p95 {total['p95']:.0f} "
        f"ms, p99 {total['p99']:.0f} ms, errors {total['failures']:.0f} of "
        f"{total['requests']:.0f}.**\n",
        "| request | count | errors | req/s | p50 ms | p95 ms | p99 ms |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    for label, row in figures.items():
        lines.append(
            f"| {label} | {row['requests']:.0f} | {row['failures']:.0f} | {row['rps']:.1f} | "
            f"{row['p50']:.0f} | {row['p95']:.0f} | {row['p99']:.0f} |"
        )
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    main()
