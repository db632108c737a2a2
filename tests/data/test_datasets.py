"""Datasets and image stores: samples, crops, caches and their bookkeeping."""

from __future__ import annotations

import numpy as np
import pytest
import sleap_io as sio
import torch

from posekit.data.datasets import (
    FrameDataset,
    InstanceDataset,
    augmentation_margin,
    center_crop,
)
from posekit.data.image_store import ImageStore, measure_frame_sizes
from posekit.data.preprocessing import PreprocessingParams
from posekit.errors import ConfigError, DataError
from posekit.io.frames import FrameTable


@pytest.fixture(scope="module")
def pair_table(synth_pair) -> FrameTable:
    return FrameTable.from_labels(sio.load_slp(str(synth_pair)))


def _store(table, mode="torch_dataset_cache_img_memory", scale=1.0, **kw) -> ImageStore:
    prep = PreprocessingParams(scale=scale, max_stride=8)
    sizes = measure_frame_sizes(table)
    return ImageStore(table, prep, prep.plan_input_size(map(tuple, sizes)), sizes, mode=mode, **kw)


def test_frame_samples_map_points_into_the_model_input(pair_table):
    store = _store(pair_table, scale=0.5)
    ds = FrameDataset(store, class_names=("animal_1", "animal_0"))
    sample = ds[3]
    assert sample.image.dtype == torch.uint8 and sample.image.shape == (1, 48, 48)
    record = pair_table[3]
    expected = (record.points + 0.5) * 0.5 - 0.5
    np.testing.assert_allclose(sample.points[: len(expected)].numpy(), expected, atol=1e-5)
    names = [pair_table.track_names[t] for t in record.track_idx]
    expected_classes = [("animal_1", "animal_0").index(n) for n in names]
    assert sample.classes[: len(names)].tolist() == expected_classes


def test_instance_samples_are_centred_on_the_anchor(pair_table):
    store = _store(pair_table)
    ds = InstanceDataset(store, crop_size=32, window=48, anchor_index=None)
    assert len(ds) == int(pair_table.instance_counts.sum())
    sample = ds[5]
    assert sample.image.shape == (1, 48, 48) and sample.points.shape[:2] == (1, 8)
    pts = sample.points[0].numpy()
    vis = pts[np.isfinite(pts).all(axis=1)]
    centre = (vis.min(axis=0) + vis.max(axis=0)) / 2
    # The anchor (bbox midpoint) sits within half a pixel of the window centre.
    assert np.abs(centre - (48 - 1) / 2).max() <= 0.5 + 1e-6
    images, points = center_crop(sample.image[None].float(), sample.points[None], 32)
    assert images.shape[-1] == 32
    np.testing.assert_allclose(points[0, 0].numpy(), pts - 8, atol=1e-6)


def test_center_crop_marks_points_outside_missing():
    images = torch.zeros(1, 1, 10, 10)
    points = torch.tensor([[[[1.0, 1.0], [5.0, 5.0]]]])
    _, out = center_crop(images, points, 6)
    assert torch.isnan(out[0, 0, 0]).all() and out[0, 0, 1].tolist() == [3.0, 3.0]


def test_augmentation_margin_keeps_parity_and_covers_rotation():
    assert augmentation_margin(64, rotation=False, scale_min=1.0) == 64
    window = augmentation_margin(64, rotation=True, scale_min=0.9)
    assert window >= 64 * 2 ** 0.5 / 0.9 and (window - 64) % 2 == 0


def _count_decodes(table: FrameTable, monkeypatch) -> list[int]:
    """The indices of the frames ``table`` decodes from now on, in order."""
    calls: list[int] = []
    original = table.read_image

    def counting(i):
        calls.append(i)
        return original(i)

    monkeypatch.setattr(table, "read_image", counting)
    return calls


def test_disk_cache_round_trip_and_reuse(pair_table, tmp_path, monkeypatch):
    memory = _store(pair_table)
    sizes = measure_frame_sizes(pair_table)  # embedded frames: measured by decoding them
    prep = PreprocessingParams(max_stride=8)
    model_size = prep.plan_input_size(map(tuple, sizes))
    decoded = _count_decodes(pair_table, monkeypatch)

    def disk(cache, **kw):
        return ImageStore(pair_table, prep, model_size, sizes,
                          mode="torch_dataset_cache_img_disk", cache_dir=cache, **kw)

    store = disk(tmp_path / "c")
    # Building the cache decodes every frame once and writes one file per frame.
    assert decoded == list(range(len(pair_table)))
    assert len(list((tmp_path / "c").glob("*.npy"))) == len(pair_table)
    assert (tmp_path / "c" / "manifest.json").is_file()
    for i in range(len(pair_table)):
        np.testing.assert_array_equal(np.asarray(store.image(i)), memory.image(i))
    # Reading and reusing the cache decodes nothing: the pixels come from the cache files.
    decoded.clear()
    again = disk(tmp_path / "c", use_existing=True)
    np.testing.assert_array_equal(np.asarray(again.image(2)), memory.image(2))
    cached = tmp_path / "c" / "0000002.npy"
    np.save(cached, np.full_like(np.load(cached), 77))  # a cache file that differs from its frame
    assert np.all(np.asarray(again.image(2)) == 77)
    assert np.all(np.asarray(disk(tmp_path / "c", use_existing=True).image(2)) == 77)
    assert decoded == []
    with pytest.raises(DataError, match="other preprocessing"):
        _store(pair_table, mode="torch_dataset_cache_img_disk", scale=0.5,
               cache_dir=tmp_path / "c", use_existing=True)
    with pytest.raises(DataError, match="no image cache"):
        _store(pair_table, mode="torch_dataset_cache_img_disk", cache_dir=tmp_path / "none",
               use_existing=True)
    (tmp_path / "c" / "0000005.npy").unlink()
    with pytest.raises(DataError, match="1 cached images are missing"):
        disk(tmp_path / "c", use_existing=True)
    # Without use_existing the cache is rebuilt from the frames.
    decoded.clear()
    rebuilt = disk(tmp_path / "c")
    assert decoded == list(range(len(pair_table)))
    np.testing.assert_array_equal(np.asarray(rebuilt.image(2)), memory.image(2))
    store.delete_disk_cache()
    assert not (tmp_path / "c").exists()


def test_lru_mode_decodes_once_and_respects_its_budget(pair_table, monkeypatch):
    calls = _count_decodes(pair_table, monkeypatch)
    sizes = np.tile(np.array([[96, 96]]), (len(pair_table), 1))
    prep = PreprocessingParams(max_stride=8)
    store = ImageStore(pair_table, prep, (96, 96), sizes, mode="torch_dataset")
    store.image(1), store.image(1), store.image(2)
    assert calls == [1, 2]
    small = ImageStore(pair_table, prep, (96, 96), sizes, mode="torch_dataset",
                       lru_bytes=96 * 96 + 1)
    small.image(1), small.image(2), small.image(1)
    assert calls[2:] == [1, 2, 1]  # only one frame fits: 1 was evicted by 2


def test_unknown_pipeline_mode_is_a_config_error(pair_table):
    with pytest.raises(ConfigError, match="data_pipeline_fw"):
        _store(pair_table, mode="tf_dataset")
