"""The post-graph inference modules must run without torch (it costs ~600 MB of memory)."""

from __future__ import annotations

import subprocess
import sys

MODULES = (
    "posekit.decoding.paf_scoring",
    "posekit.decoding.paf_grouping",
    "posekit.decoding.identity",
    "posekit.decoding.class_map_grouping",
)


def test_grouping_modules_do_not_import_torch():
    code = (
        "import sys\n"
        + "".join(f"import {name}\n" for name in MODULES)
        + "loaded = sorted(m for m in sys.modules if m == 'torch' or m.startswith('torch.'))\n"
        + "print(','.join(loaded))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=False
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "", f"torch modules imported: {result.stdout.strip()}"
