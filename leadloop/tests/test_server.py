"""The web server `make run` starts (the Procfile's `web` line): what it lets through to
Django, which answers overlong input with a clear message, not the server's bare error."""

from __future__ import annotations

import os
import shlex
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _web_command(port: int) -> list[str]:
    line = next(
        line for line in (ROOT / "Procfile").read_text().splitlines() if line.startswith("web:")
    )
    words = shlex.split(line.removeprefix("web:").replace("$PORT", str(port)))
    return [str(Path(sys.executable).parent / words[0]), *words[1:]]


def test_the_server_hands_a_10000_character_search_to_the_app(tmp_path: Path) -> None:
    port = _free_port()
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}"}
    server = subprocess.Popen(
        _web_command(port),
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        # Wait until it listens (a generous bound, not a timing assertion).
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                time.sleep(0.2)
        url = f"http://127.0.0.1:{port}/leads/?q={'a' * 10_000}"

        class NoRedirect(urllib.request.HTTPRedirectHandler):
            def redirect_request(self, *args: object, **kwargs: object) -> None:
                return None

        opener = urllib.request.build_opener(NoRedirect)
        try:
            status = opener.open(url, timeout=30).status
        except urllib.error.HTTPError as error:
            status = error.code
    finally:
        server.terminate()
        server.wait(timeout=30)

    # Django's answer (the log-in page first), not gunicorn's bare 414 "Request Line is
    # too large": signed in, the list says the search was cut to 200 characters
    # (web/tests/test_error_pages.py).
    assert status == 302
