"""Reports in a real browser: headless Chromium opens each page, no errors, every image
loaded and shown at a readable width (screenshots in the test's tmp folder, or in
$POSEKIT_REPORT_SCREENSHOTS)."""

from __future__ import annotations

import pytest

from posekit.reports import curves_report, diagnose_curves, write_report

from . import curve_synth as synth
from .test_document import sample_report


def test_every_block_renders_in_chromium(browser, tmp_path):
    html, _ = write_report(sample_report(), tmp_path / "foundation_sample.html")
    seen = browser.check(html)
    seen.assert_clean(images=1)
    assert seen.images[0]["naturalWidth"] == 968  # an 8.8-inch figure at 110 dpi
    assert seen.images[0]["shownWidth"] == 968  # shown at its natural size on a laptop


@pytest.mark.parametrize(("name", "rows"), [
    ("overfitting", synth.overfitting(seed=1)),
    ("volatile", synth.volatile(seed=2)),
])
def test_curves_report_renders_in_chromium(browser, tmp_path, name, rows):
    diagnosis = diagnose_curves(rows, source=f"runs/{name}/training_log.csv")
    assert diagnosis.pattern == name
    html, _ = write_report(curves_report(diagnosis, f"runs/{name}"),
                           tmp_path / f"curves_{name}.html")
    seen = browser.check(html)
    seen.assert_clean(images=1)
    assert seen.images[0]["naturalHeight"] > 700  # three panels, tall enough to read
    assert 2500 < seen.height < 8000  # the whole page, a few screens long


def test_the_probe_sees_a_broken_image(browser, tmp_path):
    page = tmp_path / "broken.html"
    page.write_text('<!DOCTYPE html><html><head><title>x</title></head><body>'
                    '<img src="missing.png" alt="gone"><script>console.error("boom")</script>'
                    "</body></html>")
    seen = browser.check(page)
    assert seen.images[0]["naturalWidth"] == 0
    assert any("failed to load" in e and "missing.png" in e for e in seen.errors)
    assert "console.error: boom" in seen.errors
    with pytest.raises(AssertionError):
        seen.assert_clean(images=1)
