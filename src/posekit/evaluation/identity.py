"""Identity and tracking metrics on matched instances (CLEAR-MOT style).

Inputs are the per-frame matches produced by :mod:`posekit.evaluation.matching` plus each
instance's track index (``-1`` when it has none). Definitions (also in docs/metrics.md):

* **track mapping**: which predicted track stands for which GT animal. ``"name"``: tracks
  with the same name are the same animal (identity models that predict the GT's classes).
  ``"hungarian"``: per video, the one-to-one assignment of predicted tracks to GT tracks
  that maximises the number of matched instances they share; predicted tracks left over
  (e.g. extra fragments) map to no animal. ``"auto"`` uses ``"name"`` when every predicted
  track name seen on a matched instance is also a GT track name, else ``"hungarian"``.
* **identity accuracy**: among matched instances whose GT instance has a track, the
  fraction whose predicted track maps to that GT track (an untracked prediction is wrong).
* **ID switch** (CLEAR-MOT): for one GT track, walking through the video's evaluated frames
  in order, a frame where it is matched to a predicted track different from the predicted
  track it was last matched to. Frames where it is unmatched do not reset that memory.
* **fragmentation**: a GT track's coverage is interrupted — it was matched to a tracked
  prediction in one evaluated frame, is not in the next frame where it appears, and is
  matched again later.
* **MOTA** = 1 - (FN + FP + IDSW) / GT with GT = GT instances, FN = unmatched GT instances,
  FP = unmatched predictions, IDSW = ID switches, summed over all evaluated frames.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Literal

import numpy as np
from scipy.optimize import linear_sum_assignment

from posekit.errors import ConfigError
from posekit.evaluation.records import IdentityResult, MotCounts, TrackIdentity

IdentityMapping = Literal["auto", "name", "hungarian"]


@dataclass(frozen=True)
class TrackedFrame:
    """One evaluated frame as the identity metrics see it.

    Attributes:
        video: key of the video the frame belongs to (frames are ordered per video).
        frame_idx: frame index in that video.
        gt_tracks: ``(G,)`` int64 GT track indices (into the GT track names), -1 = none.
        pred_tracks: ``(P,)`` int64 predicted track indices, -1 = none.
        gt_index: ``(M,)`` indices of matched GT instances.
        pred_index: ``(M,)`` indices of their matched predictions.
    """

    video: str
    frame_idx: int
    gt_tracks: np.ndarray
    pred_tracks: np.ndarray
    gt_index: np.ndarray
    pred_index: np.ndarray


def mot_counts(frames: Sequence[TrackedFrame]) -> MotCounts:
    """GT, matched, false-negative and false-positive instance counts over all frames."""
    n_gt = sum(int(f.gt_tracks.shape[0]) for f in frames)
    n_pred = sum(int(f.pred_tracks.shape[0]) for f in frames)
    n_match = sum(int(f.gt_index.shape[0]) for f in frames)
    return MotCounts(
        gt=n_gt,
        predictions=n_pred,
        matches=n_match,
        false_negatives=n_gt - n_match,
        false_positives=n_pred - n_match,
    )


def _gt_table(frames: Sequence[TrackedFrame]) -> dict[str, np.ndarray]:
    """One row per GT instance: video code, frame, GT track, matched predicted track.

    ``hyp`` is the matched prediction's track (-1 when unmatched or untracked) and
    ``matched`` says whether the GT instance was matched at all.
    """
    videos: dict[str, int] = {}
    cols: dict[str, list[np.ndarray]] = {k: [] for k in ("video", "frame", "gt", "hyp", "matched")}
    for f in frames:
        n = f.gt_tracks.shape[0]
        hyp = np.full(n, -1, dtype=np.int64)
        hyp[f.gt_index] = f.pred_tracks[f.pred_index]
        matched = np.zeros(n, dtype=bool)
        matched[f.gt_index] = True
        cols["video"].append(np.full(n, videos.setdefault(f.video, len(videos)), dtype=np.int64))
        cols["frame"].append(np.full(n, f.frame_idx, dtype=np.int64))
        cols["gt"].append(np.asarray(f.gt_tracks, dtype=np.int64))
        cols["hyp"].append(hyp)
        cols["matched"].append(matched)
    table = {
        k: (np.concatenate(v) if v else np.zeros(0, dtype=bool if k == "matched" else np.int64))
        for k, v in cols.items()
    }
    table["video_names"] = np.array(list(videos), dtype=object)
    return table


def _mapping(
    table: dict[str, np.ndarray],
    gt_names: Sequence[str],
    pred_names: Sequence[str],
    rule: str,
) -> tuple[np.ndarray, dict[str, dict[str, str]]]:
    """Mapped GT track for every row's predicted track, and the mapping for the report."""
    n_videos = len(table["video_names"])
    mapped = np.full(table["hyp"].shape[0], -1, dtype=np.int64)
    report: dict[str, dict[str, str]] = {}
    use = (table["hyp"] >= 0) & (table["gt"] >= 0)
    if rule == "name":
        lookup = {name: i for i, name in enumerate(gt_names)}
        to_gt = np.array([lookup.get(n, -1) for n in pred_names] + [-1], dtype=np.int64)
        mapped = to_gt[table["hyp"]]  # hyp == -1 reads the trailing -1
        used = np.unique(table["hyp"][table["hyp"] >= 0])
        report["all videos"] = {
            pred_names[p]: (gt_names[to_gt[p]] if to_gt[p] >= 0 else None) for p in used
        }
        return mapped, report
    for v in range(n_videos):
        rows = use & (table["video"] == v)
        counts = np.zeros((len(gt_names), len(pred_names)), dtype=np.int64)
        np.add.at(counts, (table["gt"][rows], table["hyp"][rows]), 1)
        g_idx, p_idx = linear_sum_assignment(counts, maximize=True)
        keep = counts[g_idx, p_idx] > 0
        to_gt = np.full(len(pred_names) + 1, -1, dtype=np.int64)
        to_gt[p_idx[keep]] = g_idx[keep]
        in_video = table["video"] == v
        mapped[in_video] = to_gt[table["hyp"][in_video]]
        used = np.unique(table["hyp"][in_video & (table["hyp"] >= 0)])
        report[str(table["video_names"][v])] = {
            pred_names[p]: (gt_names[to_gt[p]] if to_gt[p] >= 0 else None) for p in used
        }
    return mapped, report


