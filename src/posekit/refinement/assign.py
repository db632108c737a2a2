"""Split frames among labelers so that a share of them is labelled by several people.

The refinement guide's protocol (batch assignment): distribute the frames to label among
the labelers with a 20 % overlap, "1 in 5 frames is annotated by 2+ labelers", so the
inter-labeler agreement (ILA) can be measured on the shared frames and the labels of
those frames combined into a consensus (``posekit labels consensus``).

**Which frames.** The frames of the input file to be labelled: its suggestions (what
``posekit frames extract`` writes) and its labelled frames (what ``posekit frames
outliers`` writes), the same frame listed twice counted once (``frames="all"``, the
default); ``"suggestions"`` or ``"labeled"`` keeps one kind only.

**Which frames are shared.** ``round(overlap * N)`` frames (halves round up) are labelled
by ``shared_by`` labelers (default 2; ``None``: every labeler). They are spread over the
conditions (metadata columns), then over the videos of each condition, in proportion to
their frames (largest remainder), then drawn at random within a video.

**Who labels what.** Frames are given out one at a time, shared frames first. A shared
frame goes to the labelers who share fewest frames so far, each next one chosen to pair
with the others least often (so every pair of labelers shares about as many frames, which
the pairwise ILA needs). A frame labelled once goes to the labeler with the fewest frames
of its condition, then of its video, then overall. Remaining ties are broken at random
with ``seed``: the same seed and input give the same assignment.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from posekit.config.problems import Problem
from posekit.config.rules import (
    RuleTable,
    check_settings,
    choice,
    non_empty,
    number,
    probability,
    rule,
)
from posekit.errors import ConfigError, DataError
from posekit.io.slp import is_embedded
from posekit.refinement.clustering import allocate
from posekit.refinement.metadata import (
    VideoGroups,
    VideoMetadata,
    condition_label,
    read_metadata,
)

if TYPE_CHECKING:
    import sleap_io as sio

PathLike = str | os.PathLike[str]
FRAME_KINDS = ("all", "suggestions", "labeled")
MANIFEST_NAME = "assign_manifest.json"
MANIFEST_FORMAT = 1
_NAME = re.compile(r"\w[\w.\-]*")


@rule("labelers")
def _labeler_names(settings: Any, path: str) -> Iterator[Problem]:
    bad = [n for n in settings.labelers if not _NAME.fullmatch(str(n))]
    if bad:
        yield Problem("labelers", f"names {bad} cannot be file names",
                      "letters, digits, '_', '-' or '.' (not first)",
                      "Each labeler gets NAME.slp: use names such as anna or lab_2.")
    folded = [str(n).lower() for n in settings.labelers]
    twice = sorted({n for n in settings.labelers if folded.count(str(n).lower()) > 1})
    if twice:
        yield Problem("labelers", f"names are repeated {twice} (case is ignored: the files "
                      "would collide on macOS and Windows)", "distinct names",
                      "Give every labeler a different name.")


@rule("labelers", "overlap", "shared_by")
def _enough_labelers(settings: Any, path: str) -> Iterator[Problem]:
    k = len(settings.labelers)
    if settings.overlap > 0 and k < 2:
        yield Problem("labelers", f"{k} labeler(s) with overlap {settings.overlap}",
                      "at least 2 labelers when frames are to be shared",
                      "Name two or more labelers, or use --overlap 0.")
    elif settings.shared_by is not None and settings.overlap > 0 and settings.shared_by > k:
        yield Problem("shared_by", f"{settings.shared_by} labelers per shared frame but only "
                      f"{k} labelers", f"at most {k}",
                      "Lower --shared-by, or use --shared-by all.")


RULES: RuleTable = {
    "": (
        probability("overlap", hint="The refinement guide uses 0.2 (1 frame in 5 labelled "
                    "by two or more labelers)."),
        non_empty("labelers", "Name the labelers, e.g. --labelers anna,ben,carla."),
        number("shared_by", 2, hint="A shared frame is labelled by 2 or more labelers."),
        choice("frames", FRAME_KINDS),
        _labeler_names,
        _enough_labelers,
    )
}


@dataclass(frozen=True)
class AssignSettings:
    """How frames are split among labelers (see the module notes).

    Attributes:
        labelers: Labeler names (each gets ``NAME.slp``).
        overlap: Share of the frames labelled by several labelers (the guide's 0.2).
        shared_by: Labelers per shared frame (``None``: all of them).
        seed: Seed of the random choices.
        frames: Which frames of the input: ``all``, ``suggestions`` or ``labeled``.
        condition_columns: Metadata columns defining a condition (default: ``treatment``
            when the metadata has it).
        keep_predictions: Copy the input's predicted instances of a frame into the
            labelers' files as starting points (they anchor the labelers, so the measured
            agreement is then higher than independent labelling would give).
    """

    labelers: tuple[str, ...]
    overlap: float = 0.2
    shared_by: int | None = 2
    seed: int = 0
    frames: str = "all"
    condition_columns: tuple[str, ...] | None = None
    keep_predictions: bool = False

    def __post_init__(self) -> None:
        check_settings(self, "", RULES, source="labels assign")

    def to_dict(self) -> dict[str, Any]:
        """JSON-friendly copy of every setting."""
        return {k: (list(v) if isinstance(v, tuple) else v) for k, v in self.__dict__.items()}


@dataclass(frozen=True)
class AssignedFrame:
    """One frame to label and who labels it."""

    video: sio.Video = field(repr=False)
    frame_idx: int
    video_name: str
    condition: str
    labelers: tuple[str, ...]
    source: sio.LabeledFrame | None = field(default=None, repr=False, compare=False)

    @property
    def shared(self) -> bool:
        """Whether two or more labelers label this frame."""
        return len(self.labelers) > 1


@dataclass
class Assignment:
    """Who labels which frame, and what is needed to write the labelers' files."""

    settings: AssignSettings
    frames: list[AssignedFrame]
    skeletons: list
    source: str | None = None
    metadata: str | None = None
    condition_columns: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def frames_of(self, labeler: str) -> list[AssignedFrame]:
        """The frames ``labeler`` labels (sorted by video and frame)."""
        return [f for f in self.frames if labeler in f.labelers]

    @property
    def n_shared(self) -> int:
        """Frames labelled by two or more labelers."""
        return sum(f.shared for f in self.frames)

    def labels_for(self, labeler: str) -> sio.Labels:
        """``labeler``'s labels file: the frames as suggestions (the SLEAP GUI lists them
        under *Labeling Suggestions*), the input's skeletons, the videos referenced; with
        ``keep_predictions`` also the input's predicted instances of those frames."""
        import sleap_io as sio

        frames = self.frames_of(labeler)
        videos = list({id(f.video): f.video for f in frames}.values())
        labeled = []
        if self.settings.keep_predictions:
            for f in frames:
                preds = [_copy_prediction(p) for p in (f.source.predicted_instances
                                                       if f.source is not None else [])]
                if preds:
                    labeled.append(sio.LabeledFrame(video=f.video, frame_idx=f.frame_idx,
                                                    instances=preds))
        out = sio.Labels(labeled_frames=labeled, videos=videos, skeletons=list(self.skeletons),
                         suggestions=[sio.SuggestionFrame(video=f.video, frame_idx=f.frame_idx)
                                      for f in frames])
        out.provenance["posekit_assign"] = {"labeler": labeler, "source": self.source,
                                            "seed": self.settings.seed, "frames": len(frames)}
        return out

    def counts(self) -> dict[str, Any]:
        """Frames per labeler, per labeler x video (and x condition), per pair, per video."""
        names = list(self.settings.labelers)
        out: dict[str, Any] = {
            "per_labeler": {n: 0 for n in names}, "shared_per_labeler": {n: 0 for n in names},
            "per_labeler_video": {n: {} for n in names}, "per_video": {}}
        if self.condition_columns:
            out["per_labeler_condition"] = {n: {} for n in names}
            out["per_condition"] = {}
        pairs: dict[str, int] = {}
        for f in self.frames:
            for n in f.labelers:
                out["per_labeler"][n] += 1
                out["shared_per_labeler"][n] += int(f.shared)
                _bump(out["per_labeler_video"][n], f.video_name)
                if self.condition_columns:
                    _bump(out["per_labeler_condition"][n], f.condition)
            for where, key in (("per_video", f.video_name), ("per_condition", f.condition)):
                if where in out:
                    row = out[where].setdefault(key, {"frames": 0, "shared": 0})
                    row["frames"] += 1
                    row["shared"] += int(f.shared)
            members = sorted(f.labelers, key=names.index)
            for i, a in enumerate(members):
                for b in members[i + 1:]:
                    _bump(pairs, f"{a}+{b}")
        out["shared_per_pair"] = pairs
        return out

    def manifest(self) -> dict[str, Any]:
        """Everything about the assignment as JSON-ready data (``assign_manifest.json``)."""
        from posekit import __version__

        n = len(self.frames)
        return {
            "kind": "posekit labels assign", "format": MANIFEST_FORMAT,
            "posekit_version": __version__, "source": self.source, "metadata": self.metadata,
            "condition_columns": self.condition_columns, "settings": self.settings.to_dict(),
            "labelers": list(self.settings.labelers), "n_frames": n, "n_shared": self.n_shared,
            "requested_overlap": self.settings.overlap,
            "achieved_overlap": self.n_shared / n if n else 0.0,
            "counts": self.counts(),
            "shared_frames": [[f.video_name, f.frame_idx] for f in self.frames if f.shared],
            "frames": [{"video": f.video_name, "video_path": _filename(f.video),
                        "frame_idx": f.frame_idx, "condition": f.condition,
                        "labelers": list(f.labelers), "shared": f.shared}
                       for f in self.frames],
            "notes": list(self.notes), "files": {},
        }


