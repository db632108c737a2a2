"""The YAML ``auto_config`` writes: loads cleanly, comments match values, no overwrite."""

from __future__ import annotations

import re
import warnings

import pytest
import yaml

from posekit.autoconfig import choices as rules
from posekit.autoconfig.api import auto_config
from posekit.autoconfig.commented_yaml import apply_settings, render_commented_yaml
from posekit.autoconfig.plan import BACKBONE, get_path
from posekit.config import config_to_dict, load_config
from posekit.errors import ConfigError


def _comments(text: str) -> dict[str, str]:
    """Dotted path -> comment (continuation lines joined) of a file written by auto."""
    out: dict[str, str] = {}
    stack: list[tuple[int, str]] = []
    last = None
    for line in text.splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        if line.lstrip().startswith("#") and last is not None:
            out[last] += " " + line.split("#", 1)[1].strip()
            continue
        indent = len(line) - len(line.lstrip())
        key = line.strip().split(":", 1)[0]
        while stack and stack[-1][0] >= indent:
            stack.pop()
        path = ".".join([k for _, k in stack] + [key])
        stack.append((indent, key))
        last = None
        if "  # " in line:
            out[path] = line.split("  # ", 1)[1].strip()
            last = path
    return out


@pytest.fixture(scope="module")
def written(tiny_single, tmp_path_factory):
    out = tmp_path_factory.mktemp("auto") / "auto.yaml"
    result = auto_config(tiny_single, budget_s=120.0, output=out, device="cpu", timing_s=0.05)
    return result, out


def test_loads_with_no_warnings_and_equal_values(written) -> None:
    result, path = written
    stage = result.stages[0]
    assert stage.path == path and path.is_file()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        cfg = load_config(path)
    assert cfg.ignored_fields == []
    data = config_to_dict(cfg)
    for setting in stage.settings:
        assert get_path(data, setting.path) == setting.value, setting.path


def test_every_comment_number_matches_its_value(written) -> None:
    result, path = written
    stage = result.stages[0]
    text = path.read_text()
    comments = _comments(text)
    assert set(comments) == {s.path for s in stage.settings}
    data = yaml.safe_load(text)
    head = f"model_config.head_configs.{stage.plan.head_type}.confmaps"
    stride = get_path(data, f"{BACKBONE}.max_stride")
    rf = rules.receptive_field(stride, get_path(data, f"{BACKBONE}.output_stride"))
    m = re.match(r"receptive field (\d+) px (?:covers|is within 10% of) the animal's p90 "
                 r"size (\d+) px", comments[f"{BACKBONE}.max_stride"])
    assert m and int(m[1]) == rf and int(m[1]) >= rules.RF_COVER * int(m[2])
    scale = get_path(data, "data_config.preprocessing.scale")
    assert int(m[2]) == round(result.facts.size.p90 * scale)
    sigma = get_path(data, f"{head}.sigma")
    px = float(re.match(r"([\d.]+) model px", comments[f"{head}.sigma"])[1])
    assert px == pytest.approx(sigma * get_path(data, f"{head}.output_stride"), abs=0.01)
    rot = get_path(data, "data_config.augmentation_config.geometric.rotation_max")
    assert comments["data_config.augmentation_config.geometric.rotation_max"].startswith(
        f"±{rot:g} deg")
    batch = get_path(data, "trainer_config.train_data_loader.batch_size")
    lr_comment = comments["trainer_config.optimizer.lr"]
    assert f"batch {batch}" in lr_comment
    assert batch <= rules.CPU_BATCH  # timed on this machine's CPU
    assert get_path(data, "trainer_config.optimizer.lr") == pytest.approx(1e-3 * max(batch, 8) / 8)
    epochs = get_path(data, "trainer_config.max_epochs")
    steps = get_path(data, "trainer_config.train_steps_per_epoch")
    assert comments["trainer_config.max_epochs"].startswith(f"{epochs} x {steps} steps")
    assert "posekit train" in text and "--budget 2m" in text


def test_budget_is_filled_but_not_exceeded(written) -> None:
    result, _ = written
    stage = result.stages[0]
    data = yaml.safe_load(stage.text)
    steps = (get_path(data, "trainer_config.max_epochs")
             * get_path(data, "trainer_config.train_steps_per_epoch"))
    used = steps * stage.step.seconds
    assert used <= 0.9 * 120.0 + 1e-6
    assert used > 0.9 * 120.0 - stage.step.seconds * get_path(
        data, "trainer_config.train_steps_per_epoch") - 1e-6


