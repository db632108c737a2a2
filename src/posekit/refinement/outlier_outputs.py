"""Outlier results as files: the JSON report, the labels of the chosen frames, the CSV.

* :func:`result_dict`: settings, counts, notes and every chosen frame with its scores and
  reasons (``OUT.outliers.json``, and the round summary).
* :func:`outlier_labels`: the chosen frames carrying the model's predictions as
  ``PredictedInstance`` s (starting points to correct in SLEAP), listed as suggestions in
  rank order.
* :func:`frame_table`: one CSV row per scored frame (``OUT.outliers.csv``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from posekit.errors import DataError
from posekit.refinement.outliers import summarize

if TYPE_CHECKING:
    import sleap_io as sio

    from posekit.refinement.outlier_selection import OutlierResult


def result_dict(result: OutlierResult) -> dict[str, Any]:
    """The chosen frames with their reasons, counts, notes and settings (JSON form)."""
    from posekit import __version__

    chosen = []
    for row, reasons in zip(result.chosen.tolist(), result.reasons, strict=True):
        chosen.append({
            "rank": int(result.rank[row]), "video": int(result.video[row]),
            "frame": int(result.frame[row]),
            "scores": {c: _num(result.score[row, i]) for i, c in enumerate(result.criteria)},
            "fired": [c for c, f in zip(result.criteria, result.fired[row], strict=True) if f],
            "combined": round(float(result.combined[row]), 4),
            "summary": summarize(reasons), "reasons": reasons})
    return {
        "posekit_version": __version__, "kind": "posekit outlier frames",
        "settings": result.settings.to_dict(), "videos": result.videos,
        "counts": {"frames_scored": len(result.frame),
                   "fired": {c: int(result.fired[:, i].sum())
                             for i, c in enumerate(result.criteria)},
                   "candidates": len(result.candidates), "chosen": len(result.chosen)},
        "notes": result.notes, "chosen": chosen}


def _num(value: float) -> float | None:
    return round(float(value), 4) if np.isfinite(value) else None


def outlier_labels(labels: sio.Labels, result: OutlierResult,
                   video: sio.Video | None = None) -> sio.Labels:
    """A labels file of the chosen frames carrying the model's predictions (copies, as
    ``PredictedInstance`` s: starting points to correct in the SLEAP GUI), listed as
    suggestions in rank order, with the reasons in ``provenance["posekit_outliers"]``.

    ``video`` replaces the predictions' video (all chosen frames must come from one).
    """
    import sleap_io as sio

    frames = {(id(lf.video), lf.frame_idx): lf for lf in labels.labeled_frames}
    used = sorted({int(result.video[r]) for r in result.chosen.tolist()})
    if video is not None and len(used) > 1:
        raise DataError(f"--video: the chosen frames come from {len(used)} videos; expected "
                        "one. Leave out --video to keep the predictions' own videos.")
    vid_map = {v: (video if video is not None else labels.videos[v]) for v in used}
    out_frames, suggestions = [], []
    for row in result.chosen.tolist():
        v, f = int(result.video[row]), int(result.frame[row])
        lf = frames[(id(labels.videos[v]), f)]
        insts = [sio.PredictedInstance.from_numpy(
            points_data=inst.numpy(), skeleton=inst.skeleton,
            point_scores=np.asarray(inst.points["score"]), score=float(inst.score),
            track=inst.track, tracking_score=inst.tracking_score)
            for inst in lf.predicted_instances]
        out_frames.append(sio.LabeledFrame(video=vid_map[v], frame_idx=f, instances=insts))
        suggestions.append(sio.SuggestionFrame(video=vid_map[v], frame_idx=f))
    report = result_dict(result)
    out = sio.Labels(
        labeled_frames=sorted(out_frames, key=lambda lf: lf.frame_idx),
        videos=[vid_map[v] for v in used], skeletons=list(labels.skeletons),
        tracks=list(labels.tracks), suggestions=suggestions,
        provenance={"posekit_outliers": {k: report[k] for k in
                                         ("posekit_version", "settings", "counts", "notes")}
                    | {"frames": [{k: c[k] for k in ("rank", "video", "frame", "summary")}
                                  for c in report["chosen"]]}})
    return out


def frame_table(result: OutlierResult) -> str:
    """CSV text, one row per scored frame: video, frame, each criterion's score, the
    criteria fired, combined score, rank and whether it was chosen."""
    import csv
    import io

    chosen = np.zeros(len(result.frame), bool)
    chosen[result.chosen] = True
    buf = io.StringIO()
    out = csv.writer(buf, lineterminator="\n")
    out.writerow(["video", "frame", *(f"score_{c}" for c in result.criteria), "fired",
                  "combined", "rank", "listed", "chosen"])
    for i in np.argsort(result.rank, kind="stable").tolist():
        fired = "+".join(c for c, f in zip(result.criteria, result.fired[i], strict=True) if f)
        scores = ["" if not np.isfinite(v) else f"{v:.4g}" for v in result.score[i]]
        out.writerow([int(result.video[i]), int(result.frame[i]), *scores, fired,
                      f"{result.combined[i]:.4f}", int(result.rank[i]), int(result.listed[i]),
                      int(chosen[i])])
    return buf.getvalue()