def _bump(counts: dict[str, int], key: str) -> None:
    counts[key] = counts.get(key, 0) + 1


def _filename(video: sio.Video) -> str:
    name = video.filename
    return str(name[0] if isinstance(name, (list, tuple)) and name else name)


def _copy_prediction(inst: sio.PredictedInstance) -> sio.PredictedInstance:
    import sleap_io as sio

    return sio.PredictedInstance.from_numpy(
        points_data=inst.numpy(), skeleton=inst.skeleton,
        point_scores=np.asarray(inst.points["score"]), score=float(inst.score),
        track=inst.track, tracking_score=inst.tracking_score)


@dataclass
class _Candidates:
    """The frames to assign, sorted by condition, video and frame."""

    video: list
    frame_idx: list[int]
    names: list[str]
    conditions: list[str]
    sources: list


def _collect(labels: sio.Labels, kind: str, metadata: VideoMetadata | None,
             columns: list[str], where: str) -> _Candidates:
    """Unique frames of ``labels`` (labelled and / or suggested) with video and condition."""
    groups = VideoGroups()
    found: dict[tuple[int, int | str], list] = {}

    def add(video: sio.Video, frame_idx: int, source: sio.LabeledFrame | None) -> None:
        g = groups.add(video)[0]
        key = (g, groups.identity(video).frame_token(int(frame_idx)))
        entry = found.setdefault(key, [video, int(frame_idx), g, None])
        entry[3] = entry[3] or source

    if kind in ("all", "labeled"):
        for lf in labels.labeled_frames:
            add(lf.video, lf.frame_idx, lf)
    if kind in ("all", "suggestions"):
        for s in labels.suggestions:
            add(s.video, s.frame_idx, None)
    if not found:
        raise DataError(
            f"{where}: no frames to assign ({'suggestions or labelled frames' if kind == 'all' else kind}); "
            "expected a labels file listing the frames to label, e.g. from posekit frames "
            "extract. Check the file, or --frames."
        )
    names = [groups.name(g) for g in range(len(groups.identities))]
    names = [n if names.count(n) == 1 else f"{n}#{g}" for g, n in enumerate(names)]
    conds = ["" for _ in names]
    if metadata is not None and columns:
        firsts = [next(e[0] for e in found.values() if e[2] == g) for g in range(len(names))]
        conds = [condition_label(row, columns) for row in metadata.lookup(firsts, columns)]
    entries = sorted(found.values(), key=lambda e: (conds[e[2]], names[e[2]], e[1]))
    return _Candidates([e[0] for e in entries], [e[1] for e in entries],
                       [names[e[2]] for e in entries], [conds[e[2]] for e in entries],
                       [e[3] for e in entries])


