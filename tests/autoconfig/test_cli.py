"""``posekit config auto`` through typer's CliRunner."""

from __future__ import annotations

from typer.testing import CliRunner

from posekit.cli.main import app
from posekit.config import load_config
from posekit.errors import ConfigError


def test_config_auto_writes_config_and_preview(tiny_single, tmp_path) -> None:
    out = tmp_path / "cfg.yaml"
    runner = CliRunner()
    result = runner.invoke(app, ["config", "auto", str(tiny_single), "--budget", "1m30s",
                                 "--device", "cpu", "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert "model type: single_instance" in result.output
    assert f"posekit train {out} --budget 1m30s" in result.output
    assert (tmp_path / "cfg.preview.png").is_file()
    assert (tmp_path / "cfg.posekit.yaml").is_file()
    assert f"wrote {tmp_path / 'cfg.posekit.yaml'}" in result.output
    assert load_config(out).model_config.head_type == "single_instance"
    again = runner.invoke(app, ["config", "auto", str(tiny_single), "-o", str(out)])
    # posekit.cli.main.main prints PosekitErrors without a traceback (exit status 2).
    assert isinstance(again.exception, ConfigError) and "--force" in str(again.exception)


def test_bad_budget_is_a_clear_error(tiny_single, tmp_path) -> None:
    result = CliRunner().invoke(app, ["config", "auto", str(tiny_single), "--budget", "15",
                                      "-o", str(tmp_path / "x.yaml")])
    assert isinstance(result.exception, ConfigError)
    assert "without a unit" in str(result.exception) and not (tmp_path / "x.yaml").exists()


def test_main_exit_status_for_bad_budget(tiny_single, tmp_path, capsys) -> None:
    from posekit.cli.main import main

    assert main(["config", "auto", str(tiny_single), "--budget", "5m5m", "-o",
                 str(tmp_path / "x.yaml")]) == 2
    assert "a unit is given twice" in capsys.readouterr().err


def test_asked_model_type_replaces_the_rules_choice(identity_pair, tiny_single, tmp_path) -> None:
    out = tmp_path / "bu.yaml"
    result = CliRunner().invoke(app, ["config", "auto", str(identity_pair), "--model-type",
                                      "multi_class_bottomup", "--device", "cpu", "--no-preview",
                                      "-o", str(out)])
    assert result.exit_code == 0, result.output
    said = " ".join(result.output.split())
    # the rules would train top-down with identity classes on these small mice
    assert "asked for multi_class_bottomup (the rules would choose centroid + " \
        "multi_class_topdown" in said
    assert load_config(out).model_config.head_type == "multi_class_bottomup"
    for name, expected in (("single_instance", "up to 2 animals in a frame"),
                           ("top_down", "expected one of single_instance")):
        bad = CliRunner().invoke(app, ["config", "auto", str(identity_pair), "--model-type",
                                       name, "-o", str(tmp_path / f"{name}.yaml")])
        assert isinstance(bad.exception, ConfigError) and expected in str(bad.exception)
        assert not (tmp_path / f"{name}.yaml").exists()
    no_ids = CliRunner().invoke(app, ["config", "auto", str(tiny_single), "--model-type",
                                      "multi_class_topdown", "-o", str(tmp_path / "m.yaml")])
    assert isinstance(no_ids.exception, ConfigError)
    assert "identity models learn the track names" in str(no_ids.exception)


def test_backbone_option_writes_the_pretrained_encoder(tiny_single, tmp_path) -> None:
    out = tmp_path / "lite0.yaml"
    result = CliRunner().invoke(app, ["config", "auto", str(tiny_single), "--backbone",
                                      "efficientnet_lite0", "--device", "cpu", "--no-preview",
                                      "-o", str(out)])
    assert result.exit_code == 0, result.output
    backbone = load_config(out).model_config.active_backbone
    assert backbone.pre_trained_weights == "imagenet"
    bad = CliRunner().invoke(app, ["config", "auto", str(tiny_single), "--backbone", "vgg",
                                   "-o", str(tmp_path / "x.yaml")])
    assert isinstance(bad.exception, ConfigError) and "efficientnet_lite0" in str(bad.exception)
