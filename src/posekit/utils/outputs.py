"""The checks every command makes before it writes: an output never replaces an input, and
an existing output is only replaced when the user asked for it."""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

from posekit.errors import ConfigError

PathLike = str | os.PathLike[str]


def check_new_outputs(outputs: Iterable[PathLike], inputs: Iterable[PathLike],
                      force: bool | None = None) -> None:
    """Raise :class:`~posekit.errors.ConfigError` when an output is one of the inputs, or
    (``force`` False) already exists; ``force=None`` skips the existence check (commands
    that back up what they replace).

    Inputs are compared after resolving paths, so ``./a.slp`` and ``a.slp`` are the same.
    """
    protected = {Path(p).resolve() for p in inputs}
    for out in map(Path, outputs):
        if out.resolve() in protected:
            raise ConfigError(f"{out}: this output would replace an input; expected a new "
                              "file. Choose another output name (inputs are never changed).")
        if force is False and out.exists():
            raise ConfigError(f"{out}: already exists; expected a new output file. Pass "
                              "--force to replace it or choose another name.")