def shared_frame_count(n_frames: int, overlap: float) -> int:
    """Frames to share: ``overlap * n_frames`` rounded to the nearest integer (halves up)."""
    return int(np.floor(overlap * n_frames + 0.5))


def _shared_rows(data: _Candidates, n_shared: int, rng: np.random.Generator) -> np.ndarray:
    """Which frames are shared: spread over conditions, then videos, then at random."""
    conds, names = np.asarray(data.conditions), np.asarray(data.names)
    shared = np.zeros(len(names), bool)

    def spread(n: int, keys: np.ndarray, mask: np.ndarray) -> list[tuple[str, int]]:
        values = list(dict.fromkeys(keys[mask].tolist()))
        values = [values[i] for i in rng.permutation(len(values))]
        sizes = np.array([(mask & (keys == v)).sum() for v in values])
        return list(zip(values, allocate(n, sizes, capacity=sizes).tolist()))

    everything = np.ones(len(names), bool)
    for cond, k in spread(n_shared, conds, everything):
        in_cond = conds == cond
        for video, kv in spread(k, names, in_cond):
            rows = np.flatnonzero(in_cond & (names == video))
            shared[rng.choice(rows, size=kv, replace=False)] = True
    return shared


class _Tally:
    """Running counts that decide who gets the next frame."""

    def __init__(self, k: int) -> None:
        self.total = np.zeros(k, np.int64)
        self.shared = np.zeros(k, np.int64)
        self.pairs = np.zeros((k, k), np.int64)
        self.by_key: dict[str, np.ndarray] = {}

    def of(self, key: str) -> np.ndarray:
        return self.by_key.setdefault(key, np.zeros(len(self.total), np.int64))

    def give(self, members: list[int], keys: Sequence[str]) -> None:
        for m in members:
            self.total[m] += 1
            for key in keys:
                self.of(key)[m] += 1
            if len(members) > 1:
                self.shared[m] += 1
                self.pairs[m, members] += 1
                self.pairs[m, m] -= 1


