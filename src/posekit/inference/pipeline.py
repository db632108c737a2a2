"""Load trained models and run them over videos, image folders or labels files.

``load_model(run_dir, ...)`` returns a predictor for one model (single instance, bottom-up,
multi-class bottom-up) or for a centroid + centered-instance pair (top-down); its
``predict`` accepts frames (numpy) or a path / ``sio.Labels`` and returns predictions.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import sleap_io as sio

from posekit.data.info import DataInfo
from posekit.decoding.predictors import FramePredictions, Predictor
from posekit.errors import ConfigError, DataError, ModelError
from posekit.inference.backends import make_backend
from posekit.inference.run_folder import RunFolder, open_run_folder

if TYPE_CHECKING:
    from posekit.decoding.class_map_grouping import ClassMapGroupingParams
    from posekit.decoding.paf_grouping import PAFGroupingParams

PathLike = str | os.PathLike[str]


@dataclass
class InferenceSettings:
    """User options shared by every predictor.

    ``grouping`` sets bottom-up PAF grouping (:class:`~posekit.decoding.paf_grouping.
    PAFGroupingParams`), ``class_grouping`` multi-class bottom-up grouping
    (:class:`~posekit.decoding.class_map_grouping.ClassMapGroupingParams`); ``None`` keeps
    their defaults.
    """

    peak_threshold: float = 0.2
    max_instances: int | None = None
    refinement: str | None = "integral"
    backend: str = "auto"
    device: str = "auto"
    batch_size: int = 8
    gt_centroids: bool = False
    precision: str = "auto"
    grouping: PAFGroupingParams | None = None
    class_grouping: ClassMapGroupingParams | None = None
    skeleton_check: bool = True


def build_predictor(runs: Sequence[RunFolder], settings: InferenceSettings) -> Predictor:
    """The predictor for one run folder, or a first-stage + second-stage pair.

    Each run's model type says how it is used (its ``stage``): ``"alone"`` predicts by
    itself; ``"instances"`` needs a ``"centroids"`` model first (or ground-truth centroids
    with ``gt_centroids``).
    """
    s = settings
    backend = lambda run: make_backend(run, s.backend, s.device, s.refinement, s.precision)
    by_stage: dict[str, list[RunFolder]] = {}
    for run in runs:
        by_stage.setdefault(run.model_type.stage, []).append(run)
    if len(runs) == 1:
        run = runs[0]
        if run.model_type.stage == "alone" or (run.model_type.stage == "instances"
                                               and s.gt_centroids):
            return run.model_type.make_predictor(run, backend(run), s)
        if run.model_type.stage == "instances":
            raise ModelError(
                f"{run.path}: a {run.head_type} model predicts poses in crops around "
                "centroids; top-down inference needs the centroid model too. Expected --model "
                f"CENTROID_RUN --model {run.path}."
            )
        return run.model_type.make_predictor(run, backend(run), s)  # refuses, saying why
    if len(runs) == 2 and [len(by_stage.get(k, ())) for k in ("centroids", "instances")] == [1, 1]:
        first, second = by_stage["centroids"][0], by_stage["instances"][0]
        finder = first.model_type.make_finder(first, backend(first), s)
        return second.model_type.make_predictor(second, backend(second), s, centroids=finder)
    raise ModelError(
        f"models {', '.join(str(r.path) for r in runs)} "
        f"({', '.join(r.head_type for r in runs)}): expected one model that predicts alone "
        "(single_instance, bottomup, multi_class_bottomup), or a centroid model plus a "
        "centered_instance or multi_class_topdown model."
    )


class PosePredictor:
    """A ready-to-use predictor: ``predict(frames)`` or ``predict(path_or_labels)``."""

    def __init__(self, runs: Sequence[RunFolder], settings: InferenceSettings) -> None:
        self.runs = list(runs)
        self.settings = settings
        self.predictor = build_predictor(self.runs, settings)

    @property
    def skeleton(self) -> sio.Skeleton:
        """The skeleton of the predicted instances."""
        info = self.predictor.info
        names = list(info.node_names)
        return sio.Skeleton(
            nodes=list(names), edges=[(names[a], names[b]) for a, b in info.edges],
            symmetries=[(names[a], names[b]) for a, b in info.symmetries],
            name=info.skeleton_name)

    def predict_frames(self, frames: np.ndarray, frame_indices: Sequence[int] | None = None
                       ) -> list[FramePredictions]:
        """Predict ``uint8`` frames.

        Shapes: ``(B, H, W, C)`` a batch; ``(H, W, C)`` with ``C`` 1 or 3 one image;
        ``(B, H, W)`` a batch of grayscale frames; ``(H, W)`` one grayscale image.
        """
        arr = np.asarray(frames)
        if arr.dtype != np.uint8:
            raise ModelError(f"frames: dtype {arr.dtype}; expected uint8 images (0-255).")
        if arr.ndim == 2 or (arr.ndim == 3 and arr.shape[-1] in (1, 3)):
            arr = arr[None]
        if arr.ndim == 3:
            arr = arr[..., None]
        if arr.ndim != 4:
            raise ModelError(f"frames: shape {arr.shape}; expected (batch, height, width, "
                             "channels) uint8 images.")
        indices = np.arange(len(arr)) if frame_indices is None else np.asarray(frame_indices)
        out: list[FramePredictions] = []
        bs = max(1, self.settings.batch_size)
        for start in range(0, len(arr), bs):
            out.extend(self.predictor.predict_frames(arr[start:start + bs],
                                                     indices[start:start + bs]))
        return out

    def predict(self, data: np.ndarray | PathLike | sio.Labels, **kwargs):
        """Frames -> list of :class:`FramePredictions`; a path or labels -> ``sio.Labels``."""
        if isinstance(data, np.ndarray):
            return self.predict_frames(data, kwargs.get("frame_indices"))
        return predict_source(self, data, **kwargs).labels


def load_model(*paths: PathLike, peak_threshold: float = 0.2, max_instances: int | None = None,
               refinement: str | None = "integral", backend: str = "auto",
               device: str = "auto", batch_size: int = 8,
               gt_centroids: bool = False, precision: str = "auto",
               grouping: PAFGroupingParams | Mapping[str, Any] | None = None,
               class_grouping: ClassMapGroupingParams | Mapping[str, Any] | None = None,
               skeleton_check: bool = True,
               ) -> PosePredictor:
    """Load one run folder (or a centroid + centered-instance pair) for prediction.

    ``gt_centroids`` lets a centered-instance model run alone, cropping around anchors
    given with the frames (``predict_source(..., use_gt_centroids=True)`` on labels).
    ``precision`` ``"auto"`` uses a run's int8 graph only when its measured accuracy change
    is negligible; ``"fp32"`` never, ``"int8"`` always (see :mod:`posekit.inference.quantize`).
    ``grouping`` (bottom-up PAF grouping) and ``class_grouping`` (multi-class bottom-up)
    take the settings objects or a mapping of their fields, e.g.
    ``grouping={"min_line_score": 0.3, "max_edge_length_ratio": 0.5}``.
    ``skeleton_check`` lets a single-instance model pick, per node, the peak whose bones
    have training-label lengths instead of the highest one, and drop points no bone
    supports (:mod:`posekit.decoding.skeleton_consistency`); ``False`` keeps global peaks.
    """
    if len(paths) == 1 and isinstance(paths[0], (list, tuple)):
        paths = tuple(paths[0])
    if not paths:
        raise ModelError("load_model: no model given; expected at least one run folder.")
    runs = [open_run_folder(p) for p in paths]
    settings = InferenceSettings(peak_threshold, max_instances, refinement, backend, device,
                                 batch_size, gt_centroids, precision,
                                 grouping_settings(grouping, "grouping"),
                                 grouping_settings(class_grouping, "class_grouping"),
                                 bool(skeleton_check))
    return PosePredictor(runs, settings)


def grouping_settings(value: object, field_name: str, source: str = "load_model") -> Any:
    """``value`` as :class:`PAFGroupingParams` (``field_name="grouping"``) or
    :class:`ClassMapGroupingParams` (``"class_grouping"``); ``None`` stays ``None``.

    Raises:
        InvalidConfigError: a mapping names settings that do not exist or values out of
            range (every problem is listed, each naming ``source``).
    """
    if value is None:
        return None
    if field_name == "grouping":
        from posekit.decoding.paf_grouping import PAFGroupingParams as cls
    else:
        from posekit.decoding.class_map_grouping import ClassMapGroupingParams as cls
    if isinstance(value, cls):
        return value
    if not isinstance(value, Mapping):
        raise ConfigError(f"{source}: {field_name}: got {type(value).__name__}; expected a "
                          f"mapping of {cls.__name__} fields or a {cls.__name__}.")
    return cls.from_dict(value, source)


@dataclass
class InferenceReport:
    """What one inference run produced and how fast."""

    labels: sio.Labels
    frames: int
    seconds: float
    skipped: list = field(default_factory=list)
    backend: str = ""

    @property
    def frames_per_second(self) -> float:
        """Frames predicted per second of wall time."""
        return self.frames / self.seconds if self.seconds > 0 else float("nan")


def predict_source(model: PosePredictor, source: PathLike | sio.Labels,
                   frames: Sequence[int] | range | str | None = None, tracker=None,
                   progress: Callable[[int, int], None] | None = None,
                   use_gt_centroids: bool = False) -> InferenceReport:
    """Predict every requested frame of a video, image folder or labels file.

    Args:
        model: From :func:`load_model`.
        source: Path of a video / image folder / labels file, or ``sio.Labels``.
        frames: Frame indices or text such as ``"0-999"``.
        tracker: A :class:`posekit.tracking.Tracker` to link instances into tracks; its
            clean-up post-pass (short tracks, fragments, gaps), when its configuration asks
            for one, runs on the result.
        progress: Called as ``progress(done, total)`` after every batch.
        use_gt_centroids: With a centered-instance model alone and a labels source, crop
            around the labelled instances' anchors instead of running a centroid model.
    """
    from posekit.inference.labels_builder import LabelsBuilder
    from posekit.io.sources import open_frame_source

    src = open_frame_source(source, frames, batch_size=model.settings.batch_size, prefetch=2)
    src.prepare = model.predictor.prepare  # resizing runs on the decoding thread
    labels_in = getattr(src, "labels", None)
    if labels_in is not None:
        check_skeleton(labels_in, model, str(source) if not isinstance(source, sio.Labels)
                       else "labels")
    builder = LabelsBuilder(model.skeleton, model.predictor.class_names)
    gt_anchor = None
    if use_gt_centroids:
        if labels_in is None:
            raise DataError(f"{source}: ground-truth centroids need a labels file (.slp, "
                            ".pkg.slp or a DeepLabCut project) as the source; got frames "
                            "without labels. Pair the model with a centroid model instead.")
        gt_anchor = labelled_anchor_lookup(labels_in, model.predictor.info)
    done, start = 0, time.perf_counter()
    for batch in src:
        extra = {}
        if gt_anchor is not None:
            extra["centroids"] = [gt_anchor(batch.video, int(f)) for f in batch.frame_indices]
        preds = model.predictor.predict_frames(batch.images, batch.frame_indices,
                                               prepared=batch.prepared, **extra)
        builder.add(batch.video, preds, batch.images if tracker is not None else None, tracker)
        done += len(batch.frame_indices)
        if progress is not None:
            progress(done, len(src))
    seconds = time.perf_counter() - start
    labels = builder.finish(tracker)
    if tracker is not None:
        from posekit.inference.track_postpass import apply_postpass, needs_postpass

        if needs_postpass(tracker.config):
            labels = apply_postpass(labels, tracker.config)
    labels.provenance["posekit_models"] = [str(r.path) for r in model.runs]
    labels.provenance["posekit_checkpoint_sha256"] = [r.checkpoint_digest for r in model.runs]
    backends = {getattr(b, "name", "") for b in _backends(model.predictor)}
    return InferenceReport(labels, done, seconds, list(getattr(src, "skipped", [])),
                           ",".join(sorted(backends)))


def check_skeleton(labels: sio.Labels, model: PosePredictor, where: str) -> None:
    """Refuse labels whose skeleton lacks nodes the model predicts (wrong model / project)."""
    names: set[str] = set()
    for skeleton in labels.skeletons:
        names.update(skeleton.node_names)
    if not names:
        return
    missing = [n for n in model.predictor.node_names if n not in names]
    if missing:
        raise DataError(
            f"{where}: the labels' skeleton ({', '.join(sorted(names))}) lacks the model's nodes "
            f"{missing}; expected labels of the project the model was trained on "
            f"({', '.join(model.predictor.node_names)}). Check --model, or predict on the video "
            "file itself."
        )


def _backends(predictor: Predictor) -> list:
    return [getattr(predictor, name) for name in ("backend", "centroid_backend",
                                                   "instance_backend")
            if getattr(predictor, name, None) is not None]


def labelled_anchor_lookup(labels: sio.Labels, info: DataInfo
                           ) -> Callable[[sio.Video | None, int], np.ndarray]:
    """``(video, frame_idx) -> (n, 2)`` anchors of a frame's user instances.

    Anchors follow :func:`posekit.keypoints.anchor_points` (anchor node, else bounding-box
    midpoint); instances without a visible node are left out; unlabelled frames give
    ``(0, 2)``. Videos are matched by identity with ``labels.videos``.
    """
    from posekit.io.frames import FrameTable
    from posekit.keypoints import anchor_points

    table = FrameTable.from_labels(labels, list(info.node_names))
    by_key: dict[tuple[int, int], np.ndarray] = {}
    for i, (video, frame_idx) in enumerate(table.keys):
        anchors = anchor_points(table.points(i), info.anchor_index)
        by_key[(int(video), int(frame_idx))] = anchors[np.isfinite(anchors).all(axis=1)]
    video_index = {id(v): i for i, v in enumerate(labels.videos)}

    def lookup(video: sio.Video | None, frame_idx: int) -> np.ndarray:
        key = (video_index.get(id(video), -1), int(frame_idx))
        return by_key.get(key, np.zeros((0, 2)))

    return lookup
