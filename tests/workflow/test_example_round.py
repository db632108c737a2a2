"""The worked example of docs/refinement.md runs end to end (small sizes, short training)."""

from __future__ import annotations

import json
import runpy
import sys
from pathlib import Path

import pytest
import sleap_io as sio

pytestmark = pytest.mark.slow
EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "refinement_round.py"


def test_full_round_example_runs_every_command(tmp_path, monkeypatch):
    out = tmp_path / "example"
    monkeypatch.setattr(sys, "argv", [str(EXAMPLE), "--out", str(out), "--frames", "240",
                                      "--label", "16", "--round-n", "8", "--epochs", "2"])
    runpy.run_path(str(EXAMPLE), run_name="__main__")
    merged = sio.load_slp(str(out / "labels.v002.pkg.slp"))
    assert len(merged.labeled_frames) == 16 + 8  # the first labels plus the corrected round
    assert all(lf.user_instances for lf in merged.labeled_frames)
    manifest = json.loads((out / "split_v002" / "split_manifest.json").read_text())
    assert manifest["by"] == "block"
    comparison = json.loads((out / "comparison.json").read_text())
    assert set(comparison) == {"v001", "v002"}  # (two epochs: the numbers mean nothing)
    for version in ("v001", "v002"):  # both models predicted every frame of session 3
        preds = sio.load_slp(str(out / f"session3.{version}.slp"), open_videos=False)
        assert len(preds.labeled_frames) == 240 // 3
