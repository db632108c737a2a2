"""Several synthetic recordings with a metadata CSV: animals x sessions x conditions.

Each recording is rendered with :func:`posekit.io.synthetic.render` from its own seed (so
its floor texture, motion and noise differ) and with the look of its condition
(lighting drift, background texture contrast, blur), written as an ``.mp4``, and all of
them go into one labels file (``.pkg.slp`` with the frames embedded, or ``.slp``
referring to the videos) beside a metadata CSV::

    video,animal,session,treatment,dose,camera,arena
    videos/m0_s0.mp4,m0,s0,saline,0,top,A
    ...

>>> from posekit.io.synthetic.sessions import default_sessions, write_sessions
>>> data = write_sessions("out", default_sessions(n_animals=4, n_sessions=2))  # doctest: +SKIP
>>> data.labels_path.name, data.metadata_path.name  # doctest: +SKIP
('sessions.pkg.slp', 'metadata.csv')
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

from posekit.errors import ConfigError
from posekit.utils import atomic_write_text

METADATA_COLUMNS = ("animal", "session", "treatment", "dose", "camera", "arena")


@dataclass(frozen=True)
class SessionSpec:
    """One recording: who, when, under which condition, and how it looks.

    Attributes:
        video: File name of the recording (``.mp4``), unique among the sessions.
        animal: Animal identifier.
        session: Session identifier.
        treatment: Experimental condition.
        dose: Dose (text, as in a lab's spreadsheet).
        camera: Camera name.
        arena: Arena name.
        seed: Render seed (floor texture, motion, noise).
        lighting: Lighting drift amplitude (see :class:`~posekit.io.synthetic.SynthSpec`).
        texture: Background texture contrast.
        blur: Gaussian blur sigma in pixels.
    """

    video: str
    animal: str
    session: str
    treatment: str
    dose: str = "0"
    camera: str = "top"
    arena: str = "A"
    seed: int = 0
    lighting: float = 0.15
    texture: float = 1.0
    blur: float = 0.6


def condition_look(index: int) -> dict[str, float]:
    """Lighting, texture and blur of the ``index``-th condition (each condition looks
    different: dimmer drift, stronger texture and more blur as the index grows)."""
    step = index % 4
    return {"lighting": 0.05 + 0.1 * step, "texture": 0.6 + 0.5 * step, "blur": 0.4 + 0.5 * step}


def default_sessions(
    n_animals: int = 4,
    n_sessions: int = 2,
    treatments: Sequence[str] = ("saline", "drug"),
    seed: int = 0,
) -> list[SessionSpec]:
    """Animals nested in treatments (animal ``i`` gets ``treatments[i % len]``), each
    recorded in ``n_sessions`` sessions; even sessions in arena A, odd ones in arena B.
    The first treatment has dose 0, the others dose 10."""
    if n_animals < 1 or n_sessions < 1 or not treatments:
        raise ConfigError(
            f"default_sessions: n_animals={n_animals}, n_sessions={n_sessions}, "
            f"treatments={list(treatments)}; expected at least one of each."
        )
    out = []
    for a in range(n_animals):
        t = a % len(treatments)
        for s in range(n_sessions):
            out.append(SessionSpec(
                video=f"m{a}_s{s}.mp4", animal=f"m{a}", session=f"s{s}",
                treatment=treatments[t], dose="0" if t == 0 else "10",
                arena="A" if s % 2 == 0 else "B", seed=seed * 1000 + a * 10 + s + 1,
                **condition_look(t)))
    return out


@dataclass
class SessionsDataset:
    """What :func:`write_sessions` wrote."""

    labels_path: Path
    metadata_path: Path
    video_paths: list[Path]
    sessions: list[SessionSpec]


def metadata_csv(sessions: Sequence[SessionSpec], video_folder: str = "videos") -> str:
    """The metadata CSV text: ``video`` (relative path) and :data:`METADATA_COLUMNS`."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["video", *METADATA_COLUMNS])
    for s in sessions:
        writer.writerow([f"{video_folder}/{s.video}", *(getattr(s, c) for c in METADATA_COLUMNS)])
    return buffer.getvalue()


def write_sessions(
    out_dir: str | Path,
    sessions: Sequence[SessionSpec] | None = None,
    *,
    n_frames: int = 40,
    size: int = 64,
    animals_per_video: int = 1,
    embed: bool = True,
    name: str = "sessions",
) -> SessionsDataset:
    """Render every session, write its video, one labels file and the metadata CSV.

    Args:
        out_dir: Existing or new folder; videos go to ``out_dir/videos/``.
        sessions: The recordings (default: :func:`default_sessions`).
        n_frames: Frames per recording (every frame is labelled).
        size: Image height and width in pixels.
        animals_per_video: Animals in each recording.
        embed: ``<name>.pkg.slp`` with the frames embedded (else ``<name>.slp``).
        name: Stem of the labels file.

    Returns:
        The paths written and the sessions.
    """
    import sleap_io as sio

    from posekit.io.labels import merge_labels
    from posekit.io.synthetic.render import render
    from posekit.io.synthetic.spec import SynthSpec
    from posekit.io.synthetic.writer import write_video
    from posekit.io.writers import save_labels

    sessions = list(sessions) if sessions is not None else default_sessions()
    names = [s.video for s in sessions]
    if len(set(names)) != len(names) or not names:
        raise ConfigError(
            f"write_sessions: video names {names}; expected at least one session and unique "
            "video names."
        )
    out_dir = Path(out_dir)
    (out_dir / "videos").mkdir(parents=True, exist_ok=True)
    parts, paths = [], []
    for s in sessions:
        spec = SynthSpec(n_frames=n_frames, height=size, width=size, n_animals=animals_per_video,
                         seed=s.seed, lighting=s.lighting, texture=s.texture, blur=s.blur,
                         occluders=0, animal_size=0.4)
        result = render(spec)
        path = write_video(result.images, out_dir / "videos" / s.video, spec.fps)
        video = sio.Video.from_filename(path.resolve().as_posix(), grayscale=True)
        parts.append((path, result.to_labels(video)))
        paths.append(path)
    labels = merge_labels(parts)
    labels.provenance.clear()
    labels.provenance["posekit_synthetic"] = {
        "sessions": [asdict(s) for s in sessions], "n_frames": n_frames, "size": size}
    labels_path = out_dir / (f"{name}.pkg.slp" if embed else f"{name}.slp")
    save_labels(labels, labels_path, embed=bool(embed))
    for video in labels.videos:
        video.close()
    metadata_path = atomic_write_text(out_dir / "metadata.csv", metadata_csv(sessions))
    return SessionsDataset(labels_path, metadata_path, paths, list(sessions))
