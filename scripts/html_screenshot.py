"""Open an exported HTML report in headless Chromium and save a PNG screenshot.

Usage: ``.venv/bin/python scripts/html_screenshot.py report.html shot.png [WIDTHxHEIGHT]``

Needs Chromium (Debian: ``apt-get install chromium``). The page is loaded from a
file:// URL with networking off, so a chart that shows proves the export is
self-contained.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

CANDIDATES = ("chromium", "chromium-browser", "google-chrome", "chrome")


def screenshot(page: Path, out: Path, size: str = "1400x1000") -> None:
    binary = next((found for name in CANDIDATES if (found := shutil.which(name))), None)
    if binary is None:
        sys.exit("html_screenshot: no Chromium found (Debian: apt-get install chromium)")
    width, height = size.split("x")
    with tempfile.TemporaryDirectory() as profile:
        subprocess.run(
            [
                binary,
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-dev-shm-usage",
                "--hide-scrollbars",
                f"--user-data-dir={profile}",
                "--proxy-server=127.0.0.1:9",  # no network: a chart needing one would not draw
                f"--window-size={width},{height}",
                f"--screenshot={out.resolve()}",
                page.resolve().as_uri(),
            ],
            check=True,
            capture_output=True,
            timeout=120,
        )
    if not out.exists():
        sys.exit(f"html_screenshot: Chromium wrote no {out}")


if __name__ == "__main__":
    if len(sys.argv) not in (3, 4):
        sys.exit(__doc__.strip().splitlines()[2])
    screenshot(Path(sys.argv[1]), Path(sys.argv[2]), *sys.argv[3:])
    print(sys.argv[2])
