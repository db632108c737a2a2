"""``posekit report model``: gather what the model report needs from a run folder, predict
what is missing, and write the report.

This is the shell around :mod:`posekit.reports.model_report` (which never reads a file
or runs a model):

* **test frames**: ``--test LABELS`` predicted with the run's model; without it the run's
  validation split (``labels_gt.val.slp``) with the predictions training saved
  (``labels_pr.val.slp``), predicted again only when those are missing;
* **training frames**: a sample of at most ``train_sample`` frames of the run's training
  split (``labels_gt.train.slp``), predicted for the train-test gap;
* **metadata**: each frame's video looked up in the metadata CSV
  (:class:`posekit.refinement.metadata.VideoMetadata`);
* **training**: ``training_log.csv`` and ``training_config.yaml`` (steps and time) and the
  loss-curve diagnosis;
* **videos**: a predictions file is read as is; a video is predicted with the model.

A centered-instance model alone is run on the labelled animals' anchors (as training's
own evaluation does), which the report notes.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import sleap_io as sio

from posekit.errors import DataError, ModelError
from posekit.evaluation.pairs import FrameInputs, labels_inputs
from posekit.inference.run_folder import RunFolder, open_run_folder
from posekit.io.labels import load_labels
from posekit.refinement.metadata import VideoMetadata, read_metadata, video_identity
from posekit.reports.model_cutoffs import DEFAULT_P_CUTOFF
from posekit.reports.model_report import ModelStudy
from posekit.reports.model_training import TrainingSummary, training_summary
from posekit.reports.video_confidence import VideoScores, video_scores
from posekit.training.training_log import read_training_log

TRAIN_SAMPLE = 200
"""Training frames predicted at most for the train-test gap."""
PREDICTION_SUFFIXES = (".slp", ".h5", ".nwb")
"""A ``--video`` with one of these endings is a predictions file, read as is."""

Progress = Callable[[str], None]


@dataclass(frozen=True)
class ModelReportOptions:
    """What ``posekit report model`` was asked.

    Attributes:
        test: a labels file to test on (None: the run's validation split).
        metadata: the metadata CSV (None: no conditions or cohorts).
        videos: videos to predict, or predictions files, for video confidence.
        p_cutoff: the report's p-cutoff.
        train_sample: training frames predicted at most (0: no train-test gap).
        peak_threshold: the model's peak threshold when predicting.
        device: ``"auto"``, ``"cpu"``, ``"cuda"``...
        seed: seed of the training sample.
    """

    test: Path | None = None
    metadata: Path | None = None
    videos: tuple[Path, ...] = ()
    p_cutoff: float = DEFAULT_P_CUTOFF
    train_sample: int = TRAIN_SAMPLE
    peak_threshold: float = 0.2
    device: str = "auto"
    seed: int = 0


@dataclass
class GatheredStudy:
    """A :class:`ModelStudy` and what the page needs beside it.

    Attributes:
        study: the report's inputs.
        image_of: ``image_of(test frame index)`` -> its image (None when unreadable).
        inputs: what the report was made from (shown in the page and the JSON).
        diagnosis: the loss-curve diagnosis (None without a usable training log).
        notes: anything the user should know about how the inputs were obtained.
    """

    study: ModelStudy
    image_of: Callable[[int], np.ndarray | None]
    inputs: dict[str, str]
    diagnosis: object | None = None
    notes: list[str] = field(default_factory=list)


class _Predictor:
    """The run's model, loaded on first use."""

    def __init__(self, run: RunFolder, options: ModelReportOptions) -> None:
        self.run, self.options, self._model = run, options, None
        self.topdown = run.model_type.stage == "instances"

    def _load(self):
        if self.run.model_type.stage == "centroids":
            raise ModelError(
                f"{self.run.path}: a centroid model finds animals, not keypoints; expected "
                "a run folder of a keypoint model. Report on the centered-instance run "
                "(its predictions use the labelled anchors) or a bottom-up / single-animal "
                "run.")
        if self._model is None:
            from posekit.inference.pipeline import load_model

            self._model = load_model(self.run.path, backend="auto", device=self.options.device,
                                     gt_centroids=self.topdown,
                                     peak_threshold=self.options.peak_threshold)
        return self._model

    def labels(self, labels: sio.Labels) -> sio.Labels:
        """Predictions on every labelled frame of ``labels``."""
        from posekit.inference.pipeline import predict_source

        return predict_source(self._load(), labels, use_gt_centroids=self.topdown).labels

    def video(self, path: Path) -> sio.Labels:
        """Predictions on every frame of a video."""
        from posekit.inference.pipeline import predict_source

        if self.topdown:
            raise ModelError(
                f"{self.run.path}: a centered-instance model alone needs the labelled "
                f"anchors and cannot predict the video {path}; expected a single-animal or "
                "bottom-up run, or a predictions file (.slp) for --video.")
        return predict_source(self._load(), path).labels


def _subset(labels: sio.Labels, frames: Sequence[sio.LabeledFrame]) -> sio.Labels:
    return sio.Labels(labeled_frames=list(frames), videos=labels.videos,
                      skeletons=labels.skeletons, tracks=labels.tracks,
                      provenance=dict(labels.provenance))


def _labelled_frames(labels: sio.Labels) -> list[sio.LabeledFrame]:
    return [lf for lf in labels.labeled_frames
            if any(not isinstance(i, sio.PredictedInstance) for i in lf.instances)]


def train_sample(labels: sio.Labels, n: int, seed: int = 0) -> sio.Labels:
    """At most ``n`` labelled frames of ``labels`` drawn at random (all when fewer)."""
    frames = _labelled_frames(labels)
    if len(frames) > n:
        order = {id(v): i for i, v in enumerate(labels.videos)}
        frames = sorted(random.Random(seed).sample(frames, n),
                        key=lambda lf: (order.get(id(lf.video), -1), lf.frame_idx))
    return _subset(labels, frames)


class MetadataRows:
    """Each video's metadata row (None when the CSV has no row for it)."""

    def __init__(self, meta: VideoMetadata | None) -> None:
        self.meta = meta
        self.unmatched: list[str] = []
        self._cache: dict[int, dict[str, str] | None] = {}

    def row(self, video: sio.Video) -> dict[str, str] | None:
        """The row of ``video``'s recording."""
        if self.meta is None:
            return None
        key = id(video)
        if key not in self._cache:
            try:
                self._cache[key] = self.meta.lookup([video])[0]
            except DataError:
                self._cache[key] = None
                self.unmatched.append(video_identity(video).name)
        return self._cache[key]

    def for_inputs(self, labels: sio.Labels, inputs: FrameInputs) -> list[dict | None]:
        """Per evaluated frame, its video's row."""
        return [self.row(labels.videos[s]) for s in inputs.sources]

    def for_frames(self, labels: sio.Labels) -> list[dict | None]:
        """Per labelled frame of ``labels``, its video's row."""
        return [self.row(lf.video) for lf in _labelled_frames(labels)]


def run_training_summary(run: RunFolder, train: sio.Labels | None) -> TrainingSummary | None:
    """Steps and time of the run (None without a training log)."""
    from posekit.data.sampler import steps_per_epoch
    from posekit.evaluation import load_metrics

    path = run.path / "training_log.csv"
    log = read_training_log(path) if path.is_file() else None
    tc = run.config.trainer_config
    samples = None
    if train is not None:
        frames = _labelled_frames(train)
        samples = (sum(sum(not isinstance(i, sio.PredictedInstance) for i in lf.instances)
                       for lf in frames) if run.model_type.stage == "instances" else len(frames))
    batch = tc.train_data_loader.batch_size
    per_epoch = (steps_per_epoch(samples or 0, batch, tc.min_train_steps_per_epoch,
                                 tc.train_steps_per_epoch) if samples or
                 tc.train_steps_per_epoch else None)
    wall = None
    metrics_path = run.path / "metrics.val.json"
    if metrics_path.is_file():
        training = load_metrics(metrics_path).training
        wall = training.wall_time_s if training is not None else None
    if log is None and wall is None:
        return None
    return training_summary(log, max_epochs=tc.max_epochs, batch_size=batch,
                            per_epoch=per_epoch, train_samples=samples, wall_time_s=wall)


def _diagnosis(run_dir: Path, notes: list[str]):
    from posekit.reports.curve_diagnosis import diagnose_run

    try:
        return diagnose_run(run_dir)
    except DataError as exc:
        notes.append(f"No loss-curve diagnosis: {exc}")
        return None


def _test_frames(run: RunFolder, options: ModelReportOptions, predictor: _Predictor,
                 say: Progress, notes: list[str]) -> tuple[sio.Labels, sio.Labels, str]:
    """``(ground truth, predictions, name)`` of the test frames."""
    if options.test is not None:
        gt = load_labels(options.test)
        say(f"predicting the {len(_labelled_frames(gt))} labelled frames of {options.test}")
        return gt, predictor.labels(gt), Path(options.test).name
    gt_path, pr_path = run.path / "labels_gt.val.slp", run.path / "labels_pr.val.slp"
    if not gt_path.is_file():
        raise DataError(
            f"{run.path}: no labels_gt.val.slp (the validation split training saves); "
            "expected a posekit run folder. Give the test frames with --test LABELS.")
    gt = load_labels(gt_path)
    if pr_path.is_file():
        return gt, load_labels(pr_path), "validation split"
    say("predicting the validation split (labels_pr.val.slp is missing)")
    notes.append("The run has no labels_pr.val.slp: the validation split was predicted again.")
    return gt, predictor.labels(gt), "validation split"


def _video_scores(paths: Sequence[Path], predictor: _Predictor, say: Progress
                  ) -> list[VideoScores]:
    out: list[VideoScores] = []
    for path in paths:
        path = Path(path)
        if not path.exists():
            raise DataError(f"{path}: --video not found; expected a video file or a "
                            "predictions file (.slp). Check the path.")
        if path.name.lower().endswith(PREDICTION_SUFFIXES):
            out.extend(video_scores(load_labels(path)))
        else:
            say(f"predicting every frame of {path}")
            out.extend(video_scores(predictor.video(path), name=path.name))
    return out


def frame_names(labels: sio.Labels, inputs: FrameInputs) -> tuple[str, ...]:
    """A display name per evaluated frame: ``video.mp4:120``, or the image's
    ``folder/file.png`` for image folders (DeepLabCut projects)."""
    out = []
    for source, index in zip(inputs.sources, inputs.frame_indices):
        identity = video_identity(labels.videos[source])
        token = identity.frame_token(index)
        out.append(token if isinstance(token, str) else f"{identity.name}:{index}")
    return tuple(out)


def _image_reader(labels: sio.Labels, inputs: FrameInputs) -> Callable[[int], np.ndarray | None]:
    def image_of(index: int) -> np.ndarray | None:
        try:
            return np.asarray(labels.videos[inputs.sources[index]][inputs.frame_indices[index]])
        except Exception:  # noqa: BLE001 - an unreadable frame is simply not drawn
            return None

    return image_of


def gather_study(run_dir: str | Path, options: ModelReportOptions,
                 say: Progress = lambda _: None) -> GatheredStudy:
    """Everything the model report is computed from (see the module notes).

    Raises:
        ModelError: not a run folder, or a model that does not predict keypoints.
        DataError: no test frames, unreadable inputs, a metadata CSV that cannot be read.
    """
    run = open_run_folder(run_dir)
    notes: list[str] = []
    predictor = _Predictor(run, options)
    meta = MetadataRows(read_metadata(options.metadata) if options.metadata else None)
    gt, pred, name = _test_frames(run, options, predictor, say, notes)
    test = labels_inputs(gt, pred)
    train_path = run.path / "labels_gt.train.slp"
    train_labels = load_labels(train_path) if train_path.is_file() else None
    train, n_train = None, None
    if train_labels is not None and options.train_sample > 0:
        sample = train_sample(train_labels, options.train_sample, options.seed)
        n_train = len(_labelled_frames(train_labels))
        say(f"predicting {len(sample.labeled_frames)} of {n_train} training frames")
        train = labels_inputs(sample, predictor.labels(sample))
    standard = None
    if options.test is not None and (run.path / "labels_pr.val.slp").is_file():
        standard = labels_inputs(load_labels(run.path / "labels_gt.val.slp"),
                                 load_labels(run.path / "labels_pr.val.slp"))
    diagnosis = _diagnosis(run.path, notes)
    if predictor.topdown:
        notes.append("A centered-instance model alone: animals were cropped around the "
                     "labelled anchors (ground-truth centroids).")
    study = ModelStudy(
        test=test, test_name=name, frame_names=frame_names(gt, test), test_rows=meta.for_inputs(gt, test) if meta.meta else None,
        train=train, train_frames_total=n_train,
        train_rows=meta.for_frames(train_labels) if meta.meta and train_labels else None,
        standard=standard, training=run_training_summary(run, train_labels),
        videos=tuple(_video_scores(options.videos, predictor, say)),
        p_cutoff=options.p_cutoff,
        curve_actions=tuple(getattr(diagnosis, "actions", ()) or ()),
    )
    if meta.unmatched:
        notes.append(f"{options.metadata}: no row for the videos "
                     f"{sorted(set(meta.unmatched))} (of the test or training frames); their "
                     "frames are left out of conditions and cohorts.")
    inputs = {"run_dir": str(run_dir), "test": str(options.test or name)}
    if options.metadata:
        inputs["metadata"] = str(options.metadata)
    for i, v in enumerate(options.videos):
        inputs[f"video_{i + 1}"] = str(v)
    return GatheredStudy(study, _image_reader(gt, test), inputs, diagnosis, notes)


def check_p_cutoff(value: float) -> float:
    """``value`` if it is a usable p-cutoff (0 to 1), else a ConfigError."""
    from posekit.errors import ConfigError

    if not math.isfinite(value) or not 0.0 <= value <= 1.0:
        raise ConfigError(f"--p-cutoff {value}: expected a score between 0 and 1, e.g. 0.6 "
                          "(DeepLabCut's default) or 0.9.")
    return value


def write_model_report(run_dir: str | Path, options: ModelReportOptions, html_path: Path,
                       json_path: Path, say: Progress = lambda _: None):
    """Gather, compute and write the model report; ``(html, json, ModelResults)``."""
    from posekit.reports.model_curves import training_curve_sections
    from posekit.reports.model_html import model_report
    from posekit.reports.model_report import evaluate_study, model_results
    from posekit.reports.output import write_report

    gathered = gather_study(run_dir, options, say)
    study = gathered.study
    say("computing the report")
    evaluated = evaluate_study(study)
    results = model_results(study, evaluated)
    extra = (training_curve_sections(gathered.diagnosis) if gathered.diagnosis is not None
             else [])
    report = model_report(study, results, evaluated, title=f"Model report - {Path(run_dir).name}",
                          inputs=gathered.inputs, image_of=gathered.image_of,
                          extra_sections=extra, notes=gathered.notes)
    if gathered.diagnosis is not None:
        report.add_result("curves", gathered.diagnosis)
    html, js = write_report(report, html_path, json_path)
    return html, js, results