def _choose(data: _Candidates, shared: np.ndarray, per_shared: int,
            rng: np.random.Generator, k: int) -> list[list[int]]:
    """Labeler indices of every frame (see the module notes for the order of criteria)."""
    tally = _Tally(k)
    out: list[list[int]] = [[] for _ in data.names]
    order = [i for i in range(len(out)) if shared[i]] + [i for i in range(len(out))
                                                         if not shared[i]]
    for i in order:
        cond = data.conditions[i]
        keys = (f"v:{data.names[i]}", *([f"c:{cond}"] if cond else []))
        members: list[int] = []
        for _ in range(per_shared if shared[i] else 1):
            free = np.array([m for m in range(k) if m not in members])
            criteria = [rng.random(k), tally.total, *(tally.of(key) for key in keys)]
            if shared[i]:
                criteria += [tally.shared, tally.pairs[members].sum(axis=0)]
            best = np.lexsort([c[free] for c in criteria])[0]
            members.append(int(free[best]))
        tally.give(members, keys)
        out[i] = sorted(members)
    return out


def assign_frames(
    labels: sio.Labels,
    labelers: Sequence[str],
    *,
    overlap: float = 0.2,
    shared_by: int | None = 2,
    seed: int = 0,
    metadata: VideoMetadata | PathLike | None = None,
    condition_columns: Sequence[str] | None = None,
    frames: str = "all",
    keep_predictions: bool = False,
) -> Assignment:
    """Split the frames of ``labels`` among ``labelers`` (see the module notes).

    Args:
        labels: The frames to label (suggestions and / or labelled frames); not changed.
        labelers: Labeler names (each gets ``NAME.slp``).
        overlap: Share of frames labelled by several labelers, in [0, 1].
        shared_by: Labelers per shared frame (>= 2; ``None``: every labeler).
        seed: Seed: the same seed and input give the same assignment.
        metadata: A metadata CSV (path or :class:`VideoMetadata`) naming each video's
            condition; frames are then balanced by condition, then by video.
        condition_columns: Metadata columns defining a condition (default:
            ``treatment`` when the CSV has it).
        frames: ``all``, ``suggestions`` or ``labeled``.
        keep_predictions: Copy the input's predicted instances as starting points.

    Raises:
        ConfigError: bad overlap, labeler names, ``shared_by`` or ``frames``; fewer than
            two labelers with ``overlap > 0``.
        DataError: no frames; videos or columns missing from the metadata.
    """
    settings = AssignSettings(tuple(labelers), overlap, shared_by, seed, frames,
                              None if condition_columns is None else tuple(condition_columns),
                              keep_predictions)
    where = str(labels.provenance.get("filename", "labels"))
    if metadata is not None and not isinstance(metadata, VideoMetadata):
        metadata = read_metadata(metadata)
    columns = _columns(metadata, condition_columns)
    data = _collect(labels, frames, metadata, columns, where)
    rng = np.random.default_rng(seed)
    n_shared = shared_frame_count(len(data.names), overlap) if overlap > 0 else 0
    shared = _shared_rows(data, n_shared, rng)
    k = len(settings.labelers)
    members = _choose(data, shared, k if shared_by is None else shared_by, rng, k)
    assigned = [AssignedFrame(v, f, n, c, tuple(settings.labelers[m] for m in ms), src)
                for v, f, n, c, ms, src in zip(data.video, data.frame_idx, data.names,
                                               data.conditions, members, data.sources)]
    assigned.sort(key=lambda a: (a.video_name, a.frame_idx))
    result = Assignment(settings, assigned, list(labels.skeletons),
                        where if where != "labels" else None,
                        str(metadata.path) if metadata is not None else None, columns)
    result.notes = _notes(result, metadata)
    return result


