"""Foreground weighting: the weighted loss, its fade, the sidecar section and the callback."""

from __future__ import annotations

from itertools import pairwise
from types import SimpleNamespace

import lightning as L
import pytest
import torch
import yaml

from posekit.config.problems import InvalidConfigError
from posekit.errors import ConfigError
from posekit.model_types.losses import channel_mse, foreground_weight_at, task_loss
from posekit.training.foreground import (
    ForegroundSettings,
    read_foreground,
    resolve_foreground,
)

# ---------------------------------------------------------------------- the loss (pure)


def test_weighted_squared_errors_by_hand():
    # one sample, one channel, two pixels: a peak of 0.5 and a signed PAF value of -1
    target = torch.tensor([[[[0.5, -1.0]]]])
    pred = torch.tensor([[[[1.0, 0.0]]]])
    # squared errors 0.25 and 1; weights 1 + 2 * 0.5 = 2 and 1 + 2 * |-1| = 3
    assert channel_mse(pred, target, foreground_weight=3.0).tolist() == [pytest.approx(1.75)]
    # with a sample weight of 2 as well: both multiply
    both = channel_mse(pred, target, torch.tensor([2.0]), foreground_weight=3.0)
    assert both.tolist() == [pytest.approx(3.5)]
    # the background (target 0) is never weighted
    zero = torch.zeros(1, 1, 1, 2)
    assert channel_mse(pred, zero, foreground_weight=50.0).tolist() == [pytest.approx(0.5)]


def test_weight_one_is_the_plain_loss_exactly():
    generator = torch.Generator().manual_seed(0)
    pred = torch.randn(3, 4, 8, 8, generator=generator)
    target = torch.rand(3, 4, 8, 8, generator=generator)
    plain = ((pred - target) ** 2).mean(dim=(0, 2, 3))
    assert torch.equal(channel_mse(pred, target, foreground_weight=1.0), plain)
    assert torch.equal(channel_mse(pred, target, foreground_weight=1), plain)
    assert not torch.equal(channel_mse(pred, target, foreground_weight=1.5), plain)


def _task():
    """Two heads like a multi-class model: maps (mse) and identity (cross entropy)."""
    maps = SimpleNamespace(key="maps", loss="mse", loss_weight=1.0)
    ids = SimpleNamespace(key="ids", loss="cross_entropy", loss_weight=1.0)
    return SimpleNamespace(heads=(maps, ids), primary=maps)


def test_task_loss_weights_maps_but_not_classification():
    generator = torch.Generator().manual_seed(1)
    outputs = {"maps": torch.randn(2, 3, 6, 6, generator=generator),
               "ids": torch.randn(2, 4, generator=generator)}
    targets = {"maps": torch.rand(2, 3, 6, 6, generator=generator),
               "ids": torch.tensor([1, 3])}
    task = _task()
    plain_total, plain = task_loss(task, outputs, targets)
    same_total, same = task_loss(task, outputs, targets, foreground_weight=1.0)
    assert torch.equal(plain_total, same_total)
    assert all(torch.equal(plain[k], same[k]) for k in plain)
    _, weighted = task_loss(task, outputs, targets, foreground_weight=5.0)
    assert torch.equal(weighted["ids"], plain["ids"])
    expected = channel_mse(outputs["maps"], targets["maps"], foreground_weight=5.0).mean()
    assert torch.equal(weighted["maps"], expected)
    assert float(weighted["maps"]) > float(plain["maps"])


def test_foreground_weight_at_fades_linearly_to_one():
    assert foreground_weight_at(0.0, 21.0, 0.5) == 21.0
    assert foreground_weight_at(-0.2, 21.0, 0.5) == 21.0
    assert foreground_weight_at(0.25, 21.0, 0.5) == pytest.approx(11.0)
    assert foreground_weight_at(0.5, 21.0, 0.5) == 1.0
    assert foreground_weight_at(0.9, 21.0, 0.5) == 1.0
    assert foreground_weight_at(1.7, 21.0, 0.5) == 1.0
    assert foreground_weight_at(0.1, 5.0, 0.0) == 1.0
    assert ForegroundSettings(9.0, 0.8).weight_at(0.2) == pytest.approx(7.0)


# ---------------------------------------------------------------------- settings


def test_sidecar_section_is_read(tmp_path):
    from posekit.refinement.frame_weights import read_sidecar, sidecar_path

    config = tmp_path / "cfg.yaml"
    side = sidecar_path(config)
    side.write_text(yaml.safe_dump({"foreground_weighting": {"start_weight": 11,
                                                             "fade_fraction": 0.3}}))
    assert read_foreground(side) == ForegroundSettings(11.0, 0.3)
    assert read_sidecar(side) is None  # the frame-weights reader accepts the section
    settings, origin = resolve_foreground(None, str(config), budgeted=False)
    assert settings == ForegroundSettings(11.0, 0.3) and "sidecar" in origin
    # flags go over the sidecar field by field
    settings, _ = resolve_foreground({"fade_fraction": 0.6}, str(config), budgeted=False)
    assert settings == ForegroundSettings(11.0, 0.6)


