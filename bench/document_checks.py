"""What a hostile upload costs: the page-tree PDF refused in time and memory, and plain turns beside eight of them.

What it measures, in two parts.

1. In this process: the wall time and memory to refuse the page-tree PDF (a ~8 MB PDF whose page tree lists
   100,000 tiny pages) with `check_document`, once the checking process is started. Memory is this process's
   traced Python allocations (tracemalloc peak) and its resident set before and after; the child that opens
   the file is limited by rlimits (CPU seconds, address space) and is gone when the verdict is in. With
   `--old`, the same file is also counted the way the check used to (`len(PdfReader(...).pages)`), in a
   child process so that its 250 MB do not stay here: its CPU time and peak resident set are printed.
2. Against a real `ptibot serve` (SQLite, fresh data dir): the latency of a plain web-chat turn (a JSON
   `POST /webchat/api/messages` saying "menu"), first alone, then while eight clients upload the page-tree
   PDF over and over to the same endpoint, with the web chat's rate limits lifted so that every upload
   reaches the check (as it would from many addresses). The target is a plain turn slowed by less than 100 ms (p99 with
   the uploads minus p99 alone). The server's resident memory before and after is printed too, and the
   machine's load average: other work on the machine shows in both phases' figures.

Why: before the fix, eight such uploads held every request thread for 93 s, a plain turn took 1.4-3.1 s
instead of 13 ms, and the process grew to 2.1 GB.

Run with the project's virtualenv: `.venv/bin/python bench/document_checks.py [--seconds 10] [--uploads 8]`.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import resource
import subprocess
import sys
import threading
import time
import tracemalloc
import uuid
from collections import Counter
from collections.abc import Sequence

from harness import (
    HOST,
    SCRUBBED_ENV,
    executable,
    free_port,
    fresh_round,
    healthy,
    interrupt_on_sigterm,
    managed,
    ms,
    percentile,
    project_on_path,
)

ENDPOINT = "/webchat/api/messages"
TARGET_MS = 100.0


def rss_kb(pid: int | str = "self", field: str = "VmRSS") -> int:
    with open(f"/proc/{pid}/status", encoding="ascii") as status:
        for line in status:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return 0


def refusal_in_process(bomb: bytes) -> None:
    from bot.service.document_checks import check_document
    from tests.samples import pdf_document

    started = time.perf_counter()
    check_document(pdf_document())
    print(f"checking process started, first check: {ms(time.perf_counter() - started)} ms")
    rss_before = rss_kb()
    times = []
    tracemalloc.start()
    for _ in range(5):
        started = time.perf_counter()
        check = check_document(bomb)
        times.append(time.perf_counter() - started)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    print(f"page-tree PDF ({len(bomb) / 1e6:.1f} MB, 100,000 pages): {check.reason}, pages={check.pages}")
    print(f"  refused in {ms(min(times))}-{ms(max(times))} ms (5 runs); traced peak {peak / 1e6:.1f} MB "
          f"(the bytes handed to the child); resident {rss_before / 1024:.0f} -> {rss_kb() / 1024:.0f} MB")


OLD_WAY = """
import io, resource, sys, time
from pypdf import PdfReader
content = sys.stdin.buffer.read()
started = time.process_time()
pages = len(PdfReader(io.BytesIO(content)).pages)
print(pages, round(time.process_time() - started, 2), resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024)
"""


def refusal_the_old_way(bomb: bytes) -> None:
    out = subprocess.run([sys.executable, "-c", OLD_WAY], input=bomb, capture_output=True, check=True).stdout
    pages, cpu, peak = out.decode().split()
    print(f"  before the fix (len(reader.pages)): {pages} pages counted in {cpu} s of CPU, peak {peak} MB resident")


def post(connection: http.client.HTTPConnection, body: bytes, content_type: str,
         cookie: str | None) -> tuple[int, str | None]:
    headers = {"Content-Type": content_type, "Accept-Language": "es-MX"}
    if cookie:
        headers["Cookie"] = cookie
    connection.request("POST", ENDPOINT, body=body, headers=headers)
    response = connection.getresponse()
    response.read()
    set_cookie = response.getheader("Set-Cookie")
    return response.status, set_cookie.split(";")[0] if set_cookie else cookie


def plain_turns(port: int, seconds: float, stop: threading.Event | None = None) -> tuple[list[float], Counter[int]]:
    """Plain turns one after another for `seconds`: their latencies and answer statuses."""
    connection = http.client.HTTPConnection(HOST, port, timeout=60)
    cookie = None
    latencies: list[float] = []
    statuses: Counter[int] = Counter()
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline and not (stop and stop.is_set()):
        body = json.dumps({"text": "menu", "id": uuid.uuid4().hex}).encode()
        started = time.perf_counter()
        status, cookie = post(connection, body, "application/json", cookie)
        latencies.append(time.perf_counter() - started)
        statuses[status] += 1
        time.sleep(0.05)
    connection.close()
    return latencies, statuses


def uploader(port: int, bomb: bytes, stop: threading.Event, statuses: Counter[int], lock: threading.Lock) -> None:
    connection = http.client.HTTPConnection(HOST, port, timeout=120)
    cookie = None
    boundary = uuid.uuid4().hex
    while not stop.is_set():
        body = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"id\"\r\n\r\n{uuid.uuid4().hex}\r\n"
                f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"constancia.pdf\"\r\n"
                f"Content-Type: application/pdf\r\n\r\n").encode() + bomb + f"\r\n--{boundary}--\r\n".encode()
        try:
            status, cookie = post(connection, body, f"multipart/form-data; boundary={boundary}", cookie)
        except (OSError, http.client.HTTPException):
            status = 0
            connection.close()
            connection = http.client.HTTPConnection(HOST, port, timeout=120)
        with lock:
            statuses[status] += 1
    connection.close()


def turns_beside_uploads(bomb: bytes, uploads: int, seconds: float) -> bool:
    command = [executable("ptibot")]
    with fresh_round("sqlite", None, keep_data=False) as rnd:
        port = free_port()
        env = {name: value for name, value in os.environ.items() if name not in SCRUBBED_ENV}
        env.update(PTIBOT_ENV="development", PTIBOT_DATA_DIR=str(rnd.data_dir), PYTHONUNBUFFERED="1")
        # Rate limits lifted, so that every upload reaches the document check: the worst case, many addresses.
        env.update({name: "100000 per minute" for name in (
            "WEBCHAT_MESSAGE_LIMIT", "WEBCHAT_ADDRESS_LIMIT", "WEBCHAT_SESSION_LIMIT", "WEBCHAT_UPLOAD_LIMIT")})
        with managed("ptibot serve", [*command, "serve", "--host", HOST, "--port", str(port)], env, rnd.data_dir,
                     rnd.data_dir / "server.log", lambda: healthy(port), 60, 10) as server:
            plain_turns(port, 1.0)  # warm up
            alone, _ = plain_turns(port, seconds)
            rss_before = rss_kb(server.process.pid)
            stop, lock, upload_statuses = threading.Event(), threading.Lock(), Counter[int]()
            threads = [threading.Thread(target=uploader, args=(port, bomb, stop, upload_statuses, lock), daemon=True)
                       for _ in range(uploads)]
            for thread in threads:
                thread.start()
            time.sleep(1.0)  # every uploader under way
            loaded, statuses = plain_turns(port, seconds)
            stop.set()
            for thread in threads:
                thread.join(timeout=120)
            rss_after, peak = rss_kb(server.process.pid), rss_kb(server.process.pid, "VmHWM")
    print(f"plain turn alone:            p50 {ms(percentile(alone, 50))} ms, p99 {ms(percentile(alone, 99))} ms, "
          f"max {ms(max(alone))} ms ({len(alone)} turns)")
    print(f"beside {uploads} page-tree uploads: p50 {ms(percentile(loaded, 50))} ms, "
          f"p99 {ms(percentile(loaded, 99))} ms, max {ms(max(loaded))} ms ({len(loaded)} turns, "
          f"statuses {dict(statuses)})")
    print(f"uploads answered: {sum(upload_statuses.values())} ({dict(upload_statuses)}); server resident "
          f"{rss_before / 1024:.0f} -> {rss_after / 1024:.0f} MB (peak {peak / 1024:.0f} MB)")
    slowed_p50 = (percentile(loaded, 50) - percentile(alone, 50)) * 1000
    slowed = (percentile(loaded, 99) - percentile(alone, 99)) * 1000
    ok = slowed < TARGET_MS and set(statuses) == {200}
    load = ", ".join(f"{value:.1f}" for value in os.getloadavg())
    print(f"plain turn slowed by {slowed_p50:.0f} ms at p50 and {slowed:.0f} ms at p99 (target < {TARGET_MS:.0f} ms "
          f"at p99): {'OK' if ok else 'ABOVE'}; machine load average {load} on {os.cpu_count()} cores")
    return ok


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10.0, help="length of each latency phase")
    parser.add_argument("--uploads", type=int, default=8, help="clients uploading the page-tree PDF at once")
    parser.add_argument("--old", action="store_true", help="also count the pages the old way, for comparison")
    args = parser.parse_args(argv)
    interrupt_on_sigterm()
    project_on_path()
    from tests.hostile_files import page_tree_pdf

    bomb = page_tree_pdf()
    refusal_in_process(bomb)
    if args.old:
        refusal_the_old_way(bomb)
    print(f"({os.cpu_count()} cores; this process's own peak resident set: "
          f"{resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB)")
    return 0 if turns_beside_uploads(bomb, args.uploads, args.seconds) else 1


if __name__ == "__main__":
    sys.exit(main())
