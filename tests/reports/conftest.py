"""Fixtures for report tests: a real browser that opens a report and says what it saw.

``browser`` (session fixture) is a :class:`Browser` around headless Chromium from the
operating system's packages (``.ci/run`` installs it). ``browser.check(html_path)``:

1. opens, in one Chromium run, a copy of the page with a small probe script added (it
   records console errors, uncaught errors and failed loads, and on load writes every
   ``<img>``'s natural and shown size, the page height and any fetched resource into a
   hidden element), reads the DOM back (``--dump-dom``) and takes a screenshot at a
   laptop's width (1366 px) in a very tall window;
2. crops the screenshot to the page's height: ``<page>.png`` beside the page (also copied
   to ``$POSEKIT_REPORT_SCREENSHOTS`` when set, to look at them).

Tests skip with the reason where no Chromium is installed. Set ``POSEKIT_CHROMIUM`` to use
a specific browser binary.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

import pytest

CANDIDATES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable",
              "chrome", "chrome-headless-shell")
WIDTH = 1366
"""A laptop screen's width in CSS pixels."""
MAX_HEIGHT = 12000
"""The tallest screenshot (the window's height; the page is cut below it)."""

_PROBE_HEAD = """<script>
window.__probe = {errors: []};
(function () {
  var original = console.error;
  console.error = function () {
    window.__probe.errors.push('console.error: ' + Array.prototype.join.call(arguments, ' '));
    return original.apply(console, arguments);
  };
  window.addEventListener('error', function (e) {
    var t = e.target;
    window.__probe.errors.push(t && t !== window && (t.src || t.href)
      ? 'failed to load ' + (t.src || t.href).slice(0, 120) : 'error: ' + e.message);
  }, true);
  window.addEventListener('unhandledrejection', function (e) {
    window.__probe.errors.push('unhandled rejection: ' + e.reason);
  });
})();
</script>"""

_PROBE_TAIL = """<script>
window.addEventListener('load', function () {
  var images = Array.prototype.map.call(document.images, function (img) {
    return {alt: img.alt, complete: img.complete, naturalWidth: img.naturalWidth,
            naturalHeight: img.naturalHeight, shownWidth: img.getBoundingClientRect().width};
  });
  var out = document.createElement('pre');
  out.id = '__probe_result';
  out.style.display = 'none';
  out.textContent = JSON.stringify({errors: window.__probe.errors, images: images,
    height: Math.ceil(document.body.getBoundingClientRect().bottom +
      parseFloat(getComputedStyle(document.body).marginBottom || 0)),
    resources: performance.getEntriesByType('resource').map(function (r) { return r.name; })});
  document.body.appendChild(out);
});
</script>"""


@dataclass(frozen=True)
class PageCheck:
    """What the browser saw: errors, images (natural and shown sizes), page height,
    resources fetched, and the screenshot."""

    errors: list[str]
    images: list[dict]
    height: int
    resources: list[str]
    screenshot: Path

    def assert_clean(self, images: int, min_width: int = 600) -> None:
        """No errors, nothing fetched, exactly ``images`` images, each loaded, described
        (alt text) and shown at least ``min_width`` pixels wide (readable)."""
        assert self.errors == []
        assert self.resources == []
        assert len(self.images) == images
        for img in self.images:
            assert img["complete"] and img["naturalWidth"] > 0 and img["naturalHeight"] > 0, img
            assert img["alt"].strip(), img
            assert img["shownWidth"] >= min_width, img
        assert self.screenshot.stat().st_size > 10_000


class Browser:
    """Headless Chromium driven from the command line (no extra Python packages)."""

    def __init__(self, binary: str, workdir: Path) -> None:
        self.binary = binary
        self.workdir = workdir

    def _run(self, *args: str, timeout: float = 60.0) -> str:
        profile = Path(tempfile.mkdtemp(prefix="profile-", dir=self.workdir))
        command = [self.binary, "--headless", "--no-sandbox", "--disable-gpu",
                   "--no-first-run", "--disable-extensions", "--hide-scrollbars",
                   f"--user-data-dir={profile}", *args]
        try:
            done = subprocess.run(command, capture_output=True, text=True, timeout=timeout,
                                  check=False)
        finally:
            shutil.rmtree(profile, ignore_errors=True)
        if done.returncode != 0:
            raise RuntimeError(f"{self.binary} failed ({done.returncode}): {done.stderr[-2000:]}")
        return done.stdout

    def check(self, html_path: Path) -> PageCheck:
        """Open ``html_path`` in Chromium (see the module docstring)."""
        from PIL import Image

        page = html_path.read_text(encoding="utf-8")
        probed = page.replace("<head>", "<head>" + _PROBE_HEAD, 1).replace(
            "</body>", _PROBE_TAIL + "</body>", 1)
        probe_path = html_path.with_name(html_path.stem + ".probe.html")
        probe_path.write_text(probed, encoding="utf-8")
        shot = html_path.with_suffix(".png")
        dom = self._run(f"--window-size={WIDTH},{MAX_HEIGHT}", "--virtual-time-budget=10000",
                        f"--screenshot={shot}", "--dump-dom", probe_path.as_uri())
        found = re.search(r'<pre id="__probe_result"[^>]*>(.*?)</pre>', dom, re.DOTALL)
        if found is None:
            raise AssertionError("the probe did not report: the page's load event never "
                                 "fired or the DOM dump was cut")
        result = json.loads(found.group(1).replace("&lt;", "<").replace("&gt;", ">")
                            .replace("&quot;", '"').replace("&amp;", "&"))
        height = min(int(result["height"]), MAX_HEIGHT)
        with Image.open(shot) as full:
            full.crop((0, 0, full.width, height)).save(shot)
        keep = os.environ.get("POSEKIT_REPORT_SCREENSHOTS")
        if keep:
            Path(keep).mkdir(parents=True, exist_ok=True)
            shutil.copy(shot, Path(keep) / shot.name)
        return PageCheck(result["errors"], result["images"], height, result["resources"], shot)


def find_chromium() -> str | None:
    """The Chromium binary to use, or ``None``."""
    chosen = os.environ.get("POSEKIT_CHROMIUM")
    if chosen:
        return chosen
    return next((path for name in CANDIDATES if (path := shutil.which(name))), None)


@pytest.fixture(scope="session")
def browser(tmp_path_factory) -> Browser:
    """Headless Chromium; skips the test where none is installed."""
    binary = find_chromium()
    if binary is None:
        pytest.skip(f"no Chromium found (looked for {', '.join(CANDIDATES)} on PATH and "
                    "$POSEKIT_CHROMIUM); install it from the OS packages (Debian/Ubuntu: "
                    "apt-get install chromium), as .ci/run does")
    return Browser(binary, tmp_path_factory.mktemp("chromium"))
