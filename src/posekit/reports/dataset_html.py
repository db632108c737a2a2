"""The dataset audit as a report page: sections built from a :class:`DatasetAudit`.

:func:`dataset_report` fills a :class:`posekit.reports.document.Report` (the foundation's
builder); :func:`posekit.reports.output.write_report` writes the page and its JSON (the
audit's ``to_dict`` under ``results.dataset``).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from posekit.reports.dataset_audit import DatasetAudit
from posekit.reports.dataset_composition import FRAME_GUIDE, ColumnCoverage, Count
from posekit.reports.dataset_figures import montage_figure, pose_figure
from posekit.reports.dataset_pose import CONCENTRATED_INDEX
from posekit.reports.dataset_warnings import COMBINED, RARE_NODE_SHARE
from posekit.reports.document import Report

KIND = "dataset"
RESULT = "dataset"


def _share(value: float | None) -> str:
    return "\u2013" if value is None else f"{100 * value:.1f}%"


def _frame_image(audit: DatasetAudit) -> Callable[[int], np.ndarray | None]:
    def read(i: int) -> np.ndarray | None:
        try:
            return audit.data.frames[i].image if audit.data is not None else None
        except Exception:  # noqa: BLE001 - an unreadable frame is left out of the montage
            return None
    return read


def _summary(report: Report, audit: DatasetAudit) -> None:
    sec = report.section("Summary")
    apf = audit.animals_per_frame
    cov = [c.coverage for c in audit.coverage
           if c.coverage is not None and COMBINED not in c.column]
    per_frame = (f"{apf.mean:.2f} ({apf.min}\u2013{apf.max})" if apf.min != apf.max
                 else str(apf.max))
    sec.key_numbers({
        "labelled frames": audit.frames,
        "labelled animals": audit.animals,
        "recordings": len(audit.recordings),
        "animals per frame": per_frame,
        "pose-variance index": "\u2013" if audit.pose.index is None else f"{audit.pose.index:.3f}",
        "condition coverage": _share(min(cov)) if cov else (
            "no metadata" if audit.metadata is None else "no condition column"),
    })
    if audit.warnings:
        sec.paragraph(f"{len(audit.warnings)} problem(s) found:")
        for w in audit.warnings:
            sec.warning(w.message)
    else:
        sec.good("No problem found: every listed condition is sampled, no node is almost "
                 "never visible, poses are varied and the frame count meets the guide.")
    for note in audit.notes:
        sec.note(note)


def _count_rows(counts: Sequence[Count], cov: ColumnCoverage | None = None) -> list[list]:
    rows = []
    for c in counts:
        status = ""
        if cov is not None:
            status = ("absent" if c.name in cov.absent else "thin" if c.name in cov.thin
                      else "ok")
        rows.append([c.name, c.frames, c.animals, _share(c.share)]
                    + ([status] if cov is not None else []))
    return rows


def _composition(report: Report, audit: DatasetAudit) -> None:
    sec = report.section("Composition")
    sec.paragraph("Labelled frames (frames with at least one animal placed by a person) and "
                  "labelled animals, per recording and per metadata value. Share is of all "
                  "labelled frames.")
    cols = ["value", "frames", "animals", "share"]
    sec.table(["recording", *cols[1:]], _count_rows(audit.counts["video"]),
              caption="per recording")
    for role in ("animal", "session"):
        if role in audit.counts:
            sec.table([role, *cols[1:]], _count_rows(audit.counts[role]),
                      caption=f"per {role}")
    by_column = {c.column: c for c in audit.coverage}
    for column in (audit.metadata.condition_columns if audit.metadata else ()):
        sec.table([column, *cols[1:], "status"],
                  _count_rows(audit.counts[column], by_column[column]),
                  caption=f"per {column} (absent: no labelled frame; thin: fewer than half "
                          "an even share)")
    apf = audit.animals_per_frame
    sec.table(["animals in the frame", "frames"],
              [[str(k), v] for k, v in sorted(apf.histogram.items())],
              caption=f"animals per frame: mean {apf.mean:.2f}, range {apf.min}\u2013{apf.max}")


def _coverage(report: Report, audit: DatasetAudit) -> None:
    if not audit.coverage:
        return
    sec = report.section("Condition coverage")
    sec.paragraph("The guide's target is 100 %: every condition the experiment has must be "
                  "sampled. Listed values come from every row of the metadata CSV, labelled "
                  "or not; the last row combines the condition columns as the CSV's rows do.")
    sec.table(["column", "values listed", "sampled", "coverage", "absent", "thin"],
              [[c.column, len(c.listed), len(c.listed) - len(c.absent), _share(c.coverage),
                ", ".join(c.absent) or "\u2013", ", ".join(c.thin) or "\u2013"]
               for c in audit.coverage])


def _frame_count(report: Report, audit: DatasetAudit) -> None:
    check = audit.frame_count
    sec = report.section("Frame count against the guide")
    sec.paragraph(
        f"The experiment counts as {check.complexity} ({check.guide.description}): up to "
        f"{audit.animals_per_frame.max} animal(s) per labelled frame"
        + (f", {_share(audit.animals_per_frame.hidden_share_multi)} of the nodes hidden in "
           "multi-animal frames" if audit.animals_per_frame.hidden_share_multi is not None
           else "") + f". It has {check.frames} labelled frames.")
    rows = []
    for g in FRAME_GUIDE.values():
        span = f"{g.minimum}\u2013{g.minimum_high}" if g.minimum_high else f"{g.minimum}+"
        rows.append([("\u25b6 " if g.complexity == check.complexity else "") + g.complexity,
                     g.description, span, f"{g.recommended}+", g.consideration])
    sec.table(["complexity", "experiment", "minimum (initial)", "after active learning",
               "key consideration"], rows, caption="the refinement guide's frame counts")


def _pose(report: Report, audit: DatasetAudit) -> None:
    pose = audit.pose
    sec = report.section("Pose variance")
    sec.paragraph(
        "Each labelled animal is moved into its own frame of reference (origin between "
        f"{pose.tail_node} and {pose.head_node}, body axis along x; axis chosen: "
        f"{pose.axis_rule}), then each node's spread is the root-mean-square distance of its "
        "positions from their average place. The pose-variance index is the mean spread in "
        f"body lengths: 0 means one pose copied; below {CONCENTRATED_INDEX} poses are "
        "concentrated.")
    sec.key_numbers({
        "pose-variance index": "\u2013" if pose.index is None else f"{pose.index:.3f}",
        "mean spread": "\u2013" if pose.spread_px is None else f"{pose.spread_px:.1f} px",
        "median body length": ("\u2013" if pose.median_body_length_px is None
                               else f"{pose.median_body_length_px:.1f} px"),
        "spread in the image": ("\u2013" if pose.image_spread_px is None
                                else f"{pose.image_spread_px:.1f} px"),
        "animals aligned": f"{pose.n_aligned} of {pose.n_animals}",
    })
    fig = pose_figure(audit)
    if fig is not None:
        sec.figure(fig, alt=f"Aligned poses of {pose.n_aligned} animals, the spread of each "
                   f"node in body lengths (index {pose.index}) and the poses on their first "
                   "two principal components.",
                   caption="Left: every aligned pose, one colour per node, the mean pose in "
                   "black. Middle: each node's spread; black line: the index, red dashes: the "
                   "concentration threshold. Right: poses on their two main components, "
                   "coloured by the first condition column.")
    for column, values in audit.pose_by_condition.items():
        if len(values) > 1:
            sec.table([column, "pose-variance index"], [[v, i] for v, i in values.items()],
                      caption=f"pose-variance index per {column} (same body axis)")


def _nodes(report: Report, audit: DatasetAudit) -> None:
    sec = report.section("Nodes")
    sec.paragraph(f"Visible: labelled animals where the node is placed. A node visible in "
                  f"fewer than {RARE_NODE_SHARE:.0%} of the animals is almost never visible. "
                  "Spread: as in the pose-variance plot, in pixels and body lengths.")
    length = audit.pose.median_body_length_px or np.nan
    flagged = any(v.share is not None and v.share < RARE_NODE_SHARE for v in audit.visibility)
    rows = []
    for v in audit.visibility:
        spread = audit.pose.node_spread_px.get(v.node)
        flag = ["almost never visible" if v.share is not None and v.share < RARE_NODE_SHARE
                else ""] if flagged else []
        rows.append([v.node, v.visible, v.animals, _share(v.share), *flag, spread,
                     None if spread is None else spread / length])
    sec.table(["node", "visible", "animals", "share", *(["flag"] if flagged else []),
               "spread (px)", "spread (body lengths)"], rows)


def _sizes(report: Report, audit: DatasetAudit) -> None:
    sec = report.section("Frame sizes")
    rows = [[f"{s.width} \u00d7 {s.height}", s.frames, ", ".join(s.recordings[:4])
             + (" \u2026" if len(s.recordings) > 4 else "")] for s in audit.frame_sizes]
    sec.table(["width \u00d7 height (px)", "frames", "recordings"], rows)
    if len(audit.frame_sizes) > 1:
        sec.note(f"{len(audit.frame_sizes)} different frame sizes: check that the model's "
                 "input scaling suits all of them.")


def _behaviour(report: Report, audit: DatasetAudit) -> None:
    b = audit.behaviour
    if b is None:
        return
    sec = report.section("Behaviour coverage")
    sec.paragraph(f"From the ethogram {Path(b.path).name}: labelled frames inside each "
                  "behaviour's bouts (a frame can be in two states). The guide asks for a "
                  "balanced count of frames per behaviour state.")
    sec.table(["behaviour", "labelled frames", "share", "frames in bouts", "status"],
              [[c.name, c.frames, _share(c.share), b.bout_frames.get(c.name, 0),
                "absent" if c.name in b.absent else "thin" if c.name in b.thin else "ok"]
               for c in b.counts])
    sec.paragraph(f"{b.outside_bouts} labelled frame(s) of annotated recordings fall in no "
                  f"bout; {b.not_annotated} come from recordings the ethogram does not list.")
    if b.unmatched_videos:
        sec.note(f"ethogram videos matching no labelled recording: "
                 f"{', '.join(b.unmatched_videos)}")


def _labelers(report: Report, audit: DatasetAudit) -> None:
    a = audit.labelers
    if a is None:
        return
    sec = report.section("Labeler agreement")
    sec.paragraph(f"{len(a.labelers)} labelers ({', '.join(a.labelers)}), "
                  f"{a.frames_in_consensus} frames labelled by two or more. ILA: mean distance "
                  "between two labelers' clicks on the same node (after outlier removal); "
                  "ICC: labeler consistency in the animal's frame (guide: > 0.9 for precise "
                  "keypoints). Details: posekit labels consensus.")
    sec.key_numbers({"ILA": "\u2013" if a.ila_px is None else f"{a.ila_px:.2f} px",
                     "band": a.band or "\u2013",
                     "outlier labelers": ", ".join(a.outliers) or "none"})
    sec.table(["node", "ILA (px)", "band", "ICC (lower of x, y)"],
              [[n.node, n.ila_px, n.band or "\u2013", n.icc] for n in a.nodes])


def _split(report: Report, audit: DatasetAudit) -> None:
    s = audit.split
    if s is None:
        return
    sec = report.section("Split and leakage")
    sec.paragraph(f"Split folder {s.folder} (split by {s.by or 'unknown'}). A held-out frame "
                  f"leaks when it is closer than {s.leakage.near_frames} frames to a training "
                  "frame of the same recording, or its image is a near duplicate of a "
                  "training image.")
    rows = [[side.side, side.n_frames, side.n_in_train_videos, side.min_distance,
             side.median_distance, side.n_near_in_time, side.n_near_duplicates]
            for side in s.leakage.sides]
    sec.table(["side", "frames", "in training recordings", "closest (frames)",
               "median distance", "too close", "near duplicates"], rows,
              caption=f"training: {s.frames.get('train', 0)} frames")
    if s.leaks:
        for message in s.messages.values():
            sec.warning(message)
        hash_only = [x.side for x in s.leakage.sides
                     if x.n_near_duplicates and not x.n_near_in_time]
        if hash_only:
            sec.note(f"{', '.join(hash_only)}: no frame is near a training frame in time; "
                     "the leak is by image hash only. With a fixed camera and background, "
                     "frames far apart in time can hash alike: look at the pairs "
                     "(posekit labels leakage -o report.json lists them) before discarding "
                     "the split.")
    else:
        sec.good("No held-out frame is near a training frame or a near duplicate of one.")
    if s.coverage:
        sides = [x for x in ("train", "val", "test") if x in s.frames]
        sec.table(["condition", *sides], [[c, *[v.get(x, 0) for x in sides]]
                                          for c, v in s.coverage.items()],
                  caption="frames per condition and side (from the split manifest)")


def _montage(report: Report, audit: DatasetAudit,
             image_of: Callable[[int], np.ndarray | None]) -> None:
    fig = montage_figure(audit, image_of)
    if fig is None:
        return
    meta = audit.metadata
    column = meta.condition_columns[0] if meta and meta.condition_columns else "recording"
    report.section("Sampled frames").figure(
        fig, alt=f"Sampled labelled frames, one row per {column}, labelled points drawn.",
        caption=f"Up to six labelled frames per {column} (seeded choice, spread over the "
                "frames), cropped around the labelled animals, with their labelled points; "
                "each title is recording:frame.")


def dataset_report(audit: DatasetAudit,
                   image_of: Callable[[int], np.ndarray | None] | None = None) -> Report:
    """The audit's report page (sections in reading order) with the audit as its result.

    Args:
        audit: from :func:`posekit.reports.dataset_audit.audit_dataset`.
        image_of: ``image_of(i)`` -> image of labelled frame ``i`` (default: read it from
            the labels; None when unreadable).
    """
    report = Report(title=f"Dataset audit \u2013 {Path(audit.source).name}", kind=KIND,
                    subtitle="What the labelled frames cover, and what is missing.",
                    inputs={"labels": audit.source})
    if audit.metadata is not None:
        report.inputs["metadata"] = audit.metadata.path
    if audit.behaviour is not None:
        report.inputs["ethogram"] = audit.behaviour.path
    if audit.split is not None:
        report.inputs["split"] = audit.split.folder
    if audit.labelers is not None:
        report.inputs["labelers"] = ", ".join(audit.labelers.sources)
    _summary(report, audit)
    _composition(report, audit)
    _coverage(report, audit)
    _frame_count(report, audit)
    _behaviour(report, audit)
    _pose(report, audit)
    _nodes(report, audit)
    _sizes(report, audit)
    _labelers(report, audit)
    _split(report, audit)
    _montage(report, audit, image_of or _frame_image(audit))
    report.add_result(RESULT, audit)
    return report
