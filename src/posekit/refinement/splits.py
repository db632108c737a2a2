"""Train / validation / test splits that do not leak.

Kinds (``by``), from most to least leaky:

* ``frame``: frames drawn at random (neighbouring frames of one video land on both sides:
  the baseline the leakage report exposes);
* ``block``: runs of ``block_size`` consecutive frames of a recording stay together, and
  held-out frames closer than ``gap`` frames to a frame of another side are dropped
  (priority train > val > test), so every held-out frame is at least ``gap`` frames from
  the other sides' frames of its recording;
* ``video``: whole recordings on one side;
* ``animal``: every recording of an animal (metadata column ``group_column``) on one side;
* ``condition``: every recording of a condition (metadata ``condition_columns``) on one side.

Groups are assigned with a seeded shuffle: first one group to each held-out side (the
smallest), then each group to the side furthest below its target share of frames.
With ``stratify`` (default) and condition columns, this runs per condition, so every
condition is on every side when it has enough groups; the manifest says which conditions
could not be represented everywhere.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from posekit.errors import ConfigError, DataError
from posekit.io.splits import _subset
from posekit.refinement.metadata import (
    VideoGroups,
    VideoMetadata,
    condition_label,
    origin_sources,
    read_metadata,
)
from posekit.utils import atomic_write_text

if TYPE_CHECKING:
    import sleap_io as sio

    from posekit.refinement.leakage import LeakageReport

PathLike = str | os.PathLike[str]
SPLIT_KINDS = ("frame", "video", "animal", "condition", "block")
SIDES = ("train", "val", "test")
DEFAULT_GAP = 30
"""Frames between sides in a ``block`` split (1 s at 30 frames/s)."""
BLOCK_FACTOR = 10
"""Default block length in multiples of the gap (at least 10 frames)."""
MANIFEST_VERSION = 1


@dataclass
class SplitGroup:
    """A group that stays whole, and where it went."""

    name: str
    side: str
    n_frames: int
    videos: list[str]
    conditions: list[str]


@dataclass
class SplitManifest:
    """How a split was made and what it holds (``to_dict`` is ``split_manifest.json``)."""

    by: str
    seed: int
    requested: dict[str, float]
    achieved: dict[str, float]
    n_frames: dict[str, int]
    groups: list[SplitGroup]
    coverage: dict[str, dict[str, int]]
    source: str | None = None
    gap: int | None = None
    block_size: int | None = None
    metadata: str | None = None
    group_column: str | None = None
    condition_columns: list[str] = field(default_factory=list)
    stratified: bool = False
    dropped: list[dict[str, Any]] = field(default_factory=list)
    left_out: int = 0
    frames: dict[str, list[list]] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    files: dict[str, str] = field(default_factory=dict)
    training_config: dict[str, Any] = field(default_factory=dict)
    leakage: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dictionary (``schema_version`` 1)."""
        data = asdict(self)
        data["schema_version"] = MANIFEST_VERSION
        return data


@dataclass
class Split:
    """The three sides (``Labels``; a side not requested is empty) and the manifest."""

    train: sio.Labels
    val: sio.Labels
    test: sio.Labels
    manifest: SplitManifest

    def sides(self) -> dict[str, sio.Labels]:
        """``train`` and every held-out side that holds frames."""
        out = {"train": self.train}
        out.update({s: getattr(self, s) for s in ("val", "test")
                    if len(getattr(self, s).labeled_frames)})
        return out


@dataclass
class _Frames:
    """The frames being split with their recording, frame number and condition."""

    frames: list
    recording: list[int]
    number: list[int]
    condition: list[str]
    names: list[str]


def _check_args(by: str, val: float, test: float, gap: int, block_size: int | None) -> None:
    if by not in SPLIT_KINDS:
        raise ConfigError(f"--by: unknown split kind {by!r}; expected one of {list(SPLIT_KINDS)}.")
    bad = [f"--{n} {v}" for n, v in (("val", val), ("test", test)) if not 0 <= v < 1]
    if bad or val + test >= 1:
        raise ConfigError(
            f"{', '.join(bad) or f'--val {val} + --test {test}'}: out of range; expected "
            "fractions in [0, 1) that leave frames for training (val + test < 1), e.g. "
            "--val 0.1 --test 0.1."
        )
    if gap < 0 or (block_size is not None and block_size < 1):
        raise ConfigError(
            f"--gap {gap} / --block-size {block_size}: expected gap >= 0 and block size >= 1 "
            "(frames)."
        )


