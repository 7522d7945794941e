"""The README's pictures are ones `make screenshots` takes (one it does not write would
go stale unnoticed), and the repository holds exactly what it writes, small."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def shots_written() -> set[str]:
    code = (
        "import sys; sys.argv = ['x']; sys.path.insert(0, 'scripts');"
        "import screenshots as s;"
        "print('\\n'.join(f'{role}-{name}.png' for role, (_, steps) in s.SHOTS.items()"
        " for name, _ in steps))"
    )
    # In a process of its own: the script imports the browser tests' helpers.
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout
    return set(out.split())


def test_the_readme_shows_the_screenshots_the_command_takes() -> None:
    readme = (ROOT / "README.md").read_text()
    embedded = set(re.findall(r"\]\(docs/screenshots/([\w-]+\.png)\)", readme))
    assert embedded, "the README's First day section embeds screenshots"
    assert "make screenshots" in readme
    assert embedded <= shots_written()
    kept = {path.name for path in (ROOT / "docs" / "screenshots").glob("*.png")}
    assert kept == shots_written()
    for name in kept:
        picture = (ROOT / "docs" / "screenshots" / name).read_bytes()
        assert picture.startswith(b"\x89PNG"), name
        assert len(picture) < 200_000, f"{name} is {len(picture)} bytes: run make screenshots"
