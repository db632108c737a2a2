"""One refinement round: predict new videos, choose the frames where the model fails, and
write a labelling package a person corrects in any SLEAP labelling tool.

``run_round(models, videos, n, out_dir)``:

1. predicts every video with the model (``<out_dir>/predictions/<video>.predictions.slp``),
   reusing a predictions file from an earlier round when it was made by the same checkpoint
   (the SHA-256 recorded in the file's provenance; file times never decide);
2. scores every predicted frame with the outlier criteria
   (:func:`posekit.refinement.outlier_selection.find_outliers`: ``uncertain``, ``jump``,
   ``fitting`` with DeepLabCut's defaults), ranks them, and chooses ``n`` diverse frames by
   k-means among the top candidates, topping up with the next-ranked frames when fewer fire;
3. writes ``<out_dir>/label_this_round.pkg.slp``: the chosen frames with their images
   embedded and the model's predictions as initial guesses (predicted instances, listed as
   suggestions in rank order), ``round_summary.json`` (every number) and ``round_summary.md``
   (why each frame was chosen, for the person labelling).

Corrected labels come back with ``posekit labels merge``.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import sleap_io as sio

from posekit.errors import DataError
from posekit.refinement.outlier_outputs import outlier_labels, result_dict
from posekit.refinement.outlier_selection import OutlierResult, OutlierSettings, find_outliers
from posekit.utils.atomic import atomic_write_text

PathLike = str | os.PathLike[str]
PACKAGE_NAME = "label_this_round.pkg.slp"
SUMMARY_JSON = "round_summary.json"
SUMMARY_MD = "round_summary.md"


@dataclass
class RoundResult:
    """What a round produced.

    Attributes:
        out_dir: the round folder.
        package: the labelling package (``.pkg.slp``).
        predictions: per video, its predictions file.
        reused: the predictions files reused from an earlier round (same checkpoint).
        outliers: the scores, ranks and chosen frames.
    """

    out_dir: Path
    package: Path
    predictions: list[Path]
    reused: list[Path]
    outliers: OutlierResult
    notes: list[str] = field(default_factory=list)


def predictions_path(out_dir: Path, video: Path) -> Path:
    """Where a round keeps the predictions of ``video``."""
    return out_dir / "predictions" / f"{video.name}.predictions.slp"


def reusable(path: Path, digests: list[str]) -> bool:
    """Whether ``path`` holds predictions made by the checkpoints with these SHA-256s."""
    if not path.is_file():
        return False
    try:
        labels = sio.load_slp(str(path), open_videos=False)
    except Exception:  # noqa: BLE001 - an unreadable old file is simply predicted again
        return False
    return list(labels.provenance.get("posekit_checkpoint_sha256") or []) == digests


def _predict_videos(model: Any, videos: Sequence[Path], out_dir: Path, tracker_config: Any
                    ) -> tuple[list[Path], list[Path]]:
    from posekit.inference.pipeline import predict_source
    from posekit.io.writers import save_labels

    digests = [run.checkpoint_digest for run in model.runs]
    written, reused = [], []
    for video in videos:
        path = predictions_path(out_dir, video)
        if reusable(path, digests):
            reused.append(path)
        else:
            tracker = None
            if tracker_config is not None and not model.predictor.has_classes:
                from posekit.tracking import Tracker

                tracker = Tracker(tracker_config)
            report = predict_source(model, video, tracker=tracker)
            path.parent.mkdir(parents=True, exist_ok=True)
            save_labels(report.labels, path)
        written.append(path)
    return written, reused


def combine_predictions(paths: Sequence[Path]) -> sio.Labels:
    """One labels object holding the predictions of several videos (one skeleton)."""
    from posekit.io.labels import load_labels

    parts = [load_labels(p) for p in paths]
    skeleton = parts[0].skeletons[0]
    frames, videos, tracks = [], [], {}
    for path, part in zip(paths, parts, strict=True):
        if any(s.node_names != skeleton.node_names for s in part.skeletons):
            raise DataError(f"{path}: its skeleton differs from {paths[0]}'s; expected "
                            "predictions of one model.")
        for lf in part.labeled_frames:
            for inst in lf.instances:
                inst.skeleton = skeleton
                if inst.track is not None:  # one Track per name (scoring is per video)
                    inst.track = tracks.setdefault(inst.track.name, inst.track)
            frames.append(lf)
        videos.extend(part.videos)
    return sio.Labels(labeled_frames=frames, videos=videos, skeletons=[skeleton],
                      tracks=list(tracks.values()))


def run_round(models: Sequence[PathLike], videos: Sequence[PathLike], n: int,
              out_dir: PathLike, settings: OutlierSettings | None = None,
              tracker_config: Any = None, **load_options: Any) -> RoundResult:
    """Run one refinement round (see the module docstring).

    Args:
        models: one run folder, or a centroid + centered-instance pair.
        videos: the new videos.
        n: frames to choose for labelling.
        out_dir: the round folder (created; files in it are replaced).
        settings: outlier criteria and choice (default: DeepLabCut's criteria, k-means
            diversity, topping up to ``n``).
        tracker_config: a :class:`posekit.tracking.TrackingConfig` to link instances of
            multi-animal models without identities into tracks before scoring (the
            criteria follow each track); ``None`` scores untracked instances.
        load_options: passed to :func:`posekit.inference.pipeline.load_model`.
    """
    from posekit.inference.pipeline import load_model
    from posekit.io.writers import save_labels

    out = Path(out_dir)
    video_paths = [Path(v) for v in videos]
    if not video_paths:
        raise DataError("refine round: no video given; expected one or more videos to "
                        "predict and choose frames from.")
    missing = [str(v) for v in video_paths if not v.exists()]
    if missing:
        raise DataError(f"{', '.join(missing)}: not found; expected videos to predict.")
    out.mkdir(parents=True, exist_ok=True)
    model = load_model(*models, **load_options)
    paths, reused = _predict_videos(model, video_paths, out, tracker_config)
    labels = combine_predictions(paths)
    base = settings or OutlierSettings(fill=True)
    result = find_outliers(labels, replace(base, n=n, fraction=None),
                           videos={i: str(v) for i, v in enumerate(video_paths)},
                           source=", ".join(str(p) for p in paths))
    package = save_labels(outlier_labels(labels, result), out / PACKAGE_NAME, embed="all")
    summary = {"kind": "posekit refinement round",
               "models": [str(r.path) for r in model.runs],
               "checkpoint_sha256": [r.checkpoint_digest for r in model.runs],
               "videos": [str(v) for v in video_paths],
               "predictions": [str(p) for p in paths], "reused": [str(p) for p in reused],
               "package": str(package), "outliers": result_dict(result)}
    atomic_write_text(out / SUMMARY_JSON, json.dumps(summary, indent=1) + "\n")
    atomic_write_text(out / SUMMARY_MD, summary_markdown(summary))
    return RoundResult(out, package, paths, reused, result, list(result.notes))


def summary_markdown(summary: dict[str, Any]) -> str:
    """The round summary a person reads before labelling: one line per chosen frame."""
    outliers = summary["outliers"]
    counts = outliers["counts"]
    lines = [
        "# Frames to label this round", "",
        f"Model: {', '.join(summary['models'])}. Videos: {', '.join(summary['videos'])}.",
        f"Scored {counts['frames_scored']} predicted frames; "
        + ", ".join(f"{c} fired on {k}" for c, k in counts["fired"].items())
        + f"; {counts['chosen']} frames chosen.", "",
        (f"Open `{Path(summary['package']).name}` in SLEAP, correct the predicted points "
         "(they are the model's guesses) and save; then bring the corrections back with "
         "`posekit labels merge TRAINING_LABELS CORRECTED -o NEW_LABELS`."), "",
        "| rank | video | frame | why |", "|---|---|---|---|",
    ]
    videos = {v["index"]: Path(v["filename"]).name for v in outliers["videos"]}
    for item in outliers["chosen"]:
        why = item["summary"].replace("|", "\\|")  # a table cell: its own bars escaped
        lines.append(f"| {item['rank']} | {videos.get(item['video'], item['video'])} | "
                     f"{item['frame']} | {why} |")
    for note in outliers["notes"]:
        lines.append(f"\nNote: {note}")
    return "\n".join(lines) + "\n"
