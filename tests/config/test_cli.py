"""``posekit config validate | show | convert | init``."""

from __future__ import annotations

from pathlib import Path

import pytest
import typer
import yaml
from typer.testing import CliRunner

from posekit.cli.config_cmd import register
from posekit.config import load_config
from posekit.errors import ConfigError

from .conftest import make


@pytest.fixture(scope="module")
def app() -> typer.Typer:
    root = typer.Typer()

    @root.callback()
    def _root() -> None:
        """Test root."""

    register(root)
    return root


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


def write(tmp_path: Path, data: dict, name: str = "c.yaml") -> Path:
    path = tmp_path / name
    path.write_text(yaml.safe_dump(data))
    return path


def test_validate_valid_and_invalid_files(app, runner, tmp_path: Path) -> None:
    good = write(tmp_path, make(), "good.yaml")
    bad = write(
        tmp_path, make({"trainer_config": {"max_epoch": 3, "optimizer_name": "SGD"}}), "bad.yaml"
    )
    result = runner.invoke(app, ["config", "validate", str(good)])
    assert result.exit_code == 0
    assert f"valid: {good} (single_instance model, unet backbone)" in result.output
    result = runner.invoke(app, ["config", "validate", str(good), str(bad)])
    assert result.exit_code == 2
    assert "trainer_config.max_epoch: unknown field; did you mean 'max_epochs'" in result.output
    assert "optimizer_name: unknown value 'SGD'" in result.output
    assert "1 of 2 file(s) invalid" in result.output


def test_validate_reports_ignored_fields(app, runner, tmp_path: Path) -> None:
    path = write(tmp_path, make({"data_config": {"use_same_data_for_val": False}}))
    result = runner.invoke(app, ["config", "validate", str(path)])
    assert result.exit_code == 0
    assert "warning:" in result.output and "data_config.use_same_data_for_val" in result.output


def test_validate_a_file_that_is_not_yaml(app, runner, tmp_path: Path) -> None:
    path = tmp_path / "video.mp4"
    path.write_bytes(bytes(range(256)))
    result = runner.invoke(app, ["config", "validate", str(path)])
    assert result.exit_code == 2
    assert f"{path}: is not a text file" in result.output


def test_show_prints_resolved_yaml_with_overrides(app, runner, tmp_path: Path) -> None:
    path = write(tmp_path, make({"trainer_config": {"wandb": {"api_key": "supersecretkey"}}}))
    result = runner.invoke(
        app,
        [
            "config",
            "show",
            str(path),
            "trainer_config.max_epochs=5",
            "data_config.train_labels_path=[a.slp, b.slp]",
        ],
    )
    assert result.exit_code == 0, result.output
    shown = yaml.safe_load(result.output)
    assert shown["trainer_config"]["max_epochs"] == 5
    assert shown["data_config"]["train_labels_path"] == ["a.slp", "b.slp"]
    assert shown["trainer_config"]["early_stopping"]["patience"] == 1  # defaults resolved
    assert "supersecretkey" not in result.output
    assert shown["trainer_config"]["wandb"]["api_key"] == "****"


def test_show_raises_config_error_for_main_to_print(app, runner, tmp_path: Path) -> None:
    result = runner.invoke(app, ["config", "show", str(tmp_path / "missing.yaml")])
    assert isinstance(result.exception, ConfigError)
    assert "config file not found" in str(result.exception)


def test_convert_legacy(app, runner, shared_data: Path, tmp_path: Path) -> None:
    legacy = shared_data / "legacy_sleap_models/minimal_instance.UNet.centroid/training_config.json"
    out = tmp_path / "centroid.yaml"
    result = runner.invoke(app, ["config", "convert", str(legacy), "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert f"wrote {out} (centroid model, unet backbone)" in result.output
    assert "model.heads.centroid.offset_refinement" in result.output
    assert load_config(out).model_config.head_configs.centroid.confmaps.sigma == 1.5
    again = runner.invoke(app, ["config", "convert", str(legacy), "-o", str(out)])
    assert isinstance(again.exception, ConfigError) and "--force" in str(again.exception)
    assert (
        runner.invoke(app, ["config", "convert", str(legacy), "-o", str(out), "--force"]).exit_code
        == 0
    )


@pytest.mark.parametrize("model_type", ["single_instance", "bottomup", "multi_class_topdown"])
def test_init_writes_a_loadable_config(app, runner, tmp_path: Path, model_type: str) -> None:
    out = tmp_path / f"{model_type}.yaml"
    result = runner.invoke(app, ["config", "init", "--model-type", model_type, "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert "set data_config.train_labels_path" in result.output
    assert load_config(out).model_config.head_type == model_type


def test_init_prints_to_terminal_and_rejects_unknown_types(app, runner) -> None:
    result = runner.invoke(app, ["config", "init", "-m", "centroid"])
    assert result.exit_code == 0
    assert yaml.safe_load(result.output)["model_config"]["head_configs"]["centroid"]
    result = runner.invoke(app, ["config", "init", "-m", "segmentation"])
    assert result.exit_code == 2


def test_every_command_help_ends_with_an_example(app, runner) -> None:
    for command in ("validate", "show", "convert", "init"):
        result = runner.invoke(app, ["config", command, "--help"])
        assert result.exit_code == 0
        assert f"Example: posekit config {command}" in result.output