def test_bad_values_are_listed_by_field(tmp_path):
    side = tmp_path / "cfg.posekit.yaml"
    side.write_text(yaml.safe_dump({"foreground_weighting": {"start_weight": 0.5,
                                                             "fade_fraction": 2.0,
                                                             "fade": 0.1}}))
    with pytest.raises(InvalidConfigError) as info:
        read_foreground(side)
    said = str(info.value)
    assert "foreground_weighting.start_weight" in said
    assert "foreground_weighting.fade_fraction" in said
    assert "fade" in said and str(side) in said
    with pytest.raises(ConfigError, match="start_weight"):
        ForegroundSettings(start_weight=-1.0)
    with pytest.raises(ConfigError, match="expected ForegroundSettings"):
        resolve_foreground(21.0, None, budgeted=True)


def test_defaults_on_for_budgets_off_otherwise():
    assert resolve_foreground(None, {"a": 1}, budgeted=True)[0] == ForegroundSettings()
    assert resolve_foreground(None, {"a": 1}, budgeted=False)[0] is None
    # 1 turns it off, even for a budgeted run
    assert resolve_foreground({"start_weight": 1.0}, None, budgeted=True)[0] is None
    assert resolve_foreground({"start_weight": 5}, None, budgeted=False)[0] == (
        ForegroundSettings(5.0, 0.5))


# ---------------------------------------------------------------------- runs


class _Weights(L.Callback):
    """The module's foreground weight and the logged one after every training batch;
    stops after ``stop_after`` batches when given."""

    def __init__(self, stop_after: int | None = None) -> None:
        self.used: list[float] = []
        self.logged: list[float] = []
        self.stop_after = stop_after

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx) -> None:
        self.used.append(float(pl_module.foreground_weight))
        logged = trainer.callback_metrics.get("foreground_weight")
        if logged is not None:
            self.logged.append(float(logged))
        if self.stop_after is not None and len(self.used) >= self.stop_after:
            trainer.should_stop = True


def test_tiny_run_fades_from_the_start_weight_to_one(synth_single, make_tiny_config, tmp_path):
    from posekit.training.trainer import train

    cfg = make_tiny_config("single_instance", synth_single, tmp_path / "run", max_epochs=2,
                           min_train_steps_per_epoch=6, save_ckpt=False)
    recorder = _Weights()
    result = train(cfg, callbacks=[recorder], foreground=ForegroundSettings(21.0, 0.5))
    logged = recorder.logged
    assert len(logged) >= 12 and logged == pytest.approx(recorder.used, rel=1e-6)  # float32
    assert logged[0] == 21.0  # step 0 of the run
    assert logged[-1] == 1.0 and logged[len(logged) // 2] == 1.0  # plain from half-way
    assert all(a >= b for a, b in pairwise(logged))  # never back up
    assert 1.0 < logged[2] < 21.0
    notes = " ".join(result.notes)
    assert "foreground weighting (as given)" in notes
    assert "foreground weight 21 at step 0, 1 at step" in notes


def test_budgeted_runs_weight_by_default_plain_runs_do_not(synth_single, make_tiny_config,
                                                           tmp_path):
    from posekit.training.trainer import train

    def first_weight(name: str, **kwargs) -> tuple[float, list[str]]:
        cfg = make_tiny_config("single_instance", synth_single, tmp_path / name,
                               save_ckpt=False)
        recorder = _Weights(stop_after=1)
        result = train(cfg, callbacks=[recorder], **kwargs)
        return recorder.used[0], result.notes

    weight, notes = first_weight("budgeted", budget_s=120.0)
    assert 15.0 < weight <= 21.0  # fading over the budget's elapsed fraction, just begun
    assert any("foreground weighting (the default of budgeted runs)" in n for n in notes)
    weight, notes = first_weight("plain")
    assert weight == 1.0 and not any("foreground" in n for n in notes)
    weight, notes = first_weight("off", budget_s=120.0, foreground={"start_weight": 1})
    assert weight == 1.0 and any("foreground weighting off" in n for n in notes)


def test_cli_flag_errors_name_the_field(synth_single, make_tiny_config, tmp_path):
    from typer.testing import CliRunner

    from posekit.cli.main import app

    path = tmp_path / "cfg.yaml"
    path.write_text(yaml.safe_dump(make_tiny_config("single_instance", synth_single,
                                                    tmp_path / "run")))
    result = CliRunner().invoke(app, ["train", str(path), "--foreground-weight", "0.5"])
    assert isinstance(result.exception, ConfigError)
    assert "start_weight" in str(result.exception)
    assert not (tmp_path / "run").exists()  # refused before anything was written


def test_module_weights_training_but_never_validation(synth_single, make_tiny_config, tmp_path):
    import warnings

    from torch.utils.data import default_collate

    from posekit.config import load_config
    from posekit.training import trainer

    cfg = load_config(make_tiny_config("single_instance", synth_single, tmp_path / "run"))
    with warnings.catch_warnings():  # the random validation split leaks (neighbouring frames)
        warnings.simplefilter("ignore")
        setup = trainer._set_up_run(cfg, 0, False)
    module = setup.module
    assert module.foreground_weight == 1.0  # plain unless a callback sets it
    batch = default_collate([setup.val_ds[i] for i in range(3)])
    with torch.no_grad():
        images, _, targets = module.prepare_batch(batch, train=False)
        outputs = module.model(images)
        plain = module.task.loss(outputs, targets)[0]
        weighted = task_loss(module.task, outputs, targets, foreground_weight=21.0)[0]
        module.foreground_weight = 21.0
        assert torch.equal(module._step(batch, train=False)[0], plain)  # validation: plain
        train_loss = module._step(batch, train=True)[0]  # no augmentation: same targets
    assert torch.equal(train_loss, weighted) and float(weighted) > float(plain)