def _switches_and_fragments(
    table: dict[str, np.ndarray], n_gt_tracks: int
) -> tuple[np.ndarray, np.ndarray]:
    """Per GT track: ID switches and fragmentations (summed over videos), ``(n_gt_tracks,)``."""
    known = table["gt"] >= 0
    video, frame, gt, hyp = (table[k][known] for k in ("video", "frame", "gt", "hyp"))
    order = np.lexsort((frame, gt, video))
    video, gt, hyp = video[order], gt[order], hyp[order]
    group = np.zeros(video.shape[0], dtype=np.int64)
    if video.shape[0]:
        new = np.r_[True, (video[1:] != video[:-1]) | (gt[1:] != gt[:-1])]
        group = np.cumsum(new) - 1
    tracked = hyp >= 0
    switches = np.zeros(n_gt_tracks, dtype=np.int64)
    t_group, t_hyp, t_gt = group[tracked], hyp[tracked], gt[tracked]
    is_switch = (t_group[1:] == t_group[:-1]) & (t_hyp[1:] != t_hyp[:-1])
    np.add.at(switches, t_gt[1:][is_switch], 1)
    fragments = np.zeros(n_gt_tracks, dtype=np.int64)
    if group.shape[0]:
        last_tracked = np.full(int(group[-1]) + 1, -1, dtype=np.int64)
        pos = np.arange(group.shape[0])
        np.maximum.at(last_tracked, group[tracked], pos[tracked])
        breaks = (
            tracked[:-1]
            & ~tracked[1:]
            & (group[1:] == group[:-1])
            & (pos[1:] < last_tracked[group[:-1]])
        )
        np.add.at(fragments, gt[:-1][breaks], 1)
    return switches, fragments


