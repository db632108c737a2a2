"""ImageNet weights without network: a torchvision file already in the torch hub cache.

torchvision's ``WeightsEnum.get_state_dict`` goes through ``torch.hub.load_state_dict_from_url``,
which reads ``$TORCH_HOME/hub/checkpoints/<last part of the URL>`` when that file exists and
downloads only otherwise. These tests put a (small, fake) state dict under that name in a
temporary TORCH_HOME, make every download attempt fail, and check posekit uses the file.
"""

from __future__ import annotations

import os
import urllib.error
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import torch
import torchvision

from posekit.errors import ModelError
from posekit.models import pretrained
from posekit.models.pretrained import TORCHVISION_WEIGHTS, fetch_torchvision_state

from .model_heads import build

SMALL_CONVNEXT = {"depths": [1, 1, 1, 1], "channels": [8, 16, 32, 64]}


def cache_name(weights_name: str) -> str:
    """The file name torchvision's hub cache uses for ``weights_name``'s default weights."""
    url = getattr(torchvision.models, weights_name).DEFAULT.url
    return url.rsplit("/", 1)[-1]


@dataclass
class OfflineHub:
    """The hub's checkpoints folder and the URLs something tried to download."""

    checkpoints: Path
    attempts: list[str] = field(default_factory=list)


@pytest.fixture
def offline_hub(tmp_path, monkeypatch) -> OfflineHub:
    """An empty hub cache under a temporary TORCH_HOME, with every download failing."""
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    monkeypatch.delenv("XDG_CACHE_HOME", raising=False)
    monkeypatch.setattr(torch.hub, "_hub_dir", None)  # in case torch.hub.set_dir was called
    hub = OfflineHub(tmp_path / "torch" / "hub" / "checkpoints")

    def no_network(url, *args, **kwargs):
        hub.attempts.append(url)
        raise urllib.error.URLError("network disabled in this test")

    monkeypatch.setattr(torch.hub, "download_url_to_file", no_network)
    hub.checkpoints.mkdir(parents=True)
    assert Path(torch.hub.get_dir()) == hub.checkpoints.parent
    return hub


@pytest.mark.parametrize("name", sorted(TORCHVISION_WEIGHTS))
def test_every_supported_weights_name_reads_its_cache_file(offline_hub, name):
    marker = {"marker": torch.tensor([float(len(name))])}
    torch.save(marker, offline_hub.checkpoints / cache_name(name))
    state = fetch_torchvision_state(name)
    assert torch.equal(state["marker"], marker["marker"])
    assert offline_hub.attempts == []


def test_build_model_uses_the_cached_file_with_no_network(offline_hub, model_config, monkeypatch):
    small = [
        torchvision.models.convnext.CNBlockConfig(8, 16, 1),
        torchvision.models.convnext.CNBlockConfig(16, 32, 1),
        torchvision.models.convnext.CNBlockConfig(32, 64, 1),
        torchvision.models.convnext.CNBlockConfig(64, None, 1),
    ]
    torch.manual_seed(0)
    tv_state = torchvision.models.convnext.ConvNeXt(small).state_dict()
    torch.save(tv_state, offline_hub.checkpoints / cache_name("ConvNeXt_Tiny_Weights"))
    # A small ConvNeXt stands in for Tiny so the test stays fast; the lookup is by name.
    monkeypatch.setitem(TORCHVISION_WEIGHTS, "ConvNeXt_Tiny_Weights", ("convnext", SMALL_CONVNEXT))

    config = model_config(
        "single_instance",
        backbone="convnext",
        in_channels=3,
        pre_trained_weights="ConvNeXt_Tiny_Weights",
    )
    model = build(config, {"confmaps": 2})

    assert offline_hub.attempts == []
    (report,) = model.weight_reports
    assert report.missing == []
    assert {name for name, _ in report.skipped} == {"classifier.2.weight", "classifier.2.bias"}
    backbone = model.backbone.state_dict()
    for name in ("features.0.0.weight", "features.3.0.block.0.weight", "features.7.0.layer_scale"):
        assert torch.equal(backbone[name], tv_state[name]), name
    assert torch.equal(backbone["norm.weight"], tv_state["classifier.0.weight"])


def test_missing_cache_file_offline_names_url_and_folder(offline_hub):
    name = "Swin_T_Weights"
    with pytest.raises(ModelError) as info:
        pretrained.fetch_torchvision_state(name)
    message = str(info.value)
    assert cache_name(name) in message
    assert str(offline_hub.checkpoints) in message
    assert "set pre_trained_weights: null" in message
    assert offline_hub.attempts == [getattr(torchvision.models, name).DEFAULT.url]
    # the failed attempt leaves nothing behind that a later run could mistake for the file
    assert os.listdir(offline_hub.checkpoints) == []


def test_truncated_cache_file_is_a_clear_error(offline_hub):
    name = "ConvNeXt_Tiny_Weights"
    path = offline_hub.checkpoints / cache_name(name)
    torch.save({"w": torch.zeros(1000)}, path)
    path.write_bytes(path.read_bytes()[:200])
    with pytest.raises(ModelError, match="not a readable weights file") as info:
        fetch_torchvision_state(name)
    assert str(path) in str(info.value) and "delete it" in str(info.value)
    assert offline_hub.attempts == []


class _RunsCode:
    def __reduce__(self):
        return (os.getcwd, ())


def test_a_cache_file_that_would_run_code_is_refused(offline_hub):
    name = "Swin_T_Weights"
    path = offline_hub.checkpoints / cache_name(name)
    torch.save({"payload": _RunsCode()}, path)
    with pytest.raises(ModelError, match="not a readable weights file"):
        fetch_torchvision_state(name)
    assert offline_hub.attempts == []
