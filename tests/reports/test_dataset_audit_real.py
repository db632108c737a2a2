"""Dataset audit on real labels: DeepLabCut's reaching example (as a .pkg.slp).

The expected numbers come from the dataset's manifest (measured independently with
sleap-io when the data were collected), not from posekit.
"""

from __future__ import annotations

import json

from posekit.io.labels import load_labels
from posekit.reports.dataset_audit import audit_dataset
from posekit.reports.dataset_html import dataset_report
from posekit.reports.output import write_report


def _facts(shared_data, path: str) -> dict:
    manifest = json.loads((shared_data / "manifest.json").read_text())
    return next(f for f in manifest["files"] if f["path"] == path)["facts"]


def test_reaching_audit_matches_the_manifest(shared_data, tmp_path) -> None:
    facts = _facts(shared_data, "dlc_reaching/")
    path = shared_data / "reaching.pkg.slp"
    audit = audit_dataset(load_labels(path), source=str(path))
    assert audit.frames == facts["n_labeled_frames"] == 55
    assert {v.node: v.visible for v in audit.visibility} == facts["labeled_points_per_bodypart"]
    sizes = {f"{s.width}x{s.height}": s.frames for s in audit.frame_sizes}
    expected = {k.split()[0]: v for k, v in facts["png_sizes"].items()}
    assert sizes == expected == {"832x747": 40, "640x470": 15}
    assert audit.frame_count.complexity == "simple" and audit.frame_count.missing_to_minimum == 95
    kinds = {w.kind for w in audit.warnings}
    assert kinds == {"too_few_frames", "single_recording"}  # Tongue is seen in 27 %
    assert audit.pose.n_aligned == 55 and 0.3 < audit.pose.index < 0.6
    html, _ = write_report(dataset_report(audit), tmp_path / "reaching.html")
    assert html.read_text().count("<img ") == 2
