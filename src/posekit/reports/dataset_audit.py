"""The dataset audit: every number of the composition table and its warnings, typed.

:func:`audit_dataset` computes a :class:`DatasetAudit` from a labels object and the
optional metadata CSV, ethogram, labeler files and split folder;
:meth:`DatasetAudit.to_dict` is the report JSON's ``results.dataset`` (described in
docs/reports.md). The HTML and the
figures are drawn from the same object (:mod:`posekit.reports.dataset_html`).
"""

from __future__ import annotations

import io
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from posekit.keypoints import visible_mask
from posekit.refinement.metadata import VideoMetadata, condition_label, read_metadata
from posekit.reports.dataset_composition import (
    AnimalsPerFrame,
    ColumnCoverage,
    Count,
    FrameCountCheck,
    FrameSize,
    animals_per_frame,
    column_coverage,
    count_by,
    frame_count_check,
    frame_sizes,
)
from posekit.reports.dataset_ethogram import BehaviourCoverage, behaviour_coverage, read_ethogram
from posekit.reports.dataset_frames import LabelledFrames, labelled_frames
from posekit.reports.dataset_labelers import LabelerAgreement, labeler_agreement
from posekit.reports.dataset_metadata import EMPTY, RecordingRows, recording_rows
from posekit.reports.dataset_pose import (
    NodeVisibility,
    PoseAlignment,
    PoseVariance,
    node_visibility,
    pose_variance,
)
from posekit.reports.dataset_split import SplitAudit, audit_split
from posekit.reports.dataset_warnings import (
    COMBINED,
    AuditWarning,
    behaviour_warnings,
    coverage_warnings,
    frame_count_warnings,
    labeler_warnings,
    pose_warnings,
    visibility_warnings,
)

if TYPE_CHECKING:
    import sleap_io as sio

PathLike = str | os.PathLike[str]


@dataclass(frozen=True, eq=False)
class DatasetAudit:
    """Everything the dataset audit measured.

    Attributes:
        source: the labels file.
        nodes: node names.
        frames: labelled frames.
        animals: labelled animals (user instances).
        recordings: recordings the frames come from.
        counts: ``{"video" | "animal" | "session" | <condition column>: [Count]}``.
        coverage: per condition column (and their combination), how its values are sampled.
        animals_per_frame: average, range and histogram.
        frame_count: the frames against the guide's table.
        pose: the pose-variance numbers over all animals.
        pose_by_condition: ``{column: {value: index}}``.
        visibility: per node.
        frame_sizes: image sizes with their frames.
        unknown_size_frames: frames whose size could not be read.
        metadata: the metadata rows per recording (None without a CSV).
        behaviour: behaviour coverage (None without an ethogram).
        labelers: labeler agreement (None without labeler files).
        split: the split folder's audit (None without one).
        warnings: the problems found, in plain sentences.
        notes: things worth knowing that are not problems.
        data: the labelled frames (for figures; not in the JSON).
        alignment: the aligned poses (for figures; not in the JSON).
    """

    source: str
    nodes: tuple[str, ...]
    frames: int
    animals: int
    recordings: tuple[str, ...]
    counts: dict[str, tuple[Count, ...]]
    coverage: tuple[ColumnCoverage, ...]
    animals_per_frame: AnimalsPerFrame
    frame_count: FrameCountCheck
    pose: PoseVariance
    pose_by_condition: dict[str, dict[str, float | None]]
    visibility: tuple[NodeVisibility, ...]
    frame_sizes: tuple[FrameSize, ...]
    unknown_size_frames: int
    metadata: RecordingRows | None
    behaviour: BehaviourCoverage | None
    labelers: LabelerAgreement | None
    split: SplitAudit | None
    warnings: tuple[AuditWarning, ...]
    notes: tuple[str, ...] = ()
    data: LabelledFrames | None = field(default=None, repr=False)
    alignment: PoseAlignment | None = field(default=None, repr=False)

    def warnings_of(self, kind: str) -> list[AuditWarning]:
        """The warnings of one kind."""
        return [w for w in self.warnings if w.kind == kind]

    def to_dict(self) -> dict[str, Any]:
        """The JSON object written under ``results.dataset`` of the report's JSON (the
        envelope's ``schema_version`` covers it)."""
        return {
            "source": self.source,
            "nodes": list(self.nodes), "frames": self.frames, "animals": self.animals,
            "recordings": list(self.recordings),
            "counts": {k: [c.to_dict() for c in v] for k, v in self.counts.items()},
            "coverage": [c.to_dict() for c in self.coverage],
            "animals_per_frame": self.animals_per_frame.to_dict(),
            "frame_count": self.frame_count.to_dict(), "pose": self.pose.to_dict(),
            "pose_by_condition": {k: dict(v) for k, v in self.pose_by_condition.items()},
            "visibility": [v.to_dict() for v in self.visibility],
            "frame_sizes": [s.to_dict() for s in self.frame_sizes],
            "unknown_size_frames": self.unknown_size_frames,
            "metadata": None if self.metadata is None else {
                "path": self.metadata.path, "unmatched": list(self.metadata.unmatched),
                "condition_columns": list(self.metadata.condition_columns),
                "unlabelled_rows": self.metadata.unlabelled_rows},
            "behaviour": None if self.behaviour is None else self.behaviour.to_dict(),
            "labelers": None if self.labelers is None else self.labelers.to_dict(),
            "split": None if self.split is None else self.split.to_dict(),
            "warnings": [w.to_dict() for w in self.warnings], "notes": list(self.notes),
        }