def _conditions(
    by: str, metadata: VideoMetadata | None, group_column: str, columns: Sequence[str] | None
) -> list[str]:
    """The condition columns to use (``treatment`` when present and none are given)."""
    if by in ("animal", "condition") and metadata is None:
        raise ConfigError(
            f"--by {by}: needs a metadata CSV naming each video's {group_column if by == 'animal' else 'condition'}; "
            "expected --metadata META.csv (columns: video, animal, treatment, ...)."
        )
    if columns is None:
        columns = ["treatment"] if metadata is not None and "treatment" in metadata.columns else []
    columns = [c for c in columns if c]
    if by == "condition" and not columns:
        raise ConfigError(
            "--by condition: no condition column; expected --condition COLUMN[,COLUMN] (e.g. "
            "treatment,dose) or a 'treatment' column in the metadata."
        )
    return list(columns)


def _collect(labels: sio.Labels, user_only: bool, metadata: VideoMetadata | None,
             columns: list[str], extra: list[str], basename: bool) -> tuple[_Frames, list, int]:
    """Frames to split with their attributes; rows of metadata per recording."""
    frames = [lf for lf in labels.labeled_frames
              if (lf.has_user_instances if user_only else len(lf.instances))]
    left_out = len(labels.labeled_frames) - len(frames)
    if not frames:
        raise DataError(
            f"{labels.provenance.get('filename', 'labels')}: no frames with "
            f"{'user ' if user_only else ''}instances; expected labelled frames to split. "
            "Label frames first (predictions alone are not training targets)."
        )
    groups = VideoGroups(basename=basename)
    recording, number = [], []
    for lf in frames:
        recording.append(groups.add(lf.video)[0])
        number.append(groups.identity(lf.video).frame_number(int(lf.frame_idx)))
    names = [groups.name(g) for g in range(len(groups.identities))]
    names = [n if names.count(n) == 1 else f"{n}#{g}" for g, n in enumerate(names)]
    rows: list[dict[str, str]] = [{} for _ in names]
    if metadata is not None:
        firsts = [next(lf.video for lf, r in zip(frames, recording) if r == g)
                  for g in range(len(names))]
        rows = metadata.lookup(firsts, list(dict.fromkeys(columns + extra)))
    condition = [condition_label(rows[r], columns) if columns else "" for r in recording]
    return _Frames(frames, recording, number, condition, names), rows, left_out


def _group_keys(by: str, data: _Frames, rows: list[dict], group_column: str,
                block_size: int) -> list[str]:
    """The group each frame belongs to (frames of one group stay on one side)."""
    if by == "frame":
        return [f"{data.names[r]}:{lf.frame_idx}" for r, lf in zip(data.recording, data.frames)]
    if by == "video":
        return [data.names[r] for r in data.recording]
    if by == "animal":
        return [f"{group_column}={rows[r][group_column]}" for r in data.recording]
    if by == "condition":
        return list(data.condition)
    return [f"{data.names[r]}:block{n // block_size}" for r, n in zip(data.recording,
                                                                       data.number)]


def assign_groups(sizes: dict[str, int], strata: dict[str, str], fractions: dict[str, float],
                  seed: int, stratify: bool, what: str = "group") -> dict[str, str]:
    """Side of each group (see the module notes). Sides with fraction 0 get nothing.

    Raises:
        DataError: fewer groups than requested sides.
    """
    sides = [s for s in SIDES if fractions.get(s, 0) > 0]
    if len(sizes) < len(sides):
        raise DataError(
            f"{len(sizes)} {what}(s) cannot fill {len(sides)} sides ({', '.join(sides)}); "
            f"expected at least {len(sides)} {what}s. Use --test 0 (or --val 0), data with "
            f"more {what}s, or --by block."
        )
    total = sum(sizes.values())
    target = {s: fractions[s] * total for s in sides}
    have = {s: 0 for s in sides}
    out: dict[str, str] = {}
    keys = sorted(sizes)
    order = [keys[i] for i in np.random.default_rng(seed).permutation(len(keys))]

    def give(key: str, side: str) -> None:
        out[key] = side
        have[side] += sizes[key]

    def seed_sides(members: list[str]) -> None:
        free = sorted((k for k in members if k not in out), key=lambda k: sizes[k])
        for side, key in zip([s for s in sides if s != "train"], free):
            give(key, side)
        free = [k for k in members if k not in out]
        if free:
            give(max(free, key=lambda k: sizes[k]), "train")

    if stratify:
        by_stratum: dict[str, list[str]] = {}
        for key in order:
            by_stratum.setdefault(strata[key], []).append(key)
        for stratum in sorted(by_stratum):
            if len(by_stratum[stratum]) >= len(sides):
                seed_sides(by_stratum[stratum])
    if any(have[s] == 0 for s in sides):
        seed_sides([k for k in order if k not in out])
    for key in order:
        if key not in out:
            give(key, max(sides, key=lambda s: (target[s] - have[s], s == "train")))
    return out


