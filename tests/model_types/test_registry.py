"""Every registered model type works with every consumer of the model-type description.

The list of types comes from the registry, so a new type is checked by these tests as soon
as it is registered: the config schema and templates know it, the network builds from its
heads, its targets fit its outputs and give a finite loss, its dense decoding returns what
it declares and traces into the inference graph, its predictor (or first stage) turns the
graph's outputs into instances, its preview draws, and legacy SLEAP files convert to it.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
import yaml

from posekit.config import HEAD_TYPES, convert_legacy_config, init_config, load_config
from posekit.data.info import DataInfo
from posekit.data.preprocessing import PreprocessingParams
from posekit.errors import ConfigError, ModelError
from posekit.inference.graph import InferenceGraph
from posekit.inference.pipeline import InferenceSettings
from posekit.model_types.base import ModelType
from posekit.model_types.registry import MODEL_TYPES, model_type_class, model_type_of
from posekit.models import build_model

TYPES = sorted(MODEL_TYPES)
INFO = DataInfo(node_names=("nose", "body", "tail"), edges=((0, 1), (1, 2)),
                class_names=("a", "b"), anchor_index=1, crop_size=64)


def bound(name: str) -> tuple[ModelType, object]:
    """The type bound to its template's head config, and the template's model config."""
    cfg = load_config(yaml.safe_load(init_config(name)))
    unet = cfg.model_config.backbone_config.unet
    unet.filters, unet.max_stride, unet.in_channels = 4, 16, 1
    return model_type_of(cfg.model_config, INFO), cfg.model_config


class Run:
    """What predictors read from a run folder."""

    def __init__(self, info: DataInfo) -> None:
        self.path = Path("run")
        self.info = info
        self.prep = PreprocessingParams(max_stride=16)


class GraphBackend:
    """A backend running an :class:`InferenceGraph` eagerly (no run folder needed)."""

    name = "torch"

    def __init__(self, graph: InferenceGraph) -> None:
        self.graph = graph
        self.output_names = graph.output_names

    def run(self, images: np.ndarray, threshold: float) -> dict[str, np.ndarray]:
        with torch.inference_mode():
            out = self.graph(torch.from_numpy(images), torch.tensor(float(threshold)))
        return {k: v.numpy() for k, v in zip(self.output_names, out, strict=True)}


def test_registry_and_config_schema_list_the_same_types():
    assert set(MODEL_TYPES) == set(HEAD_TYPES)
    for name, cls in MODEL_TYPES.items():
        assert cls.name == name
        assert cls.stage in ("alone", "centroids", "instances")


def test_an_unknown_type_fails_loudly_in_one_place():
    with pytest.raises(ConfigError, match="unknown model type; expected one of single_instance"):
        model_type_class("topdown")


@pytest.mark.filterwarnings("ignore::torch.jit.TracerWarning", "ignore::FutureWarning")
@pytest.mark.parametrize("name", TYPES)
def test_network_targets_loss_and_decoding(name):
    model_type, model_config = bound(name)
    torch.manual_seed(0)
    model = build_model(model_config, model_type.heads, input_size=(64, 64), pretrained=False)
    images = torch.rand(2, 1, 64, 64)
    outputs = model(images)
    assert list(outputs) == [h.key for h in model_type.heads]
    points = torch.tensor([[[[20.0, 20.0], [32.0, 30.0], [44.0, 40.0]]]] * 2)
    classes = torch.tensor([[0], [1]])
    targets = model_type.make_targets(points, classes, (64, 64))
    assert set(targets) == set(outputs)
    for head in model_type.heads:
        if head.loss != "cross_entropy":
            assert targets[head.key].shape == outputs[head.key].shape, head.key
    loss, parts = model_type.loss(outputs, targets)
    assert torch.isfinite(loss) and set(parts) == set(outputs)
    decoded = model_type.decode(outputs, torch.tensor(0.0), "integral", 5)
    assert len(decoded) == len(model_type.graph_outputs)
    graph = InferenceGraph(model, model_type).eval()
    assert graph.output_names == model_type.graph_outputs
    traced = torch.jit.trace(graph, (images, torch.tensor(0.0)), check_trace=False)
    assert len(traced(images, torch.tensor(0.0))) == len(model_type.graph_outputs)


@pytest.mark.parametrize("name", TYPES)
def test_predictor_or_first_stage_from_the_graph_outputs(name):
    model_type, model_config = bound(name)
    torch.manual_seed(0)
    model = build_model(model_config, model_type.heads, input_size=(64, 64), pretrained=False)
    backend = GraphBackend(InferenceGraph(model, model_type).eval())
    settings = InferenceSettings(peak_threshold=0.0, max_instances=2, batch_size=2)
    frames = np.random.default_rng(0).integers(0, 255, (2, 64, 64, 1), dtype=np.uint8)
    run = Run(INFO)
    if model_type.stage == "centroids":
        finder = model_type.make_finder(run, backend, settings)
        centers, _scores = finder(frames)
        assert len(centers) == 2 and all(c.shape[1] == 2 and len(c) <= 2 for c in centers)
        with pytest.raises(ModelError, match="first stage of top-down"):
            model_type.make_predictor(run, backend, settings)
        return
    predictor = model_type.make_predictor(run, backend, settings)
    assert predictor.has_classes == model_type.has_classes
    centroids = ({"centroids": [np.array([[32.0, 32.0]]), np.zeros((0, 2))]}
                 if model_type.stage == "instances" else {})
    preds = predictor.predict_frames(frames, np.array([5, 6]),
                                     prepared=predictor.prepare(frames), **centroids)
    assert [p.frame_idx for p in preds] == [5, 6]
    for p in preds:
        assert p.points.shape[1:] == (3, 2) and len(p.points) <= 2
        assert (p.classes is not None) == model_type.has_classes
    if model_type.stage == "instances":
        assert len(preds[0].points) == 1 and len(preds[1].points) == 0


@pytest.mark.parametrize("name", TYPES)
def test_preview_draws_a_map_and_points(name):
    model_type, model_config = bound(name)
    model = build_model(model_config, model_type.heads, input_size=(64, 64), pretrained=False)
    points = torch.tensor([[[[20.0, 20.0], [32.0, 30.0], [44.0, 40.0]]]])
    heat, stride, pred, true = model_type.preview(model(torch.rand(1, 1, 64, 64)), points)
    assert heat.ndim == 2 and stride == model_type.primary.stride
    assert pred.shape[-1] == true.shape[-1] == 2
    expected = [[32.0, 30.0]] if model_type.stage == "centroids" else points[0, 0].tolist()
    np.testing.assert_allclose(true, expected)


@pytest.mark.parametrize("name", TYPES)
def test_legacy_sleap_config_converts_to_the_type(name, tmp_path):
    cls = MODEL_TYPES[name]
    blocks = {h.block for h in bound(name)[0].heads}
    legacy_name = "multi_instance" if name == "bottomup" else name
    body = {"sigma": 2.5, "output_stride": 4}
    # the identity classifier reads the deepest features: its stride is the max stride
    head = body if blocks == {"confmaps"} else {
        b: (dict(body, output_stride=16) if b == "class_vectors" else dict(body))
        for b in blocks}
    data = {"model": {"backbone": {"unet": {"filters": 16, "max_stride": 16}},
                      "heads": {legacy_name: head}},
            "data": {"instance_cropping": {"center_on_part": "body"}}}
    path = tmp_path / "training_config.json"
    path.write_text(json.dumps(data))
    cfg = convert_legacy_config(path)
    assert cfg.model_config.head_type == cls.name
    confmaps = cfg.model_config.active_head.confmaps
    assert confmaps.sigma == 2.5 and confmaps.output_stride == 4
    if hasattr(confmaps, "anchor_part"):
        assert confmaps.anchor_part == "body"


def test_model_types_and_the_onnx_track_path_import_no_torch():
    """``posekit track`` on ONNX Runtime must never import torch (~600 MB of memory)."""
    modules = ["posekit.model_types.registry", "posekit.inference.pipeline",
               "posekit.inference.run_folder", "posekit.inference.backends",
               "posekit.inference.labels_builder", "posekit.inference.track_postpass",
               "posekit.cli.main", "posekit.cli.track_cmd", "posekit.io.sources",
               *(f"posekit.decoding.{m}" for m in ("predictors", "predictors_topdown",
                                                   "predictors_bottomup", "grouping",
                                                   "paf_grouping", "class_map_grouping",
                                                   "identity"))]
    code = ("import sys\n" + "".join(f"import {m}\n" for m in modules)
            + "print(sorted(m for m in sys.modules if m.split('.')[0] == 'torch'))\n")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            timeout=120, check=False)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"
