"""Turn per-frame predictions into sleap-io ``Labels`` (with tracks when tracking)."""

from __future__ import annotations

import numpy as np
import sleap_io as sio

from posekit.decoding.predictors import FramePredictions


class LabelsBuilder:
    """Accumulates :class:`FramePredictions` per video into ``PredictedInstance`` frames.

    Identity models name tracks after their classes and store each instance's identity
    confidence as its ``tracking_score`` (as SLEAP does); with a tracker, tracks are named
    ``track_<id>`` and scored by the tracker. Frames must arrive in increasing order per video when tracking.
    """

    def __init__(self, skeleton: sio.Skeleton, class_names: tuple[str, ...] = ()) -> None:
        self.skeleton = skeleton
        self.class_tracks = [sio.Track(name=str(n)) for n in class_names]
        self.tracks: dict[int, sio.Track] = {}
        self.frames: list[sio.LabeledFrame] = []
        self.videos: list[sio.Video] = []
        self._tracker_video: object | None = None
        self._pending: list[tuple[sio.LabeledFrame, FramePredictions]] = []

    def _video(self, video: sio.Video | None) -> sio.Video:
        if video is None:
            video = sio.Video(filename="frames")
        for v in self.videos:
            if v is video:
                return v
        self.videos.append(video)
        return video

    def _track(self, track_id: int) -> sio.Track:
        if track_id not in self.tracks:
            self.tracks[track_id] = sio.Track(name=f"track_{track_id}")
        return self.tracks[track_id]

    def add(self, video: sio.Video | None, predictions: list[FramePredictions],
            images: np.ndarray | None = None, tracker=None) -> None:
        """Add one batch of predictions (and link them into tracks with ``tracker``)."""
        video = self._video(video)
        if tracker is not None and self._tracker_video is not video:
            tracker.reset()
            self._tracker_video = video
        for i, pred in enumerate(predictions):
            track_ids = None
            tracking_scores = None
            if tracker is not None:
                image = images[i] if images is not None else None
                track_ids = tracker.update(pred.frame_idx, pred.points, pred.instance_scores,
                                           image)
                tracking_scores = getattr(tracker, "tracking_scores", None)
            instances = []
            for n in range(len(pred.points)):
                track = None
                if pred.classes is not None and 0 <= pred.classes[n] < len(self.class_tracks):
                    track = self.class_tracks[int(pred.classes[n])]
                elif track_ids is not None and track_ids[n] >= 0:
                    track = self._track(int(track_ids[n]))
                score = None
                if pred.class_scores is not None:
                    score = float(pred.class_scores[n])  # identity confidence, as in SLEAP
                elif tracking_scores is not None and n < len(tracking_scores):
                    score = float(tracking_scores[n])
                instances.append(sio.PredictedInstance.from_numpy(
                    points_data=pred.points[n].astype(np.float64), skeleton=self.skeleton,
                    point_scores=pred.point_scores[n].astype(np.float64),
                    score=float(pred.instance_scores[n]), track=track,
                    tracking_score=score))
            self.frames.append(sio.LabeledFrame(video=video, frame_idx=int(pred.frame_idx),
                                                instances=instances))

    def finish(self, tracker=None) -> sio.Labels:
        """The accumulated ``Labels``."""
        tracks = [t for t in self.class_tracks] + [self.tracks[k] for k in sorted(self.tracks)]
        used = {id(inst.track) for lf in self.frames for inst in lf.instances
                if inst.track is not None}
        tracks = [t for t in tracks if id(t) in used or t in self.class_tracks]
        return sio.Labels(labeled_frames=self.frames, videos=self.videos,
                          skeletons=[self.skeleton], tracks=tracks)
