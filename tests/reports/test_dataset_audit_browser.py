"""The dataset audit page in a real browser: no errors, every image loaded and readable."""

from __future__ import annotations

import pytest

from posekit.io.labels import load_labels
from posekit.io.synthetic.sessions import default_sessions, write_sessions
from posekit.refinement.splits import split_labels, write_split
from posekit.reports.dataset_audit import audit_dataset
from posekit.reports.dataset_html import dataset_report
from posekit.reports.output import write_report

pytestmark = pytest.mark.slow


def test_planted_study_page_renders(browser, tmp_path) -> None:
    data = write_sessions(tmp_path / "study", default_sessions(n_animals=4, n_sessions=2),
                          n_frames=20, size=64)
    with open(data.metadata_path, "a", encoding="utf-8") as f:
        f.write("videos/m9_s0.mp4,m9,s0,drug-B,20,top,A\n")
    labels = load_labels(data.labels_path)
    write_split(split_labels(labels, by="frame", val=0.2, test=0.0), tmp_path / "split")
    audit = audit_dataset(labels, source=str(data.labels_path), metadata=data.metadata_path,
                          split=tmp_path / "split")
    html, _ = write_report(dataset_report(audit), tmp_path / "dataset_report.html")
    seen = browser.check(html)
    seen.assert_clean(images=2)
    assert seen.height > 3000  # every section laid out, not a blank page


def test_real_dataset_page_renders(browser, shared_data, tmp_path) -> None:
    path = shared_data / "clip.slp"
    audit = audit_dataset(load_labels(path), source=str(path))
    html, _ = write_report(dataset_report(audit), tmp_path / "clip_dataset_report.html")
    browser.check(html).assert_clean(images=2)
