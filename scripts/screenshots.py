"""Photograph each role's first day for the README: `make screenshots`.

    .venv/bin/python scripts/screenshots.py [--out docs/screenshots] [--leads 3000]
                                            [--data-dir DIR] [--chromium /usr/bin/chromium]

1. A demo database in a temporary directory (or --data-dir, kept and reused): `leadloop
   migrate`, `createcachetable` and `seed_demo --if-empty`, on SQLite there whatever
   DATABASE_URL says, so no database of yours is touched.
2. The app served from it by gunicorn on a free local port.
3. Chromium (Playwright, the system browser) signs in as rep1, manager1, marketing and
   admin (password demo) and photographs a few pages each at 1280x800: the inbox, a lead
   page, the funnel, settings (and what the role sets up). The pages are watched as the
   role walks do (web/tests/browser/walk.py): an error status, a console or script
   error or an unstyled page fails the run.
4. The PNGs, reduced to a 256-colour palette with Pillow, are written to --out as
   ROLE-PAGE.png (rep-inbox.png, manager-people.png…). The README embeds them.

With --walk, each role first walks the whole navigation on the demo data, as the role
tests do on their small world (it takes a few minutes more).
"""

from __future__ import annotations

import argparse
import os
import re
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from web.tests.browser.conftest import CHROMIUM, CHROMIUM_ARGS  # noqa: E402
from web.tests.browser.walk import Walk  # noqa: E402

BIN = Path(sys.executable).parent
PASSWORD = "demo"
VIEWPORT = (1280, 800)


def first_link(prefix: str) -> Callable[[Walk], str]:
    """The first link of the page shown to one thing under `prefix` (/leads/42/)."""
    one = re.compile(rf"^{re.escape(prefix)}\d+/$")

    def pick(walk: Walk) -> str:
        found = [path for path in walk.links() if one.match(path)]
        if not found:
            raise SystemExit(f"{walk.who}: no link to {prefix}N/ on {walk.page.url}")
        return found[0]

    return pick


# The inbox's most urgent lead.
first_lead = first_link("/leads/")


# role file prefix -> (username, [(page name, path, or a function of the page shown)]).
Step = tuple[str, "str | Callable[[Walk], str]"]
SHOTS: dict[str, tuple[str, list[Step]]] = {
    "rep": (
        "rep1",
        [("inbox", "/"), ("lead", first_lead), ("funnel", "/reports/funnel/"),
         ("settings", "/settings/")],
    ),
    "manager": (
        "manager1",
        [("inbox", "/"), ("lead", first_lead), ("funnel", "/reports/funnel/"),
         ("people", "/people/"), ("teams", "/teams/")],
    ),
    "marketing": (
        "marketing",
        [("inbox", "/"), ("campaigns", "/campaigns/"), ("campaign", first_link("/campaigns/")),
         ("imports", "/imports/"), ("forms", "/forms/"), ("funnel", "/reports/funnel/")],
    ),
    "admin": (
        "admin",
        [("inbox", "/"), ("lead", first_lead), ("people", "/people/"), ("teams", "/teams/"),
         ("settings", "/settings/")],
    ),
}  # fmt: skip


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def leadloop(env: dict[str, str], *args: str) -> None:
    print("+ leadloop", *args, flush=True)
    subprocess.run([str(BIN / "leadloop"), *args], env=env, check=True, cwd=ROOT)


def wait_for(url: str, server: subprocess.Popen[bytes], *, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SystemExit("the server stopped before answering")
        try:
            with urllib.request.urlopen(url, timeout=2):
                return
        except (urllib.error.URLError, OSError):
            time.sleep(0.3)
    raise SystemExit(f"no answer from {url} after {seconds:.0f} s")


def shrink(path: Path) -> None:
    """A 256-colour palette PNG: a screen of flat colours loses nothing visible."""
    from PIL import Image

    with Image.open(path) as image:
        small = image.convert("RGB").quantize(colors=256, method=Image.Quantize.MEDIANCUT)
    small.save(path, optimize=True)


def photograph(browser: Any, base: str, out: Path, *, walk_all: bool = False) -> list[str]:
    problems: list[str] = []
    for role, (username, steps) in SHOTS.items():
        walk = Walk.start(browser, base, username, PASSWORD, width=VIEWPORT[0])
        if walk_all:
            walk.walk_nav()
            if role == "admin":
                walk.walk_admin_objects()
            print(f"  {username} walked {len(walk.visited)} pages")
        for name, where in steps:
            walk.visit(where if isinstance(where, str) else where(walk))
            target = out / f"{role}-{name}.png"
            walk.page.screenshot(path=str(target))
            shrink(target)
            print(f"  {target.relative_to(ROOT) if target.is_relative_to(ROOT) else target}"
                  f"  ({walk.page.url.removeprefix(base)}, {target.stat().st_size // 1024} KB)")  # fmt: skip
        problems += [f"{username}: {problem}" for problem in walk.problems]
        walk.page.context.close()
    return problems


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "screenshots")
    parser.add_argument("--leads", type=int, default=3000, help="demo size (seed_demo --leads)")
    parser.add_argument("--data-dir", type=Path, help="keep (and reuse) the demo database here")
    parser.add_argument("--chromium", type=Path, default=CHROMIUM)
    parser.add_argument(
        "--walk",
        action="store_true",
        help="each role first walks every page of the navigation and one of each kind"
        " they link to (as web/tests/browser/test_walk.py does), on the demo data",
    )
    options = parser.parse_args()
    if not options.chromium.exists():
        raise SystemExit(f"screenshots need Chromium at {options.chromium}")
    options.out.mkdir(parents=True, exist_ok=True)

    with tempfile.TemporaryDirectory(prefix="leadloop-shots-") as scratch:
        data = (options.data_dir or Path(scratch)).resolve()
        data.mkdir(parents=True, exist_ok=True)
        env = {
            key: value
            for key, value in os.environ.items()
            if key not in {"DATABASE_URL", "CACHE_URL", "CELERY_BROKER_URL", "DEBUG"}
        }
        env |= {
            "LEADLOOP_DATA_DIR": str(data),
            "DATABASE_URL": f"sqlite:///{data / 'leadloop.sqlite3'}",
            "CELERY_BROKER_URL": f"sqla+sqlite:///{data / 'celery-broker.sqlite3'}",
        }
        leadloop(env, "migrate", "--no-input", "-v", "0")
        leadloop(env, "createcachetable")
        leadloop(env, "seed_demo", "--if-empty", "--leads", str(options.leads),
                 "--password", PASSWORD)  # fmt: skip

        port = free_port()
        base = f"http://127.0.0.1:{port}"
        server = subprocess.Popen(
            [str(BIN / "gunicorn"), "leadloop.wsgi", "--bind", f"127.0.0.1:{port}",
             "--workers", "2", "--log-level", "warning"],
            env=env, cwd=ROOT,
        )  # fmt: skip
        try:
            wait_for(f"{base}/login/", server)
            from playwright.sync_api import sync_playwright

            with sync_playwright() as p:
                browser = p.chromium.launch(
                    executable_path=str(options.chromium), args=CHROMIUM_ARGS
                )
                try:
                    problems = photograph(browser, base, options.out, walk_all=options.walk)
                finally:
                    browser.close()
        finally:
            server.terminate()
            server.wait(timeout=30)
    if problems:
        print("Problems seen while photographing:", *problems, sep="\n  ", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
