"""Configured confidence-map sigma counts output-grid cells, as SLEAP / sleap-nn draw it."""

from __future__ import annotations

import math

import torch
import yaml

from posekit.config import init_config, load_config
from posekit.data.info import DataInfo
from posekit.model_types.registry import model_type_of


def _task(model_type: str, **head):
    cfg = load_config(yaml.safe_load(init_config(model_type)))
    for part, values in head.items():
        for key, value in values.items():
            setattr(getattr(cfg.model_config.active_head, part), key, value)
    info = DataInfo(node_names=("a", "b"), edges=((0, 1),), class_names=("x", "y"))
    return model_type_of(cfg.model_config, info)


def test_map_heads_draw_sigma_times_output_stride():
    task = _task("single_instance", confmaps={"sigma": 2.5, "output_stride": 4})
    assert task.heads[0].sigma == 10.0
    bottomup = _task("bottomup", confmaps={"sigma": 1.5, "output_stride": 2},
                     pafs={"sigma": 15.0, "output_stride": 4})
    sigmas = {h.key: h.sigma for h in bottomup.heads}
    assert sigmas == {"confmaps": 3.0, "pafs": 15.0}  # PAF sigma stays in input pixels
    identity = _task("multi_class_bottomup", class_maps={"sigma": 3.0, "output_stride": 2})
    assert {h.key: h.sigma for h in identity.heads}["class_maps"] == 6.0


def test_target_spread_matches_sleap_nn_definition():
    task = _task("single_instance", confmaps={"sigma": 2.5, "output_stride": 2})
    points = torch.tensor([[[[20.0, 20.0], [float("nan"), float("nan")]]]])
    maps = task.make_targets(points, torch.zeros(1, 1), (64, 64))["confmaps"]
    # output cell (row 10, col 13) is model-input x=26, y=20: 6 px from the point;
    # sleap-nn draws exp(-d^2 / (2 (sigma * stride)^2)) with sigma * stride = 5 px
    expected = math.exp(-36.0 / (2 * 5.0**2))
    assert abs(float(maps[0, 0, 10, 13]) - expected) < 1e-5
    assert float(maps[0, 1].abs().max()) == 0.0