def test_round_trip(written) -> None:
    result, path = written
    stage = result.stages[0]
    again = render_commented_yaml(apply_settings(stage.plan.template, stage.settings),
                                  {s.path: s.reason for s in stage.settings},
                                  [line[2:] for line in stage.text.splitlines()
                                   if line.startswith("# ") and not line.startswith("#   ")])
    assert yaml.safe_load(again) == yaml.safe_load(path.read_text())
    first = config_to_dict(load_config(path))
    assert config_to_dict(load_config(first)) == first


def test_refuses_to_overwrite_then_force(written, tiny_single) -> None:
    _, path = written
    before = path.read_text()
    with pytest.raises(ConfigError, match="already exists.*--force"):
        auto_config(tiny_single, output=path, device="cpu", timing_s=0.05)
    assert path.read_text() == before
    result = auto_config(tiny_single, output=path, force=True, device="cpu", timing_s=0.05,
                         preview=False)
    assert "--budget" not in result.stages[0].text  # no budget this time
    assert path.read_text() != before


def test_preview_png_written(written) -> None:
    result, path = written
    assert result.preview == path.with_name("auto.preview.png")
    assert result.preview.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_sidecar_turns_foreground_weighting_on(written) -> None:
    from posekit.refinement.frame_weights import read_sidecar
    from posekit.training.foreground import ForegroundSettings, read_foreground

    result, path = written
    side = path.with_name("auto.posekit.yaml")
    assert result.stages[0].sidecar == side and side.is_file()
    assert read_foreground(side) == ForegroundSettings()
    assert read_sidecar(side) is None  # no frame weights, and the section is accepted
    text = side.read_text()
    assert "step 140" in text and "step 60" in text and "auto.yaml" in text


def test_an_existing_sidecar_alone_is_not_overwritten(tiny_single, tmp_path) -> None:
    side = tmp_path / "cfg.posekit.yaml"
    side.write_text("frame_weights:\n  source: ila.csv\n")
    with pytest.raises(ConfigError, match="cfg.posekit.yaml.*already exists"):
        auto_config(tiny_single, output=tmp_path / "cfg.yaml", device="cpu", timing_s=0.05,
                    preview=False)
    assert side.read_text() == "frame_weights:\n  source: ila.csv\n"
    assert not (tmp_path / "cfg.yaml").exists()


def test_lite0_backbone_takes_the_unets_place(written, tiny_single, tmp_path) -> None:
    _, unet_path = written
    out = tmp_path / "lite0.yaml"
    result = auto_config(tiny_single, budget_s=120.0, output=out, device="cpu", timing_s=0.05,
                         preview=False, backbone="efficientnet_lite0")
    cfg = load_config(out)
    lite0 = cfg.model_config.active_backbone
    assert cfg.model_config.backbone_type == "efficientnet_lite0"
    assert lite0.pre_trained_weights == "imagenet"
    unet = load_config(unet_path).model_config.active_backbone
    assert (lite0.output_stride, lite0.in_channels) == (unet.output_stride, unet.in_channels)
    # max_stride follows the same 90 % rule with the Lite0 encoder's own field
    comment = _comments(out.read_text())["model_config.backbone_config.efficientnet_lite0"
                                         ".max_stride"]
    field = int(re.search(r"receptive field (\d+) px", comment).group(1))
    assert field == rules.lite0_receptive_field(lite0.max_stride, lite0.output_stride)
    animal = result.stages[0].plan.animal_px
    assert field >= rules.RF_COVER * animal
    if lite0.max_stride > 8:
        assert rules.lite0_receptive_field(lite0.max_stride // 2, lite0.output_stride) < (
            rules.RF_COVER * animal)
    assert result.stages[0].plan.backbone == "efficientnet_lite0"
    # the UNet file never mentions the posekit-only backbone: sleap-nn reads it
    assert "efficientnet_lite0" not in unet_path.read_text()
    with pytest.raises(ConfigError, match="backbone 'resnet'"):
        auto_config(tiny_single, output=tmp_path / "x.yaml", backbone="resnet")
