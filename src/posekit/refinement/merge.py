"""Merge label files: one skeleton, frames matched by recording and frame, user labels win.

Rules (the same in the API, the CLI and ``docs/refinement_labels.md``):

1. **Skeleton**: the first file with instances gives the skeleton; every other file must
   have the same node names (any order; ``node_map`` renames nodes first). Tracks are
   matched by name.
2. **Frames** are matched by recording (see :mod:`posekit.refinement.metadata`: same
   resolved path, else same file name and shape, else same image folder) and by frame
   (index; image name for image lists).
3. **User instances**: one identical to an instance already kept (same points within
   :data:`POINT_TOLERANCE` px, same track) is counted once. Two *different* user instances
   of the same animal in the same frame (same track name, or for untracked instances the
   mean distance between their shared visible nodes below :data:`SAME_ANIMAL_FRACTION` of
   the earlier instance's bounding-box diagonal) are a **conflict: the later file wins**
   and the conflict is listed. Other user instances are added.
4. **Predictions**: user labels always win. A prediction is *corrected* (removed) when a
   user instance of the frame was made from it (``from_predicted``, also across files by
   its points), has the same track, or is the same animal by position; corrected
   predictions become the user labels that replace them. Predictions of a frame from a
   later file replace (*supersede*) different predictions of that frame from earlier
   files; identical ones are counted once.
5. **Suggestions** of every file are kept once per frame.
6. Inputs are never modified; merging the output again with the same inputs gives the same
   labels (and provenance lists the original sources only once).
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from posekit.errors import DataError
from posekit.evaluation.matching import match_instances
from posekit.evaluation.oks import instance_diagonals
from posekit.io.labels import (
    check_same_nodes,
    conform_labels,
    labels_format,
    load_labels,
    used_node_names,
    used_skeleton,
)
from posekit.io.repairs import repairs_of
from posekit.io.slp import is_embedded
from posekit.refinement.merge_report import (
    CONFLICT_RULE,
    POINT_TOLERANCE,
    SAME_ANIMAL_FRACTION,
    FrameEvent,
    MergeReport,
    SourceCounts,
    VideoMatch,
)
from posekit.refinement.metadata import VideoGroups, origin_sources, video_identity

if TYPE_CHECKING:
    import sleap_io as sio

PathLike = str | os.PathLike[str]


@dataclass(eq=False)
class _Entry:
    """An instance kept in a merged frame, the input it came from, and (for user
    instances) the points of the predictions it was made from."""

    instance: sio.Instance
    source: int
    corrects: list[np.ndarray] = field(default_factory=list)


@dataclass(eq=False)
class _Frame:
    """One merged frame: where each input has it, and the instances kept so far."""

    group: int
    token: int | str
    locations: list[tuple[sio.Video, int, int]] = field(default_factory=list)
    user: list[_Entry] = field(default_factory=list)
    pred: list[_Entry] = field(default_factory=list)


def _points(inst: sio.Instance) -> np.ndarray:
    return np.asarray(inst.numpy(), dtype=np.float64)


def _same_points(a: np.ndarray, b: np.ndarray) -> bool:
    nan_a, nan_b = np.isnan(a), np.isnan(b)
    if a.shape != b.shape or not np.array_equal(nan_a, nan_b):
        return False
    return bool(np.all(np.abs(a[~nan_a] - b[~nan_b]) <= POINT_TOLERANCE))


def _track(inst: sio.Instance) -> str | None:
    return inst.track.name if inst.track is not None else None


def _identical(a: sio.Instance, b: sio.Instance) -> bool:
    same = _same_points(_points(a), _points(b)) and _track(a) == _track(b)
    if same and hasattr(a, "score") != hasattr(b, "score"):
        return False
    if same and hasattr(a, "score"):
        return abs(float(a.score) - float(b.score)) <= 1e-6
    return same


def same_animal_pairs(
    earlier: Sequence[sio.Instance], later: Sequence[sio.Instance]
) -> list[tuple[int, int, float | None]]:
    """Pairs ``(i, j, mean distance)`` of instances that are the same animal (rule 3).

    Tracked pairs match by track name; pairs with two different track names never match;
    the rest are assigned one-to-one (Hungarian) by mean distance over shared visible
    nodes, relative to the earlier instance's bounding-box diagonal.
    """
    pairs: list[tuple[int, int, float | None]] = []
    used_i, used_j = set(), set()
    for i, a in enumerate(earlier):
        for j, b in enumerate(later):
            if j not in used_j and _track(a) is not None and _track(a) == _track(b):
                pairs.append((i, j, _mean_distance(a, b)))
                used_i.add(i)
                used_j.add(j)
                break
    rest_i = [i for i in range(len(earlier)) if i not in used_i]
    rest_j = [j for j in range(len(later)) if j not in used_j]
    if not rest_i or not rest_j:
        return pairs
    pts_i = np.stack([_points(earlier[i]) for i in rest_i])
    diag = np.maximum(instance_diagonals(pts_i), 1.0)
    sim = np.zeros((len(rest_i), len(rest_j)))
    for r, i in enumerate(rest_i):
        for c, j in enumerate(rest_j):
            ta, tb = _track(earlier[i]), _track(later[j])
            dist = _mean_distance(earlier[i], later[j])
            if dist is not None and (ta is None or tb is None or ta == tb):
                sim[r, c] = max(0.0, 1.0 - dist / (SAME_ANIMAL_FRACTION * diag[r]))
    rows, cols = match_instances(sim)
    pairs += [(rest_i[r], rest_j[c], _mean_distance(earlier[rest_i[r]], later[rest_j[c]]))
              for r, c in zip(rows, cols)]
    return pairs


def _mean_distance(a: sio.Instance, b: sio.Instance) -> float | None:
    pa, pb = _points(a), _points(b)
    shared = ~np.isnan(pa[:, 0]) & ~np.isnan(pb[:, 0])
    if not shared.any():
        return None
    return float(np.mean(np.hypot(*(pa[shared] - pb[shared]).T)))


class _Merger:
    """Accumulates frames from the inputs in order, applying rules 3-5."""

    def __init__(self, names: list[str], counts: list[SourceCounts], basename: bool) -> None:
        self.names, self.counts = names, counts
        self.groups = VideoGroups(basename=basename)
        self.frames: dict[tuple[int, int | str], _Frame] = {}
        self.suggestions: dict[tuple[int, int | str], tuple[list, dict]] = {}
        self.report_videos: list[VideoMatch] = []
        self.added: list[FrameEvent] = []
        self.replaced: list[FrameEvent] = []
        self.conflicts: list[FrameEvent] = []

    def key(self, video: sio.Video, frame_idx: int) -> tuple[int, int | str]:
        group, _ = self.groups.add(video)
        return group, self.groups.identity(video).frame_token(int(frame_idx))

    def add_labels(self, s: int, labels: sio.Labels) -> None:
        for video in labels.videos:
            group, rule = self.groups.add(video)
            self.report_videos.append(VideoMatch(
                self.names[s], self.groups.identity(video).name, self.groups.name(group), rule))
        for lf in labels.labeled_frames:
            key = self.key(lf.video, lf.frame_idx)
            frame = self.frames.setdefault(key, _Frame(*key))
            frame.locations.append((lf.video, int(lf.frame_idx), s))
            self._add_predictions(frame, s, list(lf.predicted_instances))
            self._add_users(frame, s, list(lf.user_instances))
        for sug in labels.suggestions:
            key = self.key(sug.video, sug.frame_idx)
            if key not in self.suggestions:
                self.counts[s].suggestions_added += 1
                self.suggestions[key] = ([], dict(sug.metadata or {}))
            self.suggestions[key][0].append((sug.video, int(sug.frame_idx), s))

    def _event(self, kind: str, frame: _Frame, source: int, **kw: Any) -> FrameEvent:
        by = kw.pop("by", None)
        return FrameEvent(kind, self.groups.name(frame.group), frame.locations[0][1],
                          self.names[source], self.names[by] if by is not None else None, **kw)

    def _add_predictions(self, frame: _Frame, s: int, preds: list) -> None:
        if not preds:
            return
        earlier = [e for e in frame.pred if e.source != s]
        new = [p for p in preds if not any(_identical(p, e.instance) for e in frame.pred)]
        self.counts[s].predictions_identical += len(preds) - len(new)
        if not new:
            return
        if earlier:  # a later file's predictions of this frame supersede different ones
            keep = [e for e in earlier if any(_identical(e.instance, p) for p in preds)]
            for e in earlier:
                if e not in keep:
                    self.counts[e.source].predictions_superseded += 1
                    self.replaced.append(self._event("prediction superseded", frame, e.source,
                                                     by=s, track=_track(e.instance)))
            frame.pred = [e for e in frame.pred if e.source == s or e in keep]
        frame.pred += [_Entry(p, s) for p in new]

    def _add_users(self, frame: _Frame, s: int, users: list) -> None:
        fresh = []
        for u in users:
            corrects = [_points(u.from_predicted)] if u.from_predicted is not None else []
            twin = next((e for e in frame.user if e.source != s
                         and _identical(e.instance, u)), None)
            if twin is not None:
                twin.corrects += corrects
                self.counts[s].user_identical += 1
            else:
                fresh.append(_Entry(u, s, corrects))
        earlier = [e for e in frame.user if e.source != s]
        pairs = same_animal_pairs([e.instance for e in earlier], [e.instance for e in fresh])
        matched = set()
        for i, j, dist in pairs:
            old, new = earlier[i], fresh[j]
            self.counts[old.source].user_conflicts_lost += 1
            self.counts[s].user_conflicts_won += 1
            self.conflicts.append(self._event("conflict", frame, old.source, by=s,
                                              track=_track(new.instance),
                                              mean_distance_px=dist))
            new.corrects += old.corrects
            frame.user[frame.user.index(old)] = new
            matched.add(j)
        for j, entry in enumerate(fresh):
            if j not in matched:
                frame.user.append(entry)
                if s > 0:
                    self.added.append(self._event("user instance added", frame, s,
                                                  track=_track(entry.instance)))

    def finish_frame(self, frame: _Frame) -> list:
        """Drop corrected predictions (rule 4); return the frame's final instances."""
        preds = list(frame.pred)
        corrected: set[int] = set()
        for e in frame.user:
            for pts in e.corrects:
                hit = next((k for k, p in enumerate(preds) if k not in corrected
                            and _same_points(_points(p.instance), pts)), None)
                if hit is not None:
                    corrected.add(hit)
        rest = [k for k in range(len(preds)) if k not in corrected]
        pairs = same_animal_pairs([preds[k].instance for k in rest],
                                  [e.instance for e in frame.user])
        corrected |= {rest[i] for i, _, _ in pairs}
        for k in sorted(corrected):
            e = preds[k]
            self.counts[e.source].predictions_corrected += 1
            self.replaced.append(self._event("prediction corrected by user label", frame,
                                             e.source, track=_track(e.instance)))
        kept = [p for k, p in enumerate(preds) if k not in corrected]
        for e in frame.user:
            e.instance.from_predicted = None  # its prediction, if any, is no longer here
            self.counts[e.source].user_kept += 1
        for e in kept:
            self.counts[e.source].predictions_kept += 1
        return [e.instance for e in frame.user] + [e.instance for e in kept]