def _purge(data: _Frames, side_of: list[str], gap: int) -> list[int]:
    """Indices of held-out frames closer than ``gap`` frames to a frame of a side that
    comes first (train > val > test) in the same recording."""
    dropped = []
    for rank, side in enumerate(("val", "test"), start=1):
        before = set(SIDES[:rank])
        for rec in set(data.recording):
            idx = [i for i, r in enumerate(data.recording) if r == rec]
            earlier = np.sort([data.number[i] for i in idx if side_of[i] in before])
            if not len(earlier):
                continue
            for i in idx:
                if side_of[i] != side:
                    continue
                k = int(np.searchsorted(earlier, data.number[i]))
                near = [abs(int(earlier[j]) - data.number[i]) for j in (k - 1, k)
                        if 0 <= j < len(earlier)]
                if min(near) < gap:
                    dropped.append(i)
                    side_of[i] = "dropped"
    return dropped


def split_labels(
    labels: sio.Labels,
    by: str = "video",
    *,
    val: float = 0.1,
    test: float = 0.1,
    seed: int = 0,
    metadata: VideoMetadata | PathLike | None = None,
    group_column: str = "animal",
    condition_columns: Sequence[str] | None = None,
    stratify: bool = True,
    gap: int = DEFAULT_GAP,
    block_size: int | None = None,
    user_only: bool = True,
    match_basename: bool = True,
) -> Split:
    """Split labelled frames into train / val / test without leakage (see module notes).

    Args:
        labels: The labels (frames are shared with the returned sides, not copied).
        by: ``frame``, ``video``, ``animal``, ``condition`` or ``block``.
        val: Fraction of frames for validation (0: none).
        test: Fraction of frames for testing (0: none).
        seed: Shuffle seed: the same seed gives the same split.
        metadata: A metadata CSV (path or :class:`VideoMetadata`), needed for ``animal``
            and ``condition`` and for stratifying by condition.
        group_column: Metadata column naming the animal (``by="animal"``).
        condition_columns: Metadata columns that define a condition (default:
            ``treatment`` when the CSV has it).
        stratify: Represent every condition on every side where possible.
        gap: ``block``: the smallest distance in frames between sides.
        block_size: ``block``: frames per block (default ``max(10, 10 * gap)``).
        user_only: Split only frames with user instances (others are left out, counted).
        match_basename: Match recordings by file name and shape too (else path only).

    Raises:
        ConfigError: bad kind, fractions, gap or missing metadata / condition columns.
        DataError: no frames, too few groups, or videos / columns missing in the metadata.
    """
    _check_args(by, val, test, gap, block_size)
    if metadata is not None and not isinstance(metadata, VideoMetadata):
        metadata = read_metadata(metadata)
    columns = _conditions(by, metadata, group_column, condition_columns)
    block = int(block_size or max(BLOCK_FACTOR, BLOCK_FACTOR * gap))
    extra = [group_column] if by == "animal" else []
    data, rows, left_out = _collect(labels, user_only, metadata, columns, extra, match_basename)
    keys = _group_keys(by, data, rows, group_column, block)
    sizes: dict[str, int] = {}
    strata: dict[str, set[str]] = {}
    for key, cond in zip(keys, data.condition):
        sizes[key] = sizes.get(key, 0) + 1
        strata.setdefault(key, set()).add(cond)
    fractions = {"train": 1 - val - test, "val": val, "test": test}
    stratified = bool(stratify and columns and by != "condition")
    side_of_group = assign_groups(sizes, {k: " | ".join(sorted(v)) for k, v in strata.items()},
                                  fractions, seed, stratified, what=by)
    side_of = [side_of_group[k] for k in keys]
    dropped = _purge(data, side_of, gap) if by == "block" else []
    return _build(labels, data, keys, side_of, dropped, {
        "by": by, "seed": seed, "requested": fractions, "left_out": left_out,
        "stratified": stratified, "gap": gap if by == "block" else None,
        "block_size": block if by == "block" else None,
        "metadata": str(metadata.path) if metadata is not None else None,
        "group_column": group_column if by == "animal" else None,
        "condition_columns": columns, "source": labels.provenance.get("filename")})


