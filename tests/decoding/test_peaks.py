"""Tests for posekit.decoding.peaks: global / local peaks and sub-pixel refinement."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from posekit.data.targets import make_confmaps
from posekit.decoding.peaks import (
    find_global_peaks,
    find_local_peaks,
    find_peak_candidates,
    refine_peak_offsets,
)
from posekit.errors import ConfigError, DataError

NAN = float("nan")


def random_points(batch: int, n_nodes: int, stride: int, cells: int, seed: int) -> torch.Tensor:
    """Points at random sub-pixel positions, kept 8 cells away from the map edges."""
    gen = torch.Generator().manual_seed(seed)
    span = (cells - 16) * stride
    return torch.rand(batch, 1, n_nodes, 2, generator=gen) * span + 8 * stride


@pytest.mark.parametrize("stride", [1, 2, 4])
@pytest.mark.parametrize("sigma", [2.5, 5.0])
def test_integral_refinement_is_sub_pixel_accurate(stride, sigma):
    points = random_points(32, 4, stride, 40, seed=stride)
    maps = make_confmaps(points, (40, 40), stride, sigma)
    found, scores = find_global_peaks(maps, stride, refinement="integral")
    error = (found - points[:, 0]).abs().max().item()
    assert error < 0.05 * stride
    assert scores.min().item() > 0.2


@pytest.mark.parametrize("stride", [1, 2, 4])
@pytest.mark.parametrize("sigma", [1.0, 2.5, 5.0])
def test_local_refinement_is_exact_on_gaussians(stride, sigma):
    points = random_points(32, 4, stride, 40, seed=10 + stride)
    maps = make_confmaps(points, (40, 40), stride, sigma)
    found, _ = find_global_peaks(maps, stride, threshold=0.0, refinement="local")
    assert (found - points[:, 0]).abs().max().item() < 2e-3 * stride


def test_unrefined_peaks_land_on_the_nearest_cell():
    points = random_points(16, 3, 4, 40, seed=4)
    maps = make_confmaps(points, (40, 40), 4, 5.0)
    found, _ = find_global_peaks(maps, 4, refinement=None)
    assert torch.equal(found, torch.round(points[:, 0] / 4) * 4)


@pytest.mark.parametrize("refinement", ["integral", "local", None])
def test_points_on_grid_cells_round_trip_exactly(refinement):
    cells = torch.tensor([[[[3.0, 5.0], [10.0, 2.0], [7.0, 7.0]]]])
    points = cells * 4
    maps = make_confmaps(points, (12, 12), 4, 6.0)
    found, scores = find_global_peaks(maps, 4, refinement=refinement)
    assert (found - points[:, 0]).abs().max().item() < 1e-5
    assert torch.allclose(scores, torch.ones_like(scores))


def test_threshold_gives_nan_points_and_keeps_scores():
    maps = torch.zeros(1, 3, 6, 6)
    maps[0, 0, 2, 3] = 0.9
    maps[0, 1, 4, 1] = 0.1  # below the threshold
    found, scores = find_global_peaks(maps, 2, threshold=0.2, refinement=None)
    assert found[0, 0].tolist() == [6.0, 4.0]
    assert torch.isnan(found[0, 1]).all() and torch.isnan(found[0, 2]).all()
    assert scores[0].tolist() == pytest.approx([0.9, 0.1, 0.0])


def test_hand_made_refinements():
    maps = torch.zeros(1, 2, 9, 9)
    # A two-cell plateau: the peak lies half-way between the cells.
    maps[0, 0, 4, 4] = maps[0, 0, 4, 5] = 1.0
    # Values 0.5, 1, 0.25 along x: the log-parabola vertex is at
    # 0.5 * (ln 0.5 - ln 0.25) / (ln 0.5 - 2 ln 1 + ln 0.25) = -1/6.
    maps[0, 1, 4, 3], maps[0, 1, 4, 4], maps[0, 1, 4, 5] = 0.5, 1.0, 0.25
    idx = torch.tensor([0, 0]), torch.tensor([0, 1]), torch.tensor([4, 4]), torch.tensor([4, 4])
    local = refine_peak_offsets(maps, *idx, refinement="local")
    assert local[0].tolist() == pytest.approx([0.5, 0.0])
    assert local[1].tolist() == pytest.approx([-1 / 6, 0.0])
    integral = refine_peak_offsets(maps, *idx, refinement="integral")
    assert integral[0].tolist() == pytest.approx([0.5, 0.0])
    # Border level 0: centre of mass of 0.5 @ -1, 1 @ 0, 0.25 @ +1 = -0.25 / 1.75.
    assert integral[1].tolist() == pytest.approx([-0.25 / 1.75, 0.0])


@pytest.mark.parametrize("refinement", ["integral", "local"])
def test_peaks_near_the_map_edge_are_refined_without_bias(refinement):
    gen = torch.Generator().manual_seed(8)
    # Within 0.6 .. 4 cells of the left / top edges (windows there are cut by the edge).
    near = 0.6 + torch.rand(64, 1, 1, 2, generator=gen) * 3.4
    points = near * 2
    maps = make_confmaps(points, (24, 24), 2, 3.0)
    found, _ = find_global_peaks(maps, 2, refinement=refinement)
    assert (found - points[:, 0]).abs().max().item() < 0.05 * 2


def test_peaks_at_the_map_edge_stay_inside_their_cell():
    points = torch.tensor([[[[0.0, 10.3], [20.2, 0.0], [39.0, 39.0]]]])
    maps = make_confmaps(points, (40, 40), 1, 2.0)
    for refinement in ("integral", "local"):
        found, _ = find_global_peaks(maps, 1, refinement=refinement)
        assert (found - points[:, 0]).abs().max().item() <= 0.5


def test_local_peaks_find_every_instance():
    gen = torch.Generator().manual_seed(2)
    # Three instances on a 3 x 3 lattice of well-separated sites, per sample and node.
    sites = torch.tensor([[x, y] for x in (20.0, 60.0, 100.0) for y in (20.0, 60.0, 100.0)])
    points = torch.empty(2, 3, 2, 2)
    for b in range(2):
        for k in range(2):
            points[b, :, k] = sites[torch.randperm(9, generator=gen)[:3]]
    points = points + torch.rand(points.shape, generator=gen) * 4
    points[1, 2, 1] = NAN  # a missing point
    maps = make_confmaps(points, (32, 32), 4, 5.0)
    sample_idx, channel_idx, found, scores = find_local_peaks(maps, 4, threshold=0.2)
    assert len(scores) == 11
    for b in range(2):
        for k in range(2):
            sel = (sample_idx == b) & (channel_idx == k)
            truth = points[b, :, k]
            truth = truth[torch.isfinite(truth).all(dim=1)]
            assert int(sel.sum()) == len(truth)
            dist = torch.cdist(found[sel], truth)
            assert dist.min(dim=1).values.max().item() < 0.2


def test_local_peaks_on_plateaus_and_thresholds():
    maps = torch.zeros(2, 1, 8, 8)
    maps[0, 0, 2, 2:5] = 0.7  # a three-cell plateau gives one peak
    maps[0, 0, 6, 6] = 0.19  # below the threshold
    maps[1, 0, 1, 1] = 0.5
    maps[1, 0, 1, 3] = 0.6  # two cells apart: both survive a 3 x 3 NMS
    sample_idx, channel_idx, found, scores = find_local_peaks(maps, 2, 0.2, refinement=None)
    assert sample_idx.tolist() == [0, 1, 1]
    assert channel_idx.tolist() == [0, 0, 0]
    assert found.tolist() == [[8.0, 4.0], [2.0, 2.0], [6.0, 2.0]]
    assert scores.tolist() == pytest.approx([0.7, 0.5, 0.6])
    # A 5 x 5 window suppresses the weaker neighbour.
    _, _, found, _ = find_local_peaks(maps[1:], 2, 0.2, refinement=None, nms_kernel=5)
    assert found.tolist() == [[6.0, 2.0]]


@pytest.mark.parametrize("nms_kernel", [1, 3, 5])
def test_local_peaks_match_dense_max_pooling(nms_kernel):
    gen = torch.Generator().manual_seed(nms_kernel)
    maps = torch.rand(3, 4, 20, 24, generator=gen)  # continuous values: no exact ties
    sample_idx, channel_idx, points, scores = find_local_peaks(
        maps, 2, 0.5, refinement=None, nms_kernel=nms_kernel
    )
    pooled = torch.nn.functional.max_pool2d(maps, nms_kernel, 1, nms_kernel // 2)
    expected = ((maps == pooled) & (maps >= 0.5)).nonzero()
    found = torch.stack(
        [sample_idx, channel_idx, (points[:, 1] / 2).long(), (points[:, 0] / 2).long()], dim=1
    )
    assert torch.equal(found, expected)
    assert torch.equal(scores, maps[tuple(expected.T)])


def test_local_peaks_of_empty_maps():
    sample_idx, channel_idx, found, scores = find_local_peaks(torch.zeros(2, 3, 5, 5), 4)
    assert found.shape == (0, 2) and scores.shape == (0,) and sample_idx.shape == (0,)
    assert channel_idx.dtype == torch.long


def test_half_precision_maps_give_float32_points():
    points = torch.tensor([[[[13.3, 21.7]]]])
    maps = make_confmaps(points, (16, 16), 2, 3.0).half()
    found, scores = find_global_peaks(maps, 2)
    assert found.dtype == torch.float32 and scores.dtype == torch.float32
    assert (found[0, 0] - points[0, 0, 0]).abs().max().item() < 0.1


def test_bad_options_raise():
    maps = torch.zeros(1, 1, 4, 4)
    with pytest.raises(ConfigError, match="refinement"):
        find_global_peaks(maps, 1, refinement="quadratic")
    with pytest.raises(ConfigError, match="nms_kernel"):
        find_local_peaks(maps, 1, nms_kernel=2)
    with pytest.raises(ConfigError, match="integral_patch_size"):
        find_global_peaks(maps, 1, integral_patch_size=4)
    with pytest.raises(DataError, match="maps"):
        find_global_peaks(torch.zeros(4, 4), 1)


def test_peak_candidates_are_the_highest_local_maxima_best_first():
    """Three peaks of one channel (heights 1, 0.6, 0.3) and a lone peak in the other: the
    candidates are the local maxima in falling order at their sub-pixel positions, the first
    is the global peak, and the rest are below-threshold ``NaN`` points with score 0."""
    spots = torch.tensor([[[30.3, 40.7], [100.2, 60.1], [60.0, 110.5]]])  # (1, 3, 2)
    maps = make_confmaps(spots[:, None], (40, 40), 4, 5.0)  # one map per spot
    first = (maps[:, 0] + 0.6 * maps[:, 1] + 0.3 * maps[:, 2])[:, None]
    maps = torch.cat((first, maps[:, :1]), dim=1)  # channel 1: only the first spot
    points, scores = find_peak_candidates(maps, 4, n_candidates=4, threshold=0.2)
    assert points.shape == (1, 2, 4, 2) and scores.shape == (1, 2, 4)
    np.testing.assert_allclose(scores[0, 0, :3], [1.0, 0.6, 0.3], atol=0.08)  # cell values
    np.testing.assert_allclose(points[0, 0, :3], spots[0], atol=0.15)
    assert scores[0, 0, 3] == 0 and torch.isnan(points[0, 0, 3]).all()
    top, top_scores = find_global_peaks(maps, 4, 0.2)
    torch.testing.assert_close(points[:, :, 0], top)
    torch.testing.assert_close(scores[:, :, 0], top_scores)
    assert torch.isnan(points[0, 1, 1:]).all() and (scores[0, 1, 1:] == 0).all()
    with pytest.raises(ConfigError, match="n_candidates"):
        find_peak_candidates(maps, 4, n_candidates=0)


@pytest.mark.filterwarnings("ignore::UserWarning", "ignore::DeprecationWarning")
def test_peak_finders_export_to_onnx_with_dynamic_shapes(tmp_path):
    """The inference graph exports both finders; the exported ops must match eager mode."""
    ort = pytest.importorskip("onnxruntime")
    pytest.importorskip("onnx")

    class Finders(torch.nn.Module):
        def forward(self, maps: torch.Tensor, threshold: torch.Tensor):
            points, scores = find_global_peaks(maps, 4, threshold)
            return (points, scores, *find_local_peaks(maps, 4, threshold),
                    *find_peak_candidates(maps, 4, 3, threshold))

    example = make_confmaps(random_points(2, 3, 4, 40, seed=1), (40, 40), 4, 5.0)
    path = tmp_path / "finders.onnx"
    torch.onnx.export(
        Finders(),
        (example, torch.tensor(0.2)),
        str(path),
        input_names=["maps", "threshold"],
        dynamic_axes={"maps": {0: "batch", 1: "channels", 2: "height", 3: "width"}},
        dynamo=False,
    )
    other = make_confmaps(random_points(3, 2, 4, 48, seed=2), (48, 56), 4, 5.0)
    session = ort.InferenceSession(str(path))
    outputs = session.run(None, {"maps": other.numpy(), "threshold": np.array(0.2, np.float32)})
    expected = Finders()(other, torch.tensor(0.2))
    for got, want in zip(outputs, expected):
        np.testing.assert_allclose(got, want.numpy(), atol=1e-4)
