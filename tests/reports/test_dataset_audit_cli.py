"""``posekit report dataset`` from the command line: outputs, labeler agreement, errors."""

from __future__ import annotations

import json

import pytest

from posekit.cli.main import main
from posekit.io.synthetic import SynthSpec, render
from posekit.io.synthetic.labelers import LabelerSpec, write_labelers


@pytest.fixture(scope="module")
def labelers(tmp_path_factory):
    folder = tmp_path_factory.mktemp("labelers")
    result = render(SynthSpec(n_frames=16, height=64, width=64, occluders=0, seed=4,
                              animal_size=0.45))
    spec = LabelerSpec(n_labelers=4, noise_px=(0.7,), bias_labeler=2, bias_px=(9.0, -7.0),
                       missing=0.0, slips=0.0, seed=2)
    _, paths = write_labelers(result, folder, spec)
    return paths


def test_audit_with_labelers_writes_page_and_json(labelers, capsys) -> None:
    first = labelers[0]
    args = ["report", "dataset", str(first), "--axis", "head,tail_base"]
    for path in labelers:
        args += ["--labelers", str(path)]
    assert main(args) == 0
    html = first.parent / "labeler_1.dataset_report.html"
    data = json.loads(html.with_suffix(".json").read_text())
    audit = data["results"]["dataset"]
    assert data["kind"] == "dataset" and audit["frames"] == 16
    assert audit["pose"]["axis_rule"] == "given" and audit["pose"]["tail_node"] == "tail_base"
    agreement = audit["labelers"]
    assert agreement["labelers"] == ["labeler_1", "labeler_2", "labeler_3", "labeler_4"]
    assert agreement["outliers"] == ["labeler_3"]  # the planted bias
    assert agreement["frames_in_consensus"] == 16
    kinds = {w["kind"] for w in audit["warnings"]}
    assert "labeler_outlier" in kinds and "too_few_frames" in kinds
    out = capsys.readouterr().out
    assert "labeler labeler_3 disagrees" in out and "report:" in out
    assert "Labeler agreement" in html.read_text()
    assert main(args) == 2  # outputs exist: refused without --force, before any work
    assert "already exists" in capsys.readouterr().err


def test_bad_arguments_are_explained(labelers, tmp_path, capsys) -> None:
    out = ["-o", str(tmp_path / "a.html")]
    assert main(["report", "dataset", str(labelers[0]), "--axis", "head", *out]) == 2
    assert "two node names" in capsys.readouterr().err
    assert main(["report", "dataset", str(labelers[0]), "--axis", "head,tail", *out]) == 2
    assert "not in the skeleton" in capsys.readouterr().err
    assert main(["report", "dataset", str(labelers[0]), "--labelers", str(labelers[1]),
                 *out]) == 2
    assert "two or more labelers" in capsys.readouterr().err
    assert main(["report", "dataset", str(tmp_path / "missing.slp"), *out]) == 2
    assert "not found" in capsys.readouterr().err
    assert not (tmp_path / "a.html").exists()
