"""The real files: sleap-nn's sample configs, a sleap-nn run config, the guides' samples."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest
import yaml

from posekit.config import InvalidConfigError, load_config, save_config
from posekit.config.overrides import merge_into

from .guide_blocks import guide_blocks

UNSUPPORTED_SAMPLES = {
    "config_bottomup_segmentation_pretrained.yaml": [
        "model_config.backbone_config.pretrained",
        "model_config.head_configs.bottomup_segmentation",
    ],
    "config_bottomup_segmentation_unet.yaml": ["model_config.head_configs.bottomup_segmentation"],
    "config_semantic_segmentation_unet.yaml": ["model_config.head_configs.semantic_segmentation"],
    "config_topdown_centered_instance_segmentation_unet.yaml": [
        "model_config.head_configs.centered_instance_segmentation"
    ],
}

EXPECTED_MODELS = {
    "config_bottomup_convnext.yaml": ("bottomup", "convnext"),
    "config_bottomup_unet_large_rf.yaml": ("bottomup", "unet"),
    "config_bottomup_unet_medium_rf.yaml": ("bottomup", "unet"),
    "config_centroid_swint.yaml": ("centroid", "swint"),
    "config_centroid_unet.yaml": ("centroid", "unet"),
    "config_centroid_unet_standalone.yaml": ("centroid", "unet"),
    "config_multi_class_bottomup_unet.yaml": ("multi_class_bottomup", "unet"),
    "config_single_instance_unet_large_rf.yaml": ("single_instance", "unet"),
    "config_single_instance_unet_medium_rf.yaml": ("single_instance", "unet"),
    "config_topdown_centered_instance_unet_large_rf.yaml": ("centered_instance", "unet"),
    "config_topdown_centered_instance_unet_medium_rf.yaml": ("centered_instance", "unet"),
    "config_topdown_multi_class_centered_instance_unet.yaml": ("multi_class_topdown", "unet"),
}


def test_all_sixteen_sample_configs_are_known(shared_data: Path) -> None:
    names = {p.name for p in (shared_data / "sleap_nn_configs" / "sample_configs").glob("*.yaml")}
    assert names == set(EXPECTED_MODELS) | set(UNSUPPORTED_SAMPLES)
    assert len(names) == 16


@pytest.mark.parametrize("name", sorted(EXPECTED_MODELS))
def test_sample_configs_load_unchanged(shared_data: Path, tmp_path: Path, name: str) -> None:
    path = shared_data / "sleap_nn_configs" / "sample_configs" / name
    before = path.read_bytes()
    cfg = load_config(path)
    assert (cfg.model_config.head_type, cfg.model_config.backbone_type) == EXPECTED_MODELS[name]
    assert "data_config.use_same_data_for_val" in cfg.ignored_fields
    assert path.read_bytes() == before
    assert load_config(save_config(cfg, tmp_path / name)) == cfg


@pytest.mark.parametrize("name", sorted(UNSUPPORTED_SAMPLES))
def test_segmentation_and_pretrained_samples_are_not_supported(
    shared_data: Path, name: str
) -> None:
    with pytest.raises(InvalidConfigError) as info:
        load_config(shared_data / "sleap_nn_configs" / "sample_configs" / name)
    problems = info.value.problems
    assert [p.split(":")[0] for p in problems] == UNSUPPORTED_SAMPLES[name]
    assert all("not supported by posekit" in p for p in problems)
    assert name in str(info.value)


def test_sample_config_values(shared_data: Path) -> None:
    folder = shared_data / "sleap_nn_configs" / "sample_configs"
    convnext = load_config(folder / "config_bottomup_convnext.yaml")
    head = convnext.model_config.head_configs.bottomup
    assert (head.confmaps.sigma, head.pafs.sigma, head.pafs.output_stride) == (1.5, 50.0, 4)
    assert convnext.model_config.init_weights == "xavier"
    assert convnext.trainer_config.seed == 42
    topdown = load_config(folder / "config_topdown_multi_class_centered_instance_unet.yaml")
    vectors = topdown.model_config.head_configs.multi_class_topdown.class_vectors
    assert vectors.output_stride == topdown.model_config.active_backbone.max_stride
    assert load_config(folder / "config_centroid_swint.yaml").trainer_config.wandb.api_key is None


def test_config_written_by_sleap_nn_loads(shared_data: Path, tmp_path: Path) -> None:
    path = shared_data / "sleap_nn_configs" / "reaching_single_instance.training_config.yaml"
    cfg = load_config(path)
    data, trainer = cfg.data_config, cfg.trainer_config
    assert data.train_labels_path == ["reaching_train.pkg.slp"]
    assert data.preprocessing.ensure_grayscale and data.preprocessing.scale == 0.5
    assert (data.preprocessing.max_height, data.preprocessing.max_width) == (747, 832)
    assert [n["name"] for n in data.skeletons[0]["nodes"]] == [
        "Hand",
        "Finger1",
        "Tongue",
        "Joystick1",
        "Joystick2",
    ]
    geometric = data.augmentation_config.geometric
    assert (geometric.rotation_p, geometric.scale_p, geometric.translate_p) == (1.0, 1.0, None)
    assert cfg.model_config.total_params == 1953237
    assert cfg.model_config.head_configs.single_instance.confmaps.part_names[0] == "Hand"
    assert (trainer.ckpt_dir, trainer.run_name) == ("models", "reaching_single_instance")
    assert (trainer.zmq.publish_port, trainer.zmq.controller_port) == (9001, 9000)
    assert trainer.lr_scheduler.reduce_lr_on_plateau.threshold_mode == "abs"
    assert cfg.sleap_nn_version == "0.3.5"
    for field in (
        "data_config.use_same_data_for_val",
        "data_config.preprocessing.tiling",
        "trainer_config.wandb.current_run_id",
        "trainer_config.eval",
        "trainer_config.model_ckpt.monitor",
        "trainer_config.viz_img_format",
    ):
        assert field in cfg.ignored_fields
    assert "model_config.total_params" not in cfg.ignored_fields
    assert load_config(save_config(cfg, tmp_path / "c.yaml")) == cfg


def test_initial_config_handed_to_sleap_nn_loads(shared_data: Path) -> None:
    folder = shared_data / "sleap_nn_configs"
    initial = load_config(folder / "reaching_single_instance.initial_config.yaml")
    written = load_config(folder / "reaching_single_instance.training_config.yaml")
    assert initial.model_config.head_type == written.model_config.head_type == "single_instance"
    assert initial.trainer_config.max_epochs == written.trainer_config.max_epochs


# --------------------------------------------------------------- the guides' samples

BASE = {
    "data_config": {"train_labels_path": ["path/to/train.slp"]},
    "model_config": {"backbone_config": {"unet": {}}, "head_configs": {"single_instance": {}}},
}


def _complete(block: dict) -> dict:
    """A guide block placed over a minimal complete config (the guide's own defaults)."""
    data = copy.deepcopy(BASE)
    assert merge_into(data, block) == []
    return data


def test_every_guide_sample_validates(seeds: Path) -> None:
    blocks = guide_blocks(seeds)
    assert set(blocks) == {p.name for p in seeds.glob("00[34]_*.txt")}
    checked = 0
    for name, found in blocks.items():
        assert len(found) >= 25, f"{name}: only {len(found)} sample blocks found"
        for line, text in found:
            block = yaml.safe_load(text)
            if "roration_max" in text:
                continue
            try:
                cfg = load_config(_complete(block))
            except InvalidConfigError as exc:  # pragma: no cover - shows which sample failed
                pytest.fail(f"{name} line {line}: {exc}")
            assert cfg.ignored_fields == []
            checked += 1
    assert checked >= 50


def test_guide_full_samples_keep_their_values(seeds: Path) -> None:
    for name, found in guide_blocks(seeds).items():
        _line, text = found[0]
        cfg = load_config(_complete(yaml.safe_load(text)))
        trainer = cfg.trainer_config
        assert cfg.model_config.head_configs.single_instance.confmaps.sigma == 2.5
        assert trainer.max_epochs == 200 and trainer.optimizer.lr == 1e-4
        assert trainer.lr_scheduler.reduce_lr_on_plateau.min_lr == 1e-8
        assert cfg.name == "your_experiment_name" and cfg.sleap_nn_version == "0.0.1"
        if name.startswith("004"):  # the older spelling
            assert (trainer.ckpt_dir, trainer.run_name) == (".", "your_model_name")
            assert trainer.trainer_devices == "auto" and trainer.seed == 0
        else:
            assert (trainer.ckpt_dir, trainer.run_name) == ("<ckpt_dir>", "<run_name>")
            assert trainer.trainer_devices is None and trainer.seed is None


def test_guide_typo_block_is_rejected(seeds: Path) -> None:
    typos = [
        (name, text)
        for name, found in guide_blocks(seeds).items()
        for _line, text in found
        if "roration_max" in text
    ]
    assert len(typos) == 2  # one in each edition
    for _name, text in typos:
        with pytest.raises(InvalidConfigError) as info:
            load_config(_complete(yaml.safe_load(text)))
        (problem,) = info.value.problems
        assert problem.startswith(
            "data_config.augmentation_config.geometric.roration_max: unknown field; "
            "did you mean 'rotation_max'"
        )
