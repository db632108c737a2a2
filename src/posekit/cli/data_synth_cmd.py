"""``posekit data synth``: render synthetic animals with exact ground-truth keypoints."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from posekit.errors import ConfigError


def parse_size(text: str) -> tuple[int, int]:
    """``"160"`` -> ``(160, 160)``; ``"120x200"`` (height x width) -> ``(120, 200)``."""
    parts = text.lower().replace(",", "x").split("x")
    try:
        values = [int(p) for p in parts]
    except ValueError:
        values = []
    if len(values) == 1:
        values *= 2
    if len(values) != 2:
        raise ConfigError(
            f"--size: {text!r} is not a size; expected one number (square) or HEIGHTxWIDTH. "
            "Use e.g. --size 160 or --size 120x200."
        )
    return values[0], values[1]


def synth(
    output: Annotated[
        Path,
        typer.Option(
            "-o",
            "--output",
            help="Labels file: .pkg.slp embeds every frame; .slp refers to the --video file.",
        ),
    ],
    video: Annotated[
        Path | None,
        typer.Option(help="Also write the same frames as a video (.mp4), frame for frame."),
    ] = None,
    frames: Annotated[int, typer.Option("--frames", "-n", help="Number of frames.")] = 100,
    animals: Annotated[int, typer.Option("--animals", "-a", help="Animals per frame.")] = 1,
    seed: Annotated[int, typer.Option(help="Random seed; the same seed, the same data.")] = 0,
    size: Annotated[str, typer.Option(help="Image size: N (square) or HEIGHTxWIDTH.")] = "160",
    skeleton: Annotated[
        str, typer.Option(help="Body plan: mouse (8 nodes), fly (5) or worm (a chain).")
    ] = "mouse",
    nodes: Annotated[
        int | None, typer.Option(help="Number of nodes of the worm chain (default 6).")
    ] = None,
    rgb: Annotated[bool, typer.Option("--rgb/--gray", help="Colour or grayscale.")] = False,
    identities: Annotated[
        bool | None,
        typer.Option(
            "--identities/--no-identities",
            help="Visibly distinct animals (colour, markings); default: on with several.",
        ),
    ] = None,
    tracks: Annotated[
        bool | None,
        typer.Option(
            "--tracks/--no-tracks", help="Name each animal's track; default: on with several."
        ),
    ] = None,
    noise: Annotated[float, typer.Option(help="Sensor noise (grey levels, std).")] = 5.0,
    blur: Annotated[float, typer.Option(help="Gaussian blur sigma in pixels (0: sharp).")] = 0.6,
    lighting: Annotated[float, typer.Option(help="Lighting drift amplitude (0-0.9).")] = 0.15,
    occluders: Annotated[int, typer.Option(help="Number of occluding shapes.")] = 1,
    animal_size: Annotated[
        float, typer.Option(help="Body length as a fraction of the image's smaller side.")
    ] = 0.3,
    fps: Annotated[float, typer.Option(help="Frame rate written to the video.")] = 30.0,
    force: Annotated[bool, typer.Option(help="Replace existing output files.")] = False,
) -> None:
    """Render synthetic animals with exact keypoints and write them as a labels file.

    Animals walk over a textured floor with noise, blur, drifting light and occluders.
    Keypoints outside the image or hidden by an occluder or another animal are left
    unlabelled. With several animals each has a named track and a distinct appearance.

    Example: posekit data synth -o mice.pkg.slp --video mice.mp4 --frames 500 --animals 3
    """
    from posekit.io.synthetic import SynthSpec, render, write_dataset

    height, width = parse_size(size)
    for path in (output, video):
        if path is not None and path.exists() and not force:
            raise ConfigError(
                f"{path}: already exists; expected a new output file. Pass --force to "
                "replace it or choose another name."
            )
    spec = SynthSpec(n_frames=frames, n_animals=animals, height=height, width=width,
                     skeleton=skeleton, n_nodes=nodes, rgb=rgb, identities=identities,
                     tracks=tracks, noise=noise, blur=blur, lighting=lighting,
                     occluders=occluders, animal_size=animal_size, fps=fps, seed=seed)
    result = render(spec)
    write_dataset(spec, output, video, result=result)
    also = f" and {video}" if video is not None else ""
    typer.echo(
        f"wrote {frames} frames x {animals} animal(s) x {spec.body.n_nodes} nodes "
        f"({height}x{width}, {'RGB' if rgb else 'gray'}) to {output}{also}; "
        f"rendered at {result.frames_per_second:.0f} frames/s"
    )


def register(data_app: typer.Typer) -> None:
    """Attach ``synth`` to the ``posekit data`` group."""
    data_app.command("synth")(synth)
