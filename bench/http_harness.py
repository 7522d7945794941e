"""What the HTTP benchmarks share: a throwaway database, gunicorn, a bounded load, a table.

Used by bench_form.py and bench_events.py (run them, not this). Everything stays on
loopback; the load is a fixed number of requests with a fixed number of threads.
"""

from __future__ import annotations

import http.client
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import textwrap
import threading
import time
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from scratch import drop_scratch_database, use_scratch_database  # noqa: E402

BIN = Path(sys.executable).parent

# Modules only the benchmark's server needs: a settings module adding a trivial view (the
# "fastest plain Django" baseline) and a bare WSGI app (the "fastest plain server" one).
SITE_SETTINGS = """
from leadloop.settings import *  # noqa: F403

ROOT_URLCONF = "bench_site_urls"
"""
SITE_URLS = """
from django.http import HttpRequest, HttpResponse
from django.urls import path
from django.views.decorators.csrf import csrf_exempt

from leadloop.urls import urlpatterns as app_urlpatterns


@csrf_exempt
def ping(request: HttpRequest) -> HttpResponse:
    request.POST  # parse the form body, as the real view does
    return HttpResponse(b"ok", content_type="text/plain")


urlpatterns = [path("bench/ping/", ping), *app_urlpatterns]
"""
BARE_WSGI = """
def application(environ, start_response):
    length = int(environ.get("CONTENT_LENGTH") or 0)
    environ["wsgi.input"].read(length)
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", "2")])
    return [b"ok"]
"""


def configure(tag: str) -> str:
    """Point Django at a throwaway database BEFORE django.setup(); returns a label.

    SQLite: a file in a temp dir. PostgreSQL (DATABASE_URL given): a fresh database on
    that server, dropped by `scratch.drop_scratch_database`; the given database is not touched.
    """
    scratch = tempfile.mkdtemp(prefix=f"leadloop-{tag}-")
    os.environ["LEADLOOP_DATA_DIR"] = scratch
    os.environ["LEADLOOP_BENCH_SCRATCH"] = scratch
    os.environ["DJANGO_SETTINGS_MODULE"] = "leadloop.settings"
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    site = Path(scratch) / "site"
    site.mkdir()
    (site / "bench_site_settings.py").write_text(textwrap.dedent(SITE_SETTINGS))
    (site / "bench_site_urls.py").write_text(textwrap.dedent(SITE_URLS))
    (site / "bare_wsgi.py").write_text(textwrap.dedent(BARE_WSGI))
    os.environ["LEADLOOP_BENCH_SITE"] = str(site)
    return use_scratch_database(scratch, tag.replace("-", "_"))


def setup_django() -> None:
    import django
    from django.core.management import call_command

    django.setup()
    call_command("migrate", verbosity=0)
    call_command("createcachetable", verbosity=0)


def finish() -> None:
    """Drop the throwaway PostgreSQL database, if any, and delete the temp dir."""
    import shutil

    try:
        drop_scratch_database()
    finally:
        scratch = os.environ.get("LEADLOOP_BENCH_SCRATCH")
        if scratch:
            shutil.rmtree(scratch, ignore_errors=True)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass(frozen=True)
class Server:
    port: int
    process: subprocess.Popen[bytes]


@contextmanager
def gunicorn(
    app: str,
    *,
    workers: int = 2,
    threads: int = 1,
    settings: str = "leadloop.settings",
    env: dict[str, str] | None = None,
) -> Iterator[Server]:
    """Serve `app` on a free loopback port until the block ends (then stop that process)."""
    port = free_port()
    environment = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": settings,
        "PYTHONPATH": os.pathsep.join([os.environ["LEADLOOP_BENCH_SITE"], str(ROOT)]),
        **(env or {}),
    }
    command = [str(BIN / "gunicorn"), app, "--bind", f"127.0.0.1:{port}"]
    command += ["--workers", str(workers), "--log-level", "warning", "--timeout", "120"]
    if threads > 1:
        command += ["--threads", str(threads)]  # the gthread worker, as in the Procfile
    process = subprocess.Popen(command, cwd=ROOT, env=environment)
    try:
        deadline = time.monotonic() + 60
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"gunicorn {app} exited with {process.returncode}")
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=1):
                    break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)
        yield Server(port, process)
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@dataclass(frozen=True)
class Request:
    method: str
    path: str
    body: bytes = b""
    headers: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class Response:
    status: int
    seconds: float
    body: bytes


def send(port: int, request: Request, timeout: float = 120) -> Response:
    started = time.perf_counter()
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request(request.method, request.path, body=request.body, headers=dict(request.headers))
        reply = conn.getresponse()
        body = reply.read()
        status = reply.status
    finally:
        conn.close()
    return Response(status, time.perf_counter() - started, body)


@dataclass(frozen=True)
class LoadResult:
    responses: list[Response]
    wall: float

    @property
    def rate(self) -> float:
        return len(self.responses) / self.wall

    def statuses(self) -> dict[int, int]:
        counts: dict[int, int] = {}
        for response in self.responses:
            counts[response.status] = counts.get(response.status, 0) + 1
        return counts

    def percentile(self, share: float) -> float:
        return percentile([r.seconds for r in self.responses], share)


def fire(port: int, requests: Sequence[Request], concurrency: int) -> LoadResult:
    """Send every request once, `concurrency` at a time; each on a new connection."""
    lock = threading.Lock()
    position = 0
    responses: list[Response | None] = [None] * len(requests)

    def worker() -> None:
        nonlocal position
        while True:
            with lock:
                index = position
                position += 1
            if index >= len(requests):
                return
            try:
                responses[index] = send(port, requests[index])
            except OSError as exc:
                responses[index] = Response(0, 0.0, str(exc).encode())

    started = time.perf_counter()
    with ThreadPoolExecutor(concurrency) as pool:
        for future in [pool.submit(worker) for _ in range(concurrency)]:
            future.result()
    wall = time.perf_counter() - started
    return LoadResult([r for r in responses if r is not None], wall)


def percentile(values: Sequence[float], share: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    rank = min(len(ordered) - 1, max(0, round(share * (len(ordered) - 1))))
    return ordered[rank]


def median(values: Sequence[float]) -> float:
    return statistics.median(values)


def print_table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> None:
    """A Markdown table, numbers right-aligned, ready to paste into BENCHMARKS.md."""
    widths = [max(len(str(h)), *(len(str(r[i])) for r in rows)) for i, h in enumerate(headers)]
    numeric = [all(_is_number(str(r[i])) for r in rows) for i in range(len(headers))]

    def line(cells: Sequence[str]) -> str:
        parts = [
            str(c).rjust(w) if n else str(c).ljust(w)
            for c, w, n in zip(cells, widths, numeric, strict=True)
        ]
        return "| " + " | ".join(parts) + " |"

    print(line(headers))
    print(
        "|"
        + "|".join(
            ("-" * (w + 1) + ":") if n else "-" * (w + 2)
            for w, n in zip(widths, numeric, strict=True)
        )
        + "|"
    )
    for row in rows:
        print(line(row))


def _is_number(text: str) -> bool:
    cleaned = text.replace(",", "").replace("×", "").replace("%", "").strip()
    try:
        float(cleaned)
    except ValueError:
        return False
    return True


def machine_line() -> str:
    import platform

    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    return (
        f"{os.cpu_count()} CPUs, load average {load}, Python {platform.python_version()},"
        f" {platform.system()} {platform.release()}"
    )
