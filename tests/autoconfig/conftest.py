"""Synthetic datasets for the auto-config tests (small, so measuring and timing are fast)."""

from __future__ import annotations

from pathlib import Path

import pytest


def _write(tmp_path_factory, name: str, **spec) -> Path:
    from posekit.io.synthetic import SynthSpec, write_dataset

    path = tmp_path_factory.mktemp("autoconfig") / f"{name}.pkg.slp"
    write_dataset(SynthSpec(occluders=0, noise=2.0, **spec), path)
    return path


@pytest.fixture(scope="session")
def small_in_big(tmp_path_factory) -> Path:
    """One mouse of ~29 px in a 288 px frame."""
    return _write(tmp_path_factory, "small", n_frames=24, height=288, width=288,
                  animal_size=0.1, seed=3)


@pytest.fixture(scope="session")
def large_animal(tmp_path_factory) -> Path:
    """One mouse of ~170 px in a 240 px frame."""
    return _write(tmp_path_factory, "large", n_frames=24, height=240, width=240,
                  animal_size=0.7, seed=4)


@pytest.fixture(scope="session")
def identity_pair(tmp_path_factory) -> Path:
    """Two mice with tracks that name them throughout (identities)."""
    return _write(tmp_path_factory, "pair", n_frames=40, n_animals=2, height=192, width=192,
                  animal_size=0.15, seed=5)


@pytest.fixture(scope="session")
def tiny_single(tmp_path_factory) -> Path:
    """A 64 px single-mouse dataset for writing configs quickly."""
    return _write(tmp_path_factory, "tiny", n_frames=20, height=64, width=64,
                  animal_size=0.45, seed=6)
