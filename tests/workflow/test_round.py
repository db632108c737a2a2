"""One refinement round end to end: predict, choose the failing frames, package them."""

from __future__ import annotations

import json
import re

import numpy as np
import pytest
import sleap_io as sio

from posekit.cli.main import main
from posekit.io.synthetic import SynthSpec, render
from posekit.io.synthetic.writer import write_video
from posekit.workflow.round import PACKAGE_NAME, run_round

pytestmark = pytest.mark.slow
BROKEN = (8, 21, 33)


@pytest.fixture(scope="module")
def session_video(tmp_path_factory):
    """A new synthetic mouse session whose frames 8, 21 and 33 are blank (camera dropouts):
    the model cannot place any point there."""
    images = render(SynthSpec(n_frames=45, height=64, width=64, seed=31, animal_size=0.45,
                              occluders=0)).images.copy()
    images[list(BROKEN)] = 0
    return write_video(images, tmp_path_factory.mktemp("round") / "session2.mp4")


def test_round_packages_the_frames_the_model_fails_on(trained_single, session_video, tmp_path):
    out = tmp_path / "round1"
    result = run_round([trained_single], [session_video], 6, out)
    package = sio.load_slp(str(result.package))
    frames = sorted(lf.frame_idx for lf in package.labeled_frames)
    assert len(frames) == 6 and set(BROKEN) <= set(frames)
    assert len(package.suggestions) == 6
    # Every chosen frame carries the model's guesses and its embedded image.
    for lf in package.labeled_frames:
        assert lf.image is not None and lf.image.shape[:2] == (64, 64)
        assert all(isinstance(i, sio.PredictedInstance) for i in lf.instances)
    assert [lf.instances for lf in package.labeled_frames if lf.frame_idx not in BROKEN]
    summary = json.loads((out / "round_summary.json").read_text())
    reasons = {c["frame"]: c["summary"] for c in summary["outliers"]["chosen"]}
    assert all(reasons[f] for f in BROKEN)
    markdown = (out / "round_summary.md").read_text()
    assert "| rank | video | frame | why |" in markdown
    rows = [line for line in markdown.splitlines() if line[:3].strip("| ").isdigit()]
    assert len(rows) == 6  # one table row per frame: the reasons' own bars are escaped
    assert all(len(re.findall(r"(?<!\\)\|", row)) == 5 for row in rows)
    # A second round with the same checkpoint reuses the predictions.
    again = run_round([trained_single], [session_video], 6, out)
    assert again.reused == again.predictions
    assert sorted(lf.frame_idx for lf in sio.load_slp(str(again.package)).labeled_frames) \
        == frames


def test_refine_round_from_the_command_line(trained_single, session_video, tmp_path, capsys):
    out = tmp_path / "round_cli"
    code = main(["refine", "round", str(trained_single), str(session_video), "-n", "4",
                 "-o", str(out), "--min-gap", "2"])
    assert code == 0, capsys.readouterr().err
    assert "4 frames to label" in capsys.readouterr().out
    frames = sorted(lf.frame_idx for lf in sio.load_slp(str(out / PACKAGE_NAME)).labeled_frames)
    assert len(frames) == 4 and np.diff(frames).min() >= 2
    assert main(["refine", "round", str(session_video), "-n", "4", "-o", str(out)]) == 2
    assert "no run folder" in capsys.readouterr().err


def test_round_on_a_real_video(trained_single, shared_data, tmp_path):
    """A real colour video (small_robot.mp4, 166 frames, 560x320) through a grey model
    trained on synthetic mice: the model is poor there, so frames fire; the package holds
    the real frames it chose, at the video's size, with every frame's reason."""
    video = shared_data / "small_robot.mp4"
    result = run_round([trained_single], [video], 5, tmp_path / "robot")
    package = sio.load_slp(str(result.package))
    frames = [lf.frame_idx for lf in package.labeled_frames]
    assert len(frames) == 5 and len(set(frames)) == 5 and max(frames) < 166
    assert {lf.image.shape[:2] for lf in package.labeled_frames} == {(320, 560)}
    preds = sio.load_slp(str(result.predictions[0]), open_videos=False)
    assert len(preds.labeled_frames) == 166  # every frame predicted (and written)
    # every frame says why: what fired on it or, where fewer than 5 fired, that fill added it
    kinds = [{r["criterion"] for r in reasons} for reasons in result.outliers.reasons]
    fired = [k for k in kinds if k and "filled" not in k]
    assert len(fired) >= 2 and all(k <= {"jump", "fitting", "uncertain", "missing", "more"}
                                   for k in fired), kinds
    assert all(k == {"filled"} for k in kinds if k not in fired), kinds
    assert (len(fired) == 5) == (not any("filled with" in n for n in result.outliers.notes))
