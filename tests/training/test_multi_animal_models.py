"""Every multi-animal model type learns synthetic two-mouse data from its `config init`
template (slow): localisation far better than the same network untrained, identities far
better than chance."""

from __future__ import annotations

import pytest
import sleap_io as sio

from posekit.demo import _untrained_copy
from posekit.evaluation import load_metrics
from posekit.training.finish import evaluate_run

pytestmark = pytest.mark.slow

TYPES = ("centroid", "centered_instance", "bottomup", "multi_class_bottomup",
         "multi_class_topdown")


@pytest.mark.parametrize("model_type", TYPES)
def test_model_type_learns_from_its_template(model_type, trained_multi, tmp_path):
    run = trained_multi(model_type)
    metrics = load_metrics(run / "metrics.val.json")
    val = sio.load_slp(str(run / "labels_gt.val.slp"))
    baseline = evaluate_run(_untrained_copy(run, tmp_path / "untrained"), val)
    counts, loc = metrics.counts, metrics.localization
    assert (counts.instance_recall or 0.0) >= 0.85, (model_type, counts)
    assert loc.mean_px is not None and loc.median_px is not None, loc
    untrained_recall = baseline.counts.instance_recall or 0.0
    untrained_error = baseline.localization.mean_px
    learned_more = untrained_recall <= 0.3 or (
        untrained_error is not None and untrained_error > 3 * loc.mean_px)
    assert learned_more, (counts, loc, baseline.counts, baseline.localization)
    assert loc.mean_px < 10.0 and loc.median_px < 4.0, loc  # on 96-pixel frames
    if model_type.startswith("multi_class"):
        identity = metrics.identity
        assert identity.available and (identity.identity_accuracy or 0.0) >= 0.9, identity
        names = {t.name for t in sio.load_slp(str(run / "labels_pr.val.slp")).tracks}
        assert names == {"animal_0", "animal_1"}


def test_identity_model_needs_tracks(tmp_path, synth_single, make_template_config):
    from posekit.errors import DataError
    from posekit.training.trainer import train

    with pytest.raises(DataError, match="no labelled instance has a track"):
        train(make_template_config("multi_class_bottomup", synth_single, tmp_path / "r"))
