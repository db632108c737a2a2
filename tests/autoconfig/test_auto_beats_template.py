"""The configuration ``posekit config auto`` chooses beats the plain template in the same time.

Synthetic mice (160 px long in 320 px frames, 80 training frames, 40 held-out frames from
another recording) and a 60 s budget for each: the ``config init`` single-instance template
and the auto configuration both train with ``--budget 60s`` (same schedule machinery,
foreground weighting on in both), so only the chosen values differ. Both are scored on the
held-out frames by the run's own validation metrics (missing points count as misses).
"""

from __future__ import annotations

import json

import pytest
import yaml

BUDGET_S = 60.0


@pytest.fixture(scope="module")
def mice(tmp_path_factory):
    from posekit.io.synthetic import SynthSpec, write_dataset

    root = tmp_path_factory.mktemp("auto_vs_template")
    spec = {"height": 320, "width": 320, "animal_size": 0.5, "occluders": 0}
    write_dataset(SynthSpec(n_frames=80, seed=11, **spec), root / "train.pkg.slp")
    write_dataset(SynthSpec(n_frames=40, seed=12, **spec), root / "val.pkg.slp")
    return root


def _train(root, name: str, cfg: dict) -> dict:
    from posekit.training.trainer import train

    cfg["data_config"]["val_labels_path"] = [str(root / "val.pkg.slp")]
    cfg["trainer_config"].update(ckpt_dir=str(root / "runs"), run_name=name)
    path = root / f"{name}.yaml"
    path.write_text(yaml.safe_dump(cfg))
    result = train(path, budget_s=BUDGET_S)
    metrics = json.loads((result.run_dir / "metrics.val.json").read_text())
    steps = json.loads((result.run_dir / "budget.json").read_text())["lr_trace"][-1]["step"]
    return {"pck10": metrics["pck_px"]["10"] or 0.0, "pck5": metrics["pck_px"]["5"] or 0.0,
            "median": metrics["localization"]["median_px"], "steps": steps,
            "found": metrics["localization"]["n"]}


@pytest.mark.slow
def test_auto_config_beats_the_template_in_the_same_time(mice) -> None:
    from posekit.autoconfig.api import auto_config
    from posekit.config import init_config

    chosen = auto_config(mice / "train.pkg.slp", budget_s=BUDGET_S, output=mice / "chosen.yaml",
                         preview=False)
    (stage,) = chosen.stages
    scale = stage.plan.value("data_config.preprocessing.scale")
    assert scale < 1.0  # the budget lowered the input scale (the rule alone keeps 1.0)
    auto = _train(mice, "auto", yaml.safe_load((mice / "chosen.yaml").read_text()))
    template_cfg = yaml.safe_load(init_config("single_instance"))
    template_cfg["data_config"]["train_labels_path"] = [str(mice / "train.pkg.slp")]
    template = _train(mice, "template", template_cfg)
    seen = f"auto (scale {scale:g}) {auto}, template {template}"
    assert auto["steps"] > 3 * template["steps"], seen
    # measured: PCK@10px 0.58 (304 steps) and 0.42 (315 steps) on two machines; the
    # template finds nothing in the same minute
    assert auto["pck10"] >= 0.3, seen
    assert auto["pck10"] >= template["pck10"] + 0.25, seen
    assert auto["found"] > template["found"], seen