def _readable(video: sio.Video, frame_idx: int) -> str | None:
    """``"file"`` when the frame can be read from a video file, ``"embedded"`` when it is
    embedded in a labels file, else None."""
    if is_embedded(video):
        frame_map = getattr(video.backend, "frame_map", None) or {}
        return "embedded" if int(frame_idx) in frame_map else None
    name = video.filename
    if isinstance(name, (list, tuple)):
        name = name[frame_idx] if 0 <= frame_idx < len(name) else None
    return "file" if name is not None and Path(str(name)).is_file() else None


def _location(locations: list[tuple[sio.Video, int, int]]) -> tuple[sio.Video, int]:
    """Where the output reads a frame: a readable video file first, then an embedded copy,
    then the first input's reference (in input order within each)."""
    for kind in ("file", "embedded"):
        for video, idx, _ in locations:
            if _readable(video, idx) == kind:
                return video, idx
    return locations[0][0], locations[0][1]


def _token_order(token: int | str) -> tuple:
    if isinstance(token, int):
        return (0, token, "")
    digits = "".join(c if c.isdigit() else " " for c in token).split()
    return (1, int(digits[-1]) if digits else -1, token)


def _has_instances(labels: sio.Labels) -> bool:
    return any(lf.instances for lf in labels.labeled_frames)


