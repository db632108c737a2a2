"""Shared pytest fixtures.

``shared_data`` points at the real datasets in ``../shared/data`` (beside the project
checkout). Tests that use it skip with a clear reason where that folder is absent
(a fresh clone); in CI it is present and they run.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

PROJECT_ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = Path(os.environ.get("POSEKIT_SHARED_DATA", PROJECT_ROOT.parent / "shared" / "data"))


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """Folder of real labelled datasets; skips the test when it is not available."""
    if not (SHARED_DATA / "manifest.json").is_file():
        pytest.skip(
            f"real datasets not found at {SHARED_DATA} (expected ../shared/data beside the "
            "project, or set POSEKIT_SHARED_DATA); these tests run in CI where it is present"
        )
    return SHARED_DATA
