"""The loss-curve report: its JSON round-trips, its page names the diagnosis, and its
sections can be reused by other reports."""

from __future__ import annotations

import json
import re

from posekit.reports import (
    CurveDiagnosis,
    Report,
    curve_sections,
    curves_report,
    diagnose_curves,
    read_report_json,
    write_report,
)
from posekit.reports.curve_figure import curves_alt_text

from . import curve_synth as synth


def test_json_round_trips_to_an_equal_diagnosis(tmp_path):
    d = diagnose_curves(synth.volatile(seed=1), source="runs/a/training_log.csv")
    _, js = write_report(curves_report(d, "runs/a"), tmp_path / "curves.html")
    data = json.loads(js.read_text())
    assert data["schema_version"] == 1 and data["kind"] == "curves"
    assert data["inputs"] == {"run_dir": "runs/a", "training_log": "runs/a/training_log.csv"}
    curves = data["results"]["curves"]
    assert curves["pattern"] == "volatile" and curves["best_epoch"] == d.best_epoch
    assert curves["thresholds"]["min_rise"] == 0.1
    assert [c["pattern"] for c in curves["checks"]] == [
        "unstable", "overfitting", "underfitting", "plateau", "volatile"]
    back = CurveDiagnosis.from_dict(read_report_json(js, kind="curves").results["curves"])
    assert back == d


def test_page_names_the_diagnosis_its_evidence_and_what_to_do(tmp_path):
    d = diagnose_curves(synth.overfitting(seed=2, onset=20))
    html, _ = write_report(curves_report(d, "runs/b"), tmp_path / "curves.html")
    page = html.read_text()
    onset = d.check("overfitting").start_epoch
    assert "Warning:</strong> Overfitting \u2013 the validation loss rose" in page
    assert f"after its lowest point at epoch {onset}" in page
    assert "<li>Use the weights of the best epoch (best.ckpt" in page
    assert "Overfitting: found" in page and "Plateau: not found" in page
    assert re.search(r"validation trend after its lowest point \(epochs \d+-49\)</td><td>\+", page)
    alt = re.search(r'<img [^>]*alt="([^"]+)"', page).group(1)
    assert alt == curves_alt_text(d).replace("'", "&#x27;")
    assert f"Shaded: overfitting from epoch {onset}." in alt


def test_a_healthy_page_says_so_without_warnings(tmp_path):
    d = diagnose_curves(synth.healthy(seed=3))
    html, _ = write_report(curves_report(d), tmp_path / "curves.html")
    page = html.read_text()
    assert "Good:</strong> Healthy \u2013 both losses fell" in page
    assert "Warning:" not in page


def test_other_reports_can_show_the_curve_sections():
    d = diagnose_curves(synth.plateau(seed=4))
    model = Report("Model report", "model")
    model.section("Accuracy").paragraph("...")
    model.add_sections(curve_sections(d))
    model.add_result("curves", d)
    assert [s.title for s in model.sections] == [
        "Accuracy", "Diagnosis", "What to do", "Loss and learning rate", "Evidence"]
    assert len({s.anchor for s in model.sections}) == 5