def apply_node_map(parts: Sequence[tuple[str, sio.Labels]], node_map: Mapping[str, str]) -> None:
    """Rename nodes ``old -> new`` (in place) in every input whose skeleton has ``old``.

    Raises:
        DataError: a new name already exists in that skeleton, or an old name is in no input.
    """
    used: set[str] = set()
    seen: list[str] = []
    for src, labels in parts:
        if not _has_instances(labels):
            continue
        skeleton = used_skeleton(labels, src)
        seen += [n for n in skeleton.node_names if n not in seen]
        here = {old: new for old, new in node_map.items() if old in skeleton.node_names}
        taken = [new for new in here.values() if new in skeleton.node_names and new not in here]
        if taken:
            raise DataError(
                f"{src}: --map-nodes renames to {taken}, which this skeleton already has "
                f"({list(skeleton.node_names)}); expected new names not in the skeleton. "
                "Map that node away too, or drop the mapping for this file."
            )
        if here:
            labels.rename_nodes(dict(here), skeleton=skeleton)
            used |= set(here)
    unused = [old for old in node_map if old not in used]
    if unused:
        raise DataError(
            f"--map-nodes: {unused} is a node of no input; expected node names of the inputs "
            f"({seen}). Check the spelling (names are case-sensitive)."
        )