def _encoded_size(lf: sio.LabeledFrame) -> tuple[int, int] | None:
    """``(height, width)`` read from the image file's header (embedded PNG / JPEG bytes or
    an image file of a list), without decoding; None when not available."""
    from PIL import Image as PilImage

    video, index = lf.video, int(lf.frame_idx)
    try:
        raw = getattr(video.backend, "get_frame_raw_bytes", None) if video.is_open else None
        data = raw(index) if raw is not None else None
        if data is not None:
            with PilImage.open(io.BytesIO(np.asarray(data).tobytes())) as img:
                return int(img.size[1]), int(img.size[0])
        names = video.filename
        if isinstance(names, (list, tuple)) and 0 <= index < len(names):
            with PilImage.open(names[index]) as img:
                return int(img.size[1]), int(img.size[0])
    except Exception:  # noqa: BLE001 - fall back to decoding the frame
        return None
    return None


def _sizes(data: LabelledFrames) -> list[tuple[int, int] | None]:
    """Each frame's ``(height, width)``: the recording's shape for ordinary videos, the
    image's own size for image lists and embedded frames (which may differ frame by
    frame; read from the file header, else by decoding the frame)."""
    out: list[tuple[int, int] | None] = []
    for lf, rec in zip(data.frames, data.recording.tolist()):
        ident = data.identities[rec]
        if ident.shape is not None and not ident.image_list:
            out.append((ident.shape[1], ident.shape[2]))
            continue
        size = _encoded_size(lf)
        if size is None:
            try:
                image = lf.image
            except Exception:  # noqa: BLE001 - an unreadable frame has an unknown size
                image = None
            size = None if image is None else (int(image.shape[0]), int(image.shape[1]))
        out.append(size)
    return out


def _tables(data: LabelledFrames, meta: RecordingRows | None
            ) -> tuple[dict[str, tuple[Count, ...]], list[ColumnCoverage]]:
    """The count tables and the coverage of every condition column (and their
    combination)."""
    rec = data.recording.tolist()
    counts = {"video": tuple(count_by([data.recordings[r] for r in rec], data.n_animals,
                                      order=data.recordings))}
    coverage: list[ColumnCoverage] = []
    if meta is None:
        return counts, coverage
    for role, column in (("animal", meta.animal_column), ("session", meta.session_column)):
        if column:
            keys = [meta.rows[r][column] for r in rec]
            counts[role] = tuple(count_by(keys, data.n_animals, meta.listed[column]))
    for column in meta.condition_columns:
        keys = [meta.rows[r][column] for r in rec]
        cov = column_coverage(column, keys, data.n_animals, meta.listed[column])
        coverage.append(cov)
        counts[column] = cov.counts
    if len(meta.condition_columns) > 1:
        cols = meta.condition_columns
        combo = COMBINED.join(cols)
        keys = [condition_label(meta.rows[r], cols) for r in rec]
        listed = [condition_label({c: r.get(c) or EMPTY for c in cols}, cols)
                  for r in meta.csv_rows]
        coverage.append(column_coverage(combo, keys, data.n_animals, listed))
    return counts, coverage


def _pose_by_condition(data: LabelledFrames, meta: RecordingRows | None, pose: PoseVariance
                       ) -> tuple[dict[str, dict[str, float | None]], list[AuditWarning]]:
    """The pose-variance index per value of each condition column (same body axis)."""
    if meta is None:
        return {}, []
    out: dict[str, dict[str, float | None]] = {}
    warns: list[AuditWarning] = []
    animal_rec = data.recording[data.animal_frame]
    for column in meta.condition_columns:
        values = np.array([meta.rows[r][column] for r in animal_rec.tolist()], dtype=object)
        out[column] = {}
        for value in dict.fromkeys(values.tolist()):
            sub, _ = pose_variance(data.points[values == value], data.node_names,
                                   (pose.head_node, pose.tail_node))
            out[column][value] = sub.index
            warns += pose_warnings(sub, f"{column}={value}")
    return out, warns