def _build(labels: sio.Labels, data: _Frames, keys: list[str], side_of: list[str],
           dropped: list[int], settings: dict) -> Split:
    """The sides' ``Labels`` and the manifest."""
    sides = {s: [lf for lf, side in zip(data.frames, side_of) if side == s] for s in SIDES}
    n = {s: len(f) for s, f in sides.items()}
    total = max(sum(n.values()), 1)
    groups: dict[str, SplitGroup] = {}
    for i, key in enumerate(keys):
        g = groups.setdefault(key, SplitGroup(key, side_of[i], 0, [], []))
        g.side = side_of[i] if side_of[i] != "dropped" else g.side
        g.n_frames += 1
        for lst, value in ((g.videos, data.names[data.recording[i]]), (g.conditions,
                                                                        data.condition[i])):
            if value and value not in lst:
                lst.append(value)
    coverage: dict[str, dict[str, int]] = {}
    for cond, side in zip(data.condition, side_of):
        if cond and side != "dropped":
            coverage.setdefault(cond, {s: 0 for s in SIDES})[side] += 1
    manifest = SplitManifest(
        requested=settings.pop("requested"), achieved={s: n[s] / total for s in SIDES},
        n_frames=n, groups=list(groups.values()), coverage=coverage,
        dropped=[{"video": data.names[data.recording[i]], "frame_idx": int(
            data.frames[i].frame_idx)} for i in dropped],
        frames={s: [[data.names[data.recording[i]], int(data.frames[i].frame_idx)]
                    for i, side in enumerate(side_of) if side == s] for s in SIDES},
        **settings)
    manifest.notes = _notes(manifest)
    parts = {s: _subset(labels, sides[s]) for s in SIDES}
    return Split(parts["train"], parts["val"], parts["test"], manifest)


def _notes(m: SplitManifest) -> list[str]:
    """Plain-language notes: unrepresented conditions, dropped frames, fractions off."""
    notes = []
    wanted = [s for s in SIDES if m.requested[s] > 0]
    if m.by == "condition":
        notes.append("split by condition: each condition is on one side only, so no "
                     "condition is represented on every side (by design).")
    else:
        for cond, counts in sorted(m.coverage.items()):
            missing = [s for s in wanted if not counts[s]]
            if missing:
                n_groups = sum(cond in g.conditions for g in m.groups)
                notes.append(f"condition '{cond}' is not on {', '.join(missing)}: it has "
                             f"{n_groups} group(s) for {len(wanted)} sides.")
    if m.dropped:
        notes.append(f"{len(m.dropped)} held-out frame(s) dropped: closer than {m.gap} frames "
                     "to a frame on another side.")
    for s in wanted:
        if abs(m.achieved[s] - m.requested[s]) > 0.05:
            notes.append(f"{s} holds {m.achieved[s]:.0%} of the frames (requested "
                         f"{m.requested[s]:.0%}): whole groups stay together.")
    if m.left_out:
        notes.append(f"{m.left_out} frame(s) without user instances were left out.")
    return notes


def write_split(split: Split, out_dir: PathLike, *, hashes: bool = True,
                near_frames: int | None = None) -> tuple[SplitManifest, LeakageReport]:
    """Write ``train.slp`` / ``val.slp`` / ``test.slp`` (held-out sides only when they hold
    frames; embedded frames stay embedded), ``leakage_report.json`` and
    ``split_manifest.json`` into ``out_dir`` (created), atomically per file.

    Returns:
        The manifest (``files``, ``training_config`` and a ``leakage`` summary filled) and
        the leakage report.
    """
    from posekit.io.writers import save_labels
    from posekit.refinement.leakage import NEAR_FRAMES, leakage_report

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    manifest = split.manifest
    files = {}
    for side, labels in split.sides().items():
        with origin_sources(labels):
            path = save_labels(labels, out / f"{side}.slp", embed="auto")
        files[side] = path.resolve().as_posix()
    for side in SIDES:
        if side not in files and (out / f"{side}.slp").exists():
            manifest.notes.append(f"{out / f'{side}.slp'} is left from an earlier split; it "
                                  "is not part of this one.")
    held = {s: lab for s, lab in split.sides().items() if s != "train"}
    report = leakage_report(split.train, held, hashes=hashes,
                            near_frames=NEAR_FRAMES if near_frames is None else near_frames)
    files["leakage_report"] = report.save(out / "leakage_report.json").resolve().as_posix()
    files["manifest"] = (out / "split_manifest.json").resolve().as_posix()
    manifest.files = files
    manifest.training_config = {"data_config": {
        "train_labels_path": [files["train"]],
        "val_labels_path": [files["val"]] if "val" in files else None,
        "test_file_path": files.get("test")}}
    manifest.leakage = {"leaks": report.leaks,
                        "sides": [asdict(s) for s in report.sides]}
    atomic_write_text(out / "split_manifest.json", json.dumps(manifest.to_dict(), indent=2) + "\n")
    return manifest, report
