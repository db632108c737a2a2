"""Write a config as YAML with a comment beside every chosen value.

The document is a ``config init`` template (keys from sleap-nn's schema only) with the
chosen values put in; :func:`render_commented_yaml` writes it in the template's key order
and puts each reason after its value, wrapped to :data:`WIDTH` columns.
:func:`sidecar_yaml` writes the posekit-only sidecar ``CONFIG.posekit.yaml`` beside it.
"""

from __future__ import annotations

import copy
import textwrap
from collections.abc import Iterable, Mapping
from typing import Any

import yaml

from posekit.autoconfig.plan import Setting
from posekit.errors import ConfigError

#: Lines are wrapped to this many columns where a comment allows it.
WIDTH = 100
INDENT = "  "


def apply_settings(template: Mapping[str, Any], settings: Iterable[Setting]) -> dict[str, Any]:
    """A copy of ``template`` with every setting's value at its dotted path; a key the
    template leaves out is added to its (existing) section. Whether every key belongs to
    sleap-nn's schema is checked by loading the result (:func:`posekit.config.load_config`).

    Raises:
        ConfigError: a setting's section is not in the template.
    """
    data = copy.deepcopy(dict(template))
    for setting in settings:
        *parents, last = setting.path.split(".")
        node = data
        for key in parents:
            node = node.get(key) if isinstance(node, dict) else None
            if node is None:
                break
        if not isinstance(node, dict):
            raise ConfigError(f"{setting.path}: its section is not in the template; expected "
                              "a section of sleap-nn's schema that config init writes.")
        node[last] = setting.value
    return data


def _scalar(value: Any) -> str:
    """One value as YAML flow text (lists as ``[a, b]``)."""
    return yaml.safe_dump([value], default_flow_style=True, width=10**9,
                          allow_unicode=True).strip()[1:-1]


def _with_comment(line: str, comment: str | None) -> list[str]:
    if not comment:
        return [line]
    column = max(len(line) + 2, 40)
    room = max(WIDTH - column - 2, 30)
    parts = textwrap.wrap(comment, room) or [""]
    first = f"{line.ljust(column)}# {parts[0]}"
    return [first] + [f"{' ' * column}# {p}" for p in parts[1:]]


def _lines(data: Mapping[str, Any], comments: Mapping[str, str], prefix: str,
           depth: int) -> list[str]:
    out: list[str] = []
    for key, value in data.items():
        path = f"{prefix}{key}"
        head = f"{INDENT * depth}{key}:"
        if isinstance(value, dict) and value:
            out += _with_comment(head, comments.get(path))
            out += _lines(value, comments, path + ".", depth + 1)
        else:
            text = "{}" if isinstance(value, dict) else _scalar(value)
            out += _with_comment(f"{head} {text}", comments.get(path))
    return out


def render_commented_yaml(data: Mapping[str, Any], comments: Mapping[str, str],
                          header: Iterable[str] = ()) -> str:
    """YAML text of ``data`` with ``comments`` (by dotted path) after their values and
    ``header`` lines as comments at the top."""
    lines = [f"# {part}".rstrip() for h in header
             for part in textwrap.wrap(h, WIDTH - 2, subsequent_indent="  ") or [""]]
    if lines:
        lines.append("")
    for i, (key, value) in enumerate(data.items()):
        if i:
            lines.append("")
        lines += _lines({key: value}, comments, "", 0)
    return "\n".join(lines) + "\n"


def settings_yaml(template: Mapping[str, Any], settings: Iterable[Setting],
                  header: Iterable[str] = ()) -> str:
    """The template with ``settings`` applied, each commented with its reason."""
    settings = list(settings)
    data = apply_settings(template, settings)
    return render_commented_yaml(data, {s.path: s.reason for s in settings}, header)


#: Why the sidecar turns foreground weighting on (the measured numbers of
#: ``benchmarks/results/plateau_escape.synthetic.json``).
FOREGROUND_WHY = (
    "foreground_weighting: a confidence-map model starts on an all-zero plateau (the "
    "Gaussian targets cover a tiny part of each map, so predicting zeros is already a low "
    "error). Weighting each squared error by 1 + (start_weight - 1) * |target| leaves it "
    "sooner: measured on the same network, data and seed (200 steps, lr 1e-3), plain MSE "
    "found its first correct validation point at step 140 and never half of them (10 of "
    "144 at step 200); weighted 1 + 20 * target, the first at step 60 and half at step 80 "
    "(126 of 144 found at step 200). The weight fades linearly to the plain loss by "
    "fade_fraction of training, so the final model's confidence scores mean what they mean "
    "in sleap-nn. start_weight: 1 turns it off (or `posekit train --foreground-weight 1`)."
)


def sidecar_yaml(config_name: str, foreground: Mapping[str, float],
                 window: tuple[int, str] | None = None) -> str:
    """The sidecar ``CONFIG.posekit.yaml`` of the config ``config_name``: posekit-only
    settings (sleap-nn does not read this file) with a ``foreground_weighting`` section of
    ``foreground``'s fields (``start_weight``, ``fade_fraction``) and, with ``window``
    (side, reason), a ``training_crops`` section (:mod:`posekit.data.frame_crops`),
    commented."""
    from posekit.data.frame_crops import TrainingCrops

    comments = {
        "foreground_weighting.start_weight": (
            f"the peaks' squared errors weigh {foreground['start_weight']:g} times the "
            "background's at the start"),
        "foreground_weighting.fade_fraction": (
            f"plain loss from {foreground['fade_fraction']:.0%} of training on (the "
            "budget's elapsed time, else the optimizer steps)"),
    }
    data: dict = {"foreground_weighting": dict(foreground)}
    if window is not None:
        crops = TrainingCrops(size=window[0])
        data["training_crops"] = {"size": crops.size, "random_share": crops.random_share,
                                  "jitter": crops.jitter}
        comments.update({
            "training_crops.size": window[1],
            "training_crops.random_share": (f"{crops.random_share:.0%} of the windows anywhere "
                                            "(background too), the rest on an animal"),
            "training_crops.jitter": (f"a window on an animal moves by up to "
                                      f"{crops.jitter:.0%} of its side"),
        })
    header = [(f"posekit-only settings for {config_name} (sleap-nn does not read this file; "
               "`posekit train` reads it from beside the config). See docs/training.md."),
              "", FOREGROUND_WHY]
    return render_commented_yaml(data, comments, header)
