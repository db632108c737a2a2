"""``posekit report validate`` through the command line, its page in a real browser."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import sleap_io as sio
from typer.testing import CliRunner

from posekit.cli.main import app, main
from posekit.io.synthetic import SynthSpec
from posekit.io.synthetic.predictions import plant_failures, true_poses

from .test_validation_study import CLEAN, digest, manual_csv

SCREENSHOT = Path("/tmp/validation_report_screenshot.png")


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("validate_cli")
    spec = SynthSpec(n_frames=330, n_animals=2, height=160, width=160, seed=8, tracks=True)
    pts, skeleton = true_poses(spec)
    made = plant_failures(pts[:300], skeleton, CLEAN,
                          video=sio.Video(filename="pred.mp4", open_backend=False))
    pred = tmp / "pred.slp"
    sio.save_slp(made.labels, str(pred))
    names = [t.name for t in made.labels.tracks]
    ref = manual_csv(tmp / "manual.csv", pts, names, offset=(1.5, 0.0))  # 3 beyond
    (tmp / "arena.json").write_text(json.dumps(
        {"arena": {"shape": "rectangle", "bounds": [0, 0, 160, 160]}}))
    return tmp, pred, ref


def test_cli_writes_page_and_json(files, browser):
    tmp, pred, ref = files
    before = digest(pred, ref, tmp / "arena.json")
    args = ["report", "validate", str(pred), "--reference", str(ref), "--fps", "30",
            "--px-per-cm", "4", "--bin-s", "1", "--arena", str(tmp / "arena.json"),
            "-o", str(tmp / "val.html")]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    assert "distance: excellent agreement" in result.output
    assert "3 of 33 reference samples" in result.output
    assert digest(pred, ref, tmp / "arena.json") == before
    data = json.loads((tmp / "val.json").read_text())
    assert data["kind"] == "validation" and data["schema_version"] == 1
    res = data["results"]["validation"]
    assert res["pairs"][0]["alignment"]["n_after"] == 3
    names = [m["name"] for m in res["measures"]]
    assert {"distance", "time_in_centre", "fraction_in_periphery"} <= set(names)
    centroid = res["keypoints"][0]
    assert centroid["x"]["significant_bias"] and centroid["x"]["bland_altman"]["bias"] == \
        pytest.approx(-1.5, abs=0.1)
    again = CliRunner().invoke(app, args)
    assert again.exit_code != 0 and "--force" in str(again.exception)
    assert CliRunner().invoke(app, args + ["--force"]).exit_code == 0
    seen = browser.check(tmp / "val.html")
    seen.assert_clean(images=1)
    shutil.copy(seen.screenshot, SCREENSHOT)


def test_cli_error_is_one_clear_line(files, capsys):
    tmp, pred, _ = files
    (tmp / "nothing.csv").write_text("frame,animal,x,y\n5000,a,1,1\n")
    code = main(["report", "validate", str(pred), "-r", str(tmp / "nothing.csv"),
                 "-o", str(tmp / "none.html")])
    err = capsys.readouterr().err
    assert code == 2 and "no reference sample overlaps the predictions" in err
    assert "--reference-fps" in err and "Traceback" not in err
    assert not (tmp / "none.html").exists()
    bad = main(["report", "validate", str(pred), "-r", str(tmp / "nothing.csv"),
                "--px-per-cm", "0", "-o", str(tmp / "none.html")])
    assert bad == 2 and "--px-per-cm: 0.0 is not a usable scale" in capsys.readouterr().err


@pytest.mark.slow
def test_real_flies_against_their_labels_with_noise(shared_data, tmp_path):
    """clip.slp (two flies, 1,500 frames, true tracks) as the reference; as predictions,
    the same poses with 1.5 px of noise and a 2 px shift in y, tracks renamed."""
    from posekit.reports.validation_study import ValidationSettings, validate_predictions

    labels = sio.load_slp(str(shared_data / "clip.slp"))
    rng = np.random.default_rng(0)
    tracks = {t.name: sio.Track(name=f"fly_{i}") for i, t in enumerate(labels.tracks)}
    frames = []
    for lf in labels.labeled_frames:
        insts = [sio.PredictedInstance.from_numpy(
            points_data=inst.numpy() + rng.normal(0, 1.5, inst.numpy().shape) + [0, 2.0],
            skeleton=labels.skeleton, point_scores=np.ones(len(labels.skeleton.nodes)),
            score=1.0, track=tracks[inst.track.name]) for inst in lf.instances]
        frames.append(sio.LabeledFrame(video=labels.video, frame_idx=lf.frame_idx,
                                       instances=insts))
    pred = tmp_path / "noisy.slp"
    sio.save_slp(sio.Labels(frames, videos=[labels.video], skeletons=[labels.skeleton],
                            tracks=list(tracks.values())), str(pred))
    before = digest(shared_data / "clip.slp")
    study = validate_predictions(pred, shared_data / "clip.slp",
                                 ValidationSettings(node="thorax", bin_s=5))
    assert digest(shared_data / "clip.slp") == before
    al = study.pairs[0].alignment
    assert al.video_fps == pytest.approx(25.0) and al.n_used == 1500
    assert study.pairs[0].match.method == "by mean distance"
    assert {r: p for r, p, _ in study.pairs[0].match.pairs} == {"female": "fly_0",
                                                               "male": "fly_1"}
    thorax = next(k for k in study.keypoints if k.node == "thorax")
    assert thorax.y.significant_bias and thorax.y.bland_altman.bias == pytest.approx(2, abs=0.2)
    assert thorax.x.band == "excellent" and not thorax.x.significant_bias
    # 1.5 px of jitter per frame adds path length to flies that mostly stand still: the
    # distance is biased upwards, the kind of error this report exists to show
    dist = next(m for m in study.measures if m.name == "distance").agreement
    assert dist.significant_bias and dist.bland_altman.bias > 0 and dist.band == "poor"