def _edges(skeleton: sio.Skeleton) -> set[frozenset[str]]:
    return {frozenset(e) for e in skeleton.edge_names}


def _conform(parts: list[tuple[str, sio.Labels]], notes: list[str]) -> tuple[Any, list]:
    """One skeleton (the first file with instances) and one track list for every input."""
    with_instances = [(src, lab) for src, lab in parts if _has_instances(lab)]
    if not with_instances:
        skeletons = [s for _, lab in parts for s in lab.skeletons]
        return (skeletons[0] if skeletons else None), []
    ref_src, ref = with_instances[0]
    skeleton = used_skeleton(ref, ref_src)
    tracks: list = []
    for src, labels in with_instances:
        own = used_skeleton(labels, src)
        try:
            check_same_nodes(skeleton.node_names, used_node_names(labels, src), ref_src, src)
        except DataError as exc:
            raise DataError(
                f"{exc} Or rename them while merging: --map-nodes OLD=NEW "
                "(map_nodes={'OLD': 'NEW'} in Python)."
            ) from None
        if own is not skeleton and _edges(own) != _edges(skeleton):
            notes.append(f"{src}: its edges differ from {ref_src}'s; the merged file keeps "
                         f"{ref_src}'s edges.")
        conform_labels(labels, skeleton, tracks, src)
    return skeleton, tracks


def _assemble(merger: _Merger, parts: list[tuple[str, sio.Labels]], skeleton: Any,
              tracks: list) -> sio.Labels:
    """The merged ``Labels``: frames and suggestions in recording and frame order."""
    import sleap_io as sio

    videos: list = []
    groups_used: set[int] = set()

    def use(video: sio.Video) -> None:
        groups_used.add(merger.groups.add(video)[0])
        if not any(video is v for v in videos):
            videos.append(video)

    frames, where = [], {}
    for key in sorted(merger.frames, key=lambda k: (k[0], _token_order(k[1]))):
        frame = merger.frames[key]
        instances = merger.finish_frame(frame)
        video, idx = where[key] = _location(frame.locations)
        use(video)
        frames.append(sio.LabeledFrame(video=video, frame_idx=idx, instances=instances))
    suggestions = []
    for key in sorted(merger.suggestions, key=lambda k: (k[0], _token_order(k[1]))):
        locations, meta = merger.suggestions[key]
        video, idx = where.get(key) or _location(locations)
        use(video)
        suggestions.append(sio.SuggestionFrame(video=video, frame_idx=idx, metadata=meta))
    for _, labels in parts:  # recordings without frames or suggestions stay listed
        for video in labels.videos:
            if merger.groups.add(video)[0] not in groups_used:
                use(video)
    return sio.Labels(labeled_frames=frames, videos=videos,
                      skeletons=[skeleton] if skeleton is not None else [],
                      tracks=tracks, suggestions=suggestions)


def _provenance(parts: list[tuple[str, sio.Labels]], node_map: Mapping[str, str]) -> dict:
    """The first input's provenance plus ``posekit_merge`` (original sources, each once)."""
    from posekit import __version__

    drop = ("filename", "posekit_merge", "posekit_repairs")
    prov = {k: v for k, v in parts[0][1].provenance.items() if k not in drop}
    sources: list[str] = []
    for src, labels in parts:
        earlier = (labels.provenance.get("posekit_merge") or {}).get("sources")
        for name in earlier or [Path(src).resolve().as_posix()]:
            if name not in sources:
                sources.append(name)
    prov["posekit_merge"] = {"sources": sources, "node_map": dict(node_map),
                             "conflict_rule": CONFLICT_RULE, "posekit_version": __version__}
    return prov


