"""Apply the tracker's clean-up post-pass to tracked predictions (``sio.Labels``)."""

from __future__ import annotations

import numpy as np
import sleap_io as sio

from posekit.tracking import TrackingConfig, cleanup_tracks


def needs_postpass(config: TrackingConfig) -> bool:
    """Whether any clean-up step is switched on."""
    return (config.min_track_length > 1 or config.max_gap > 0
            or config.merge_max_gap > 0)


def apply_postpass(labels: sio.Labels, config: TrackingConfig) -> sio.Labels:
    """Remove short tracks, merge fragments and fill gaps, per video; returns ``labels``.

    Interpolated poses are added as predicted instances with score 0 (SLEAP's convention
    for instances that are not detections).
    """
    skeleton = labels.skeletons[0]
    all_tracks: dict[int, sio.Track] = {}
    for video in labels.videos:
        frames = sorted((lf for lf in labels.labeled_frames if lf.video is video),
                        key=lambda lf: lf.frame_idx)
        if not frames:
            continue
        track_index = {id(t): i for i, t in enumerate(labels.tracks)}
        points = [np.stack([inst.numpy() for inst in lf.instances]).astype(np.float32)
                  if lf.instances else np.zeros((0, len(skeleton.nodes), 2), np.float32)
                  for lf in frames]
        ids = [np.asarray([track_index.get(id(inst.track), -1) if inst.track is not None
                           else -1 for inst in lf.instances], np.int64) for lf in frames]
        new_ids, interpolated = cleanup_tracks([lf.frame_idx for lf in frames], points, ids,
                                               config)

        def track(i: int) -> sio.Track:
            if i not in all_tracks:
                all_tracks[i] = sio.Track(name=f"track_{i}")
            return all_tracks[i]

        by_frame = {lf.frame_idx: lf for lf in frames}
        for lf, row in zip(frames, new_ids):
            for inst, tid in zip(lf.instances, row):
                inst.track = track(int(tid)) if tid >= 0 else None
        for f, tid, pts in zip(interpolated.frame_indices, interpolated.track_ids,
                               interpolated.points):
            inst = sio.PredictedInstance.from_numpy(
                points_data=pts.astype(np.float64), skeleton=skeleton,
                point_scores=np.zeros(len(pts)), score=0.0, track=track(int(tid)))
            lf = by_frame.get(int(f))
            if lf is None:
                lf = sio.LabeledFrame(video=video, frame_idx=int(f), instances=[])
                labels.labeled_frames.append(lf)
                by_frame[int(f)] = lf
            lf.instances.append(inst)
    labels.tracks = [all_tracks[k] for k in sorted(all_tracks)]
    labels.labeled_frames.sort(key=lambda lf: (labels.videos.index(lf.video), lf.frame_idx))
    return labels
