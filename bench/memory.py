"""Server memory and throughput under 16 clients, step after step (issue 13: flat, bounded).

    .venv/bin/python bench/memory.py --data /tmp/memory --size 100000 --engine embedded

Starts `clearinghouse serve` (its defaults, plus `--worker` as bench/run.py does) on the
store and index cached in --data by bench/run.py (work on a copy: the run writes an API key
into the store), warms it with 40 queries from one client, then runs the whole fixed mix
(bench/queries.py: 1,200 distinct queries, once on /api/v1/groups and once on /search) with
16 clients, --rounds times.  After the warm-up and after each round it records, per server
process, RSS, PSS and the private (copied or new) memory from /proc/<pid>/smaps_rollup,
and for each round the requests per second, the errors, the CPU seconds the server's
processes and this client process spent, and the load average.  Run by hand, never in the
test suite; loopback traffic only.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import threading
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from queries import query_mix
from run import (
    ENDPOINTS,
    Client,
    free_port,
    in_threads,
    machine_load,
    ms,
    new_api_key,
    serve,
    settings,
    smaps,
)

TICKS = os.sysconf("SC_CLK_TCK")


def server_pids(server_pid: int) -> list[int]:
    """The server process and its children (gunicorn's workers)."""
    pids = [server_pid]
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == server_pid:
            pids.append(int(stat.parent.name))
    return pids


def cpu_seconds(pids: list[int]) -> dict[int, float]:
    """Per process: the user + system CPU seconds it has spent so far."""
    spent = {}
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        spent[pid] = (int(fields[11]) + int(fields[12])) / TICKS  # utime, stime (14, 15)
    return spent


def memory(pids: list[int]) -> dict[str, Any]:
    """Per process and in total: RSS, PSS, private (dirty + clean) MB."""
    processes = [figures for figures in map(smaps, pids) if figures]
    return {
        "processes": processes,
        "pss_mb": round(sum(p["pss_mb"] for p in processes), 1),
        "private_mb": round(sum(p["private_mb"] for p in processes), 1),
    }


def one_round(port: int, key: str, paths: list[str], clients: int) -> dict[str, Any]:
    """Every path once, shared out between `clients` threads (each its own keep-alive
    connection), as fast as the server answers."""
    results: list[tuple[int, float]] = []
    lock = threading.Lock()

    def work(share: list[str]) -> None:
        client = Client(port, key)
        mine = [client.get(path) for path in share]
        with lock:
            results.extend(mine)

    took, client_cpu = in_threads(work, [paths[n::clients] for n in range(clients)])
    ok = [t for status, t in results if status == 200]
    return {
        "clients": clients,
        "requests": len(results),
        "seconds": round(took, 1),
        "ok_per_s": round(len(ok) / took, 1),
        "errors": len(results) - len(ok),
        "client_cpu_s": round(client_cpu, 1),
        **ms(ok),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, required=True, help="folder of the cached store")
    parser.add_argument("--size", type=int, default=100_000)
    parser.add_argument("--engine", default="embedded")
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--settle", type=float, default=20.0, help="seconds after warm-up")
    parser.add_argument("--es-url", default="http://127.0.0.1:9200")
    parser.add_argument("--out", type=Path, help="write the figures here as JSON too")
    options = parser.parse_args()
    options.database_url = None
    config = settings(options.data, options.size, options.engine, options)
    mix = query_mix()
    paths = [query.path(endpoint) for query in mix for endpoint in ENDPOINTS]
    key = new_api_key(config)
    port = free_port()
    started = time.perf_counter()
    server = serve(config, options.data, port)
    figures: dict[str, Any] = {
        "engine": options.engine,
        "size": options.size,
        "distinct_paths": len(set(paths)),
        "server_start_s": round(time.perf_counter() - started, 1),
    }
    try:
        client = Client(port, key)
        for query in mix[:40]:
            client.get(query.path(ENDPOINTS[0]))
        time.sleep(options.settle)  # every worker booted and warmed, not only the first
        pids = server_pids(server.pid)
        figures["workers"] = len(pids) - 1
        figures["warm"] = {"load": machine_load(), **memory(pids)}
        print(json.dumps(figures), flush=True)
        figures["rounds"] = []
        for _ in range(options.rounds):
            before = cpu_seconds(pids)
            step = one_round(port, key, paths, options.clients)
            after = cpu_seconds(pids)
            per_process = {pid: round(after[pid] - before.get(pid, 0.0), 1) for pid in after}
            step["server_cpu_s"] = round(sum(per_process.values()), 1)
            step["server_cpu_s_per_process"] = per_process
            step["server_cpu_ms_per_request"] = round(
                1000 * step["server_cpu_s"] / max(1, step["requests"]), 2
            )
            step["load"] = machine_load()
            step["memory"] = memory(pids)
            figures["rounds"].append(step)
            print(json.dumps(step), flush=True)
    finally:
        server.terminate()
        server.wait(timeout=20)
    summary = " → ".join(
        f"{m['pss_mb']:.0f}" for m in [figures["warm"]] + [r["memory"] for r in figures["rounds"]]
    )
    print(f"PSS MB, all server processes, warm → after each round: {summary}")
    print("ok/s per round: " + " / ".join(f"{r['ok_per_s']:.0f}" for r in figures["rounds"]))
    if options.out:
        options.out.write_text(json.dumps(figures, indent=1))


if __name__ == "__main__":
    main()