def _notes(data: LabelledFrames, meta: RecordingRows | None, pose: PoseVariance,
           check: FrameCountCheck, unknown: int) -> tuple[list[str], list[AuditWarning]]:
    notes, warns = [], []
    if data.predicted_only_frames:
        notes.append(f"{data.predicted_only_frames} frame(s) hold predictions only; they are "
                     "not labels and are left out.")
    if pose.n_aligned < pose.n_animals:
        notes.append(f"{pose.n_animals - pose.n_aligned} of {pose.n_animals} animals lack "
                     f"{pose.head_node} or {pose.tail_node} (the body axis) and are left out "
                     "of the pose variance.")
    if not check.below_minimum and check.below_recommended:
        notes.append(f"{check.frames} frames meets the guide's minimum but not the "
                     f"{check.guide.recommended} it recommends after active learning for a "
                     f"{check.complexity} experiment.")
    if unknown:
        notes.append(f"the size of {unknown} frame(s) could not be read.")
    if len(data.recordings) == 1:
        warns.append(AuditWarning(
            "single_recording", data.recordings[0],
            f"every labelled frame comes from one recording ({data.recordings[0]}): the "
            "guide asks for frames from several recordings, sessions and animals."))
    if meta is not None and meta.unmatched:
        warns.append(AuditWarning(
            "no_metadata", ", ".join(meta.unmatched),
            f"{len(meta.unmatched)} recording(s) have no row in {Path(meta.path).name} "
            f"({', '.join(meta.unmatched[:5])}): their frames count as '(no metadata)'. Add "
            "a row per video."))
    if meta is not None and meta.unlabelled_rows:
        notes.append(f"{meta.unlabelled_rows} row(s) of the metadata match no labelled "
                     "recording.")
    return notes, warns


def audit_dataset(
    labels: sio.Labels,
    *,
    source: str = "labels",
    metadata: VideoMetadata | PathLike | None = None,
    condition_columns: Sequence[str] | None = None,
    ethogram: PathLike | None = None,
    labeler_files: Sequence[PathLike] = (),
    split: PathLike | None = None,
    axis: tuple[str, str] | None = None,
    hashes: bool = True,
) -> DatasetAudit:
    """Audit a labelled dataset (see docs/reports.md).

    Args:
        labels: the labels (not modified).
        source: its path, for messages and the report.
        metadata: a metadata CSV (path or :class:`VideoMetadata`), one row per video.
        condition_columns: metadata columns that define conditions (default: every column
            but ``animal`` and ``session``).
        ethogram: an ethogram CSV (video, start, stop, behaviour).
        labeler_files: two or more labelers' files of the same frames.
        split: a folder written by ``posekit labels split``.
        axis: ``(head, tail)`` nodes of the body axis (default: chosen automatically).
        hashes: compare split images by hash (decodes every frame of the split).

    Raises:
        DataError: no labelled frame, unreadable inputs, unknown columns.
        ValueError: an axis node is not in the skeleton.
    """
    data = labelled_frames(labels, source)
    meta = None
    if metadata is not None:
        table = metadata if isinstance(metadata, VideoMetadata) else read_metadata(metadata)
        meta = recording_rows(table, data.videos, data.recordings, condition_columns)
    counts, coverage = _tables(data, meta)
    per_frame = animals_per_frame(data.n_animals, visible_mask(data.points), data.animal_frame)
    check = frame_count_check(data.n_frames, per_frame)
    pose, alignment = pose_variance(data.points, data.node_names, axis)
    by_condition, condition_pose_warns = _pose_by_condition(data, meta, pose)
    visibility = node_visibility(data.points, data.node_names)
    sizes, unknown = frame_sizes(_sizes(data), [data.recordings[r] for r in data.recording])
    behaviour = None if ethogram is None else behaviour_coverage(
        read_ethogram(ethogram), data.videos, data.recording, data.frame_number,
        data.n_animals)
    agreement = labeler_agreement(labeler_files) if labeler_files else None
    split_audit = audit_split(split, hashes=hashes) if split is not None else None
    notes, note_warns = _notes(data, meta, pose, check, unknown)
    warns = [*frame_count_warnings(check, per_frame.max),
             *coverage_warnings(coverage, data.n_frames),
             *(behaviour_warnings(behaviour, data.n_frames) if behaviour else []),
             *[AuditWarning("split_leaks", side, message)
               for side, message in (split_audit.messages if split_audit else {}).items()],
             *visibility_warnings(visibility), *pose_warnings(pose), *condition_pose_warns,
             *(labeler_warnings(agreement) if agreement else []), *note_warns]
    return DatasetAudit(
        source=source, nodes=tuple(data.node_names), frames=data.n_frames,
        animals=len(data.points), recordings=tuple(data.recordings), counts=counts,
        coverage=tuple(coverage), animals_per_frame=per_frame, frame_count=check, pose=pose,
        pose_by_condition=by_condition, visibility=tuple(visibility),
        frame_sizes=tuple(sizes), unknown_size_frames=unknown, metadata=meta,
        behaviour=behaviour, labelers=agreement, split=split_audit, warnings=tuple(warns),
        notes=tuple(notes), data=data, alignment=alignment)