def check_output_path(output: PathLike, inputs: Sequence[PathLike]) -> Path:
    """Refuse an output that is one of the inputs or not a ``.slp`` name.

    Raises:
        DataError: naming the input and suggesting another output name.
    """
    output = Path(output)
    if not output.name.lower().endswith(".slp"):
        raise DataError(
            f"{output}: the merged labels are written as a SLEAP file; expected a name ending "
            "in .slp (frames referenced) or .pkg.slp (frames embedded)."
        )
    for path in inputs:
        same = Path(path).resolve() == output.resolve()
        if not same and output.exists() and Path(path).exists():
            same = os.path.samefile(output, path)
        if same:
            raise DataError(
                f"{output}: is also an input; expected a new output path (inputs are never "
                f"modified). Write to e.g. {output.name.split('.')[0]}.merged.slp."
            )
    return output


def write_merged(labels: sio.Labels, output: PathLike) -> Path:
    """Save merged labels (atomic). ``.pkg.slp`` embeds every labelled and suggested frame;
    ``.slp`` keeps labelled frames that were embedded embedded and refers to video files
    for the rest.

    Raises:
        DataError: ``.pkg.slp`` requested but some frames cannot be read (the first named).
    """
    from posekit.io.writers import save_labels

    output = Path(output)
    pkg = output.name.lower().endswith(".pkg.slp")
    wanted = [(lf.video, lf.frame_idx) for lf in labels.labeled_frames] + [
        (s.video, s.frame_idx) for s in labels.suggestions]
    missing = [(v, i) for v, i in wanted if _readable(v, int(i)) is None] if pkg else []
    if missing:
        video, idx = missing[0]
        raise DataError(
            f"{output}: {len(missing)} frame(s) cannot be read (first: "
            f"{video_identity(video).name} frame {idx}), so they cannot be embedded; "
            "expected every video or embedded image to be available. Relink the videos "
            "or write a .slp (frames referenced) instead."
        )
    with origin_sources(labels):
        return save_labels(labels, output, embed=True if pkg else "auto")


def merge_labels_files(
    paths: Sequence[PathLike],
    output: PathLike | None = None,
    *,
    map_nodes: Mapping[str, str] | None = None,
    match_basename: bool = True,
) -> tuple[sio.Labels, MergeReport]:
    """Merge labels files (``.slp``, ``.pkg.slp``, DeepLabCut projects) by the module's rules.

    Args:
        paths: Inputs in order (later files win conflicts and supersede predictions).
        output: Where to write the merged labels (``.slp`` or ``.pkg.slp``); None to only
            return them.
        map_nodes: Node renames ``{old: new}`` applied to every input before matching.
        match_basename: Also match videos by file name and shape (else by path only).

    Returns:
        The merged ``Labels`` and the :class:`MergeReport`.

    Raises:
        DataError: no input, output equal to an input, an input fails to load, or the
            skeletons differ (the message names the nodes).
    """
    if not paths:
        raise DataError("no labels files given; expected at least one path to merge.")
    if output is not None:
        check_output_path(output, paths)
    node_map = dict(map_nodes or {})
    parts, counts = [], []
    for path in paths:
        labels = load_labels(path)
        counts.append(SourceCounts(
            path=str(path), format=labels_format(path), frames=len(labels.labeled_frames),
            user_instances=sum(len(lf.user_instances) for lf in labels.labeled_frames),
            predicted_instances=sum(len(lf.predicted_instances) for lf in labels.labeled_frames),
            suggestions=len(labels.suggestions)))
        parts.append((str(path), labels))
    notes = [f"{src}: {msg}" for src, labels in parts for msg in repairs_of(labels)]
    apply_node_map(parts, node_map)
    skeleton, tracks = _conform(parts, notes)
    merger = _Merger([src for src, _ in parts], counts, match_basename)
    for s, (_, labels) in enumerate(parts):
        merger.add_labels(s, labels)
    merged = _assemble(merger, parts, skeleton, tracks)
    merged.provenance = _provenance(parts, node_map)
    report = MergeReport(
        sources=counts, output=None,
        skeleton=list(skeleton.node_names) if skeleton is not None else [],
        node_map=node_map, videos=merger.report_videos, frames=len(merged.labeled_frames),
        user_instances=sum(len(lf.user_instances) for lf in merged.labeled_frames),
        predicted_instances=sum(len(lf.predicted_instances) for lf in merged.labeled_frames),
        suggestions=len(merged.suggestions), added=merger.added, replaced=merger.replaced,
        conflicts=merger.conflicts, notes=notes)
    if output is not None:
        report.output = str(write_merged(merged, output))
    return merged, report
