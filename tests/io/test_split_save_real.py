"""Training splits of real packages save and load back (frames stay embedded)."""

from __future__ import annotations

import numpy as np

from posekit.io.labels import load_labels
from posekit.io.splits import split_labels
from posekit.io.writers import save_labels


def test_reaching_package_split_round_trips(shared_data, tmp_path):
    labels = load_labels(shared_data / "reaching.pkg.slp")
    _train, val = split_labels(labels, 0.1, seed=0)
    save_labels(val, tmp_path / "val.pkg.slp", embed="auto")
    back = load_labels(tmp_path / "val.pkg.slp")
    assert len(back.labeled_frames) == len(val.labeled_frames) == 6
    for a, b in zip(val.labeled_frames, back.labeled_frames):
        np.testing.assert_array_equal(a.image, b.image)
        np.testing.assert_allclose(a.instances[0].numpy(), b.instances[0].numpy())
    # the input's own source-video chain is left as it was
    assert labels.videos[0].source_video is not None