def identity_metrics(
    frames: Sequence[TrackedFrame],
    gt_track_names: Sequence[str],
    pred_track_names: Sequence[str],
    mapping: IdentityMapping = "auto",
) -> IdentityResult:
    """Identity accuracy, ID switches, fragmentations and MOTA (see the module docstring).

    When the GT or the predictions carry no tracks the result is not ``available`` and
    holds only the MOT counts that do not need tracks.
    """
    if mapping not in ("auto", "name", "hungarian"):
        raise ConfigError(
            f"identity_mapping: {mapping!r} is not a mapping rule; expected 'auto', 'name' or "
            "'hungarian'."
        )
    counts = mot_counts(frames)
    table = _gt_table(frames)
    pred_tracked = any(bool(np.any(f.pred_tracks >= 0)) for f in frames)
    if not np.any(table["gt"] >= 0) or not pred_tracked:
        side = "ground truth" if not np.any(table["gt"] >= 0) else "predictions"
        return IdentityResult(
            available=False, reason=f"the {side} carry no tracks / identities", mot_counts=counts
        )
    matched_known = table["matched"] & (table["gt"] >= 0)
    rule = mapping
    if rule == "auto":
        used = {
            pred_track_names[p]
            for p in np.unique(table["hyp"][matched_known & (table["hyp"] >= 0)])
        }
        rule = "name" if used <= set(gt_track_names) else "hungarian"
    mapped, mapping_report = _mapping(table, gt_track_names, pred_track_names, rule)
    correct = matched_known & (mapped == table["gt"])
    switches, fragments = _switches_and_fragments(table, len(gt_track_names))
    n_known = int(matched_known.sum())
    idsw = int(switches.sum())
    n_errors = counts.false_negatives + counts.false_positives + idsw
    duplicates = _duplicate_tracks(frames)
    return IdentityResult(
        available=True,
        mapping_rule=rule,
        mapping=mapping_report,
        matched_instances_with_gt_track=n_known,
        correct_identity=int(correct.sum()),
        identity_accuracy=float(correct.sum() / n_known) if n_known else None,
        matched_without_predicted_track=int((matched_known & (table["hyp"] < 0)).sum()),
        id_switches=idsw,
        fragmentations=int(fragments.sum()),
        mot_counts=replace(counts, id_switches=idsw),
        mota=1.0 - n_errors / counts.gt if counts.gt else None,
        per_track=_per_track(table, correct, matched_known, switches, fragments, gt_track_names),
        frames_with_duplicate_gt_tracks=duplicates[0],
        frames_with_duplicate_predicted_tracks=duplicates[1],
    )


def _per_track(
    table: dict[str, np.ndarray],
    correct: np.ndarray,
    matched_known: np.ndarray,
    switches: np.ndarray,
    fragments: np.ndarray,
    gt_track_names: Sequence[str],
) -> dict[str, TrackIdentity]:
    """Identity metrics of each GT track that appears in the evaluated frames."""
    n_gt_tracks = len(gt_track_names)
    appear = np.bincount(table["gt"][table["gt"] >= 0], minlength=n_gt_tracks)
    matched_per = np.bincount(table["gt"][matched_known], minlength=n_gt_tracks)
    correct_per = np.bincount(table["gt"][correct], minlength=n_gt_tracks)
    return {
        name: TrackIdentity(
            gt_instances=int(appear[t]),
            matched=int(matched_per[t]),
            correct_identity=int(correct_per[t]),
            identity_accuracy=float(correct_per[t] / matched_per[t]) if matched_per[t] else None,
            id_switches=int(switches[t]),
            fragmentations=int(fragments[t]),
        )
        for t, name in enumerate(gt_track_names)
        if appear[t] > 0
    }


def _duplicate_tracks(frames: Sequence[TrackedFrame]) -> tuple[int, int]:
    """Frames where one track is used by two instances (GT, predictions)."""
    out = []
    for side in ("gt_tracks", "pred_tracks"):
        frame_ids = np.concatenate(
            [np.full(getattr(f, side).shape[0], i) for i, f in enumerate(frames)] or [np.zeros(0)]
        ).astype(np.int64)
        tracks = np.concatenate([getattr(f, side) for f in frames] or [np.zeros(0)]).astype(
            np.int64
        )
        known = tracks >= 0
        pairs = np.stack([frame_ids[known], tracks[known]], axis=1)
        unique, counts = np.unique(pairs, axis=0, return_counts=True)
        out.append(int(np.unique(unique[counts > 1, 0]).shape[0]))
    return out[0], out[1]