def _columns(metadata: VideoMetadata | None, columns: Sequence[str] | None) -> list[str]:
    if metadata is None:
        if columns:
            raise ConfigError(
                f"--condition {','.join(columns)}: conditions come from a metadata CSV; "
                "expected --metadata META.csv (columns: video, treatment, ...).")
        return []
    if columns is None:
        return ["treatment"] if "treatment" in metadata.columns else []
    return [c for c in columns if c]


def _notes(result: Assignment, metadata: VideoMetadata | None) -> list[str]:
    notes = []
    s = result.settings
    if s.overlap > 0 and result.n_shared == 0:
        notes.append(f"overlap {s.overlap} of {len(result.frames)} frames rounds to no shared "
                     "frame; give more frames or a larger overlap to measure agreement.")
    if s.overlap > 0 and s.shared_by == 2 and len(s.labelers) > 2:
        notes.append("shared frames are labelled by 2 labelers: the consensus is then their "
                     "mean (the 3 x MAD outlier rule needs 3); use --shared-by 3 to have it.")
    if metadata is not None and not result.condition_columns:
        notes.append(f"{metadata.path.name} has no 'treatment' column: frames are balanced "
                     "by video only. Name the condition columns with --condition.")
    if not result.skeletons:
        notes.append("the input has no skeleton: every labeler must create the same one in "
                      "SLEAP (consensus needs identical skeletons).")
    if s.keep_predictions:
        notes.append("predictions are given as starting points: labelers who adjust them "
                     "agree more than independent labelers would.")
    return notes


def write_assignment(assignment: Assignment, out_dir: PathLike, *, embed: bool | None = None,
                     protect: Sequence[PathLike] = ()) -> dict[str, Any]:
    """Write ``NAME.slp`` (or ``NAME.pkg.slp``) per labeler and ``assign_manifest.json``
    into ``out_dir`` (created), each atomically; nothing is written when an output would
    replace the input.

    Args:
        assignment: From :func:`assign_frames`.
        out_dir: The output folder.
        embed: Embed the frames' images (``NAME.pkg.slp``): the labelers need no videos.
            Default: when the input's frames are embedded.
        protect: More paths that must not be overwritten (the input is always protected).

    Returns:
        The manifest, with ``files`` filled.

    Raises:
        ConfigError: ``out_dir`` is a file, or an output would replace an input.
        DataError: frames to embed cannot be read.
    """
    import json

    from posekit.refinement.merge import write_merged
    from posekit.utils import atomic_write_text

    out = Path(out_dir)
    if out.exists() and not out.is_dir():
        raise ConfigError(f"-o {out}: is a file; expected a folder for the labelers' files. "
                          "Choose a folder name (it is created).")
    if embed is None:
        embed = any(is_embedded(f.video) for f in assignment.frames)
    ext = ".pkg.slp" if embed else ".slp"
    paths = {n: out / f"{n}{ext}" for n in assignment.settings.labelers}
    inputs = [Path(p) for p in [assignment.source, assignment.metadata, *protect] if p]
    for path in [*paths.values(), out / MANIFEST_NAME]:
        for src in inputs:
            if path.resolve() == src.resolve():
                raise ConfigError(
                    f"-o {out}: {path.name} would replace the input {src}; expected outputs "
                    "apart from the inputs (inputs are never changed). Choose another folder.")
    out.mkdir(parents=True, exist_ok=True)
    manifest = assignment.manifest()
    if embed:
        for video in {id(f.video): f.video for f in assignment.frames}.values():
            if not video.is_open:
                video.open()
    for name, path in paths.items():
        write_merged(assignment.labels_for(name), path)
        manifest["files"][name] = path.resolve().as_posix()
    manifest["files"]["manifest"] = (out / MANIFEST_NAME).resolve().as_posix()
    manifest["embedded"] = bool(embed)
    atomic_write_text(out / MANIFEST_NAME, json.dumps(manifest, indent=1) + "\n")
    return manifest
