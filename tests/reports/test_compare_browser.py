"""The rounds-side-by-side page in a real browser: no errors, every image loaded."""

from __future__ import annotations

import numpy as np
import pytest

from posekit.evaluation.pairs import array_inputs
from posekit.reports.compare_html import compare_report
from posekit.reports.compare_rounds import compare_inputs
from posekit.reports.output import write_report

pytestmark = pytest.mark.slow


def test_compare_page_renders(browser, tmp_path) -> None:
    rng = np.random.default_rng(0)
    nodes = [f"node{k}" for k in range(8)]
    gt = [rng.uniform(20, 300, size=(2, 8, 2)) for _ in range(60)]
    for g in gt:
        g[1] += 400  # two animals far apart
    sigma = np.full(8, 2.0)
    a = [g + rng.normal(0, 1, g.shape) * sigma[None, :, None] for g in gt]
    sigma[3], sigma[6] = 0.5, 3.5  # one keypoint better, one worse
    b = [g + rng.normal(0, 1, g.shape) * sigma[None, :, None] for g in gt]
    conditions = [("saline", "drug", "vehicle")[i % 3] for i in range(60)]
    result = compare_inputs(array_inputs(gt, a, node_names=nodes),
                            array_inputs(gt, b, node_names=nodes), conditions=conditions,
                            condition_column="treatment", names=("round1", "round2"))
    html, _ = write_report(compare_report(result), tmp_path / "compare.html")
    seen = browser.check(html)
    seen.assert_clean(images=2)
    assert "round2" in html.read_text()
