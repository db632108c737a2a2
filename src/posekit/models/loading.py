"""Copying named tensors into a model, with a report of what was and wasn't used.

Every weight source (posekit checkpoints, torchvision ImageNet weights, SLEAP ``.h5``
files) ends in :func:`load_matching`: a tensor is copied only when its name exists in the
target and its shape matches; everything else is listed in the :class:`LoadReport`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

import torch
from torch import Tensor, nn


@dataclass
class LoadReport:
    """Outcome of loading weights into a model.

    Attributes:
        source: where the tensors came from (path or weights name).
        loaded: target names that received a tensor.
        skipped: ``(source name, reason)`` for source tensors that were not used.
        missing: target names in scope that received nothing (keep their initial values).
    """

    source: str
    loaded: list[str] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)

    @property
    def n_loaded(self) -> int:
        """Number of tensors loaded."""
        return len(self.loaded)

    @property
    def n_skipped(self) -> int:
        """Number of source tensors not used."""
        return len(self.skipped)

    def summary(self) -> str:
        """One line: counts plus the first few skipped / missing names."""
        text = (
            f"{self.source}: loaded {self.n_loaded} tensors, skipped {self.n_skipped}, "
            f"{len(self.missing)} model tensors left as initialised"
        )
        if self.skipped:
            shown = "; ".join(f"{name} ({why})" for name, why in self.skipped[:3])
            more = f" and {self.n_skipped - 3} more" if self.n_skipped > 3 else ""
            text += f". Skipped: {shown}{more}"
        if self.missing:
            shown = ", ".join(self.missing[:3])
            more = f" and {len(self.missing) - 3} more" if len(self.missing) > 3 else ""
            text += f". Not loaded: {shown}{more}"
        return text

    def merge(self, other: LoadReport) -> LoadReport:
        """Combine two reports over disjoint parts of one model."""
        return LoadReport(
            source=self.source,
            loaded=self.loaded + other.loaded,
            skipped=self.skipped + other.skipped,
            missing=self.missing + other.missing,
        )


def load_matching(
    module: nn.Module,
    tensors: Mapping[str, Tensor],
    source: str,
    scope: Iterable[str] | None = None,
    skipped: list[tuple[str, str]] | None = None,
) -> LoadReport:
    """Copy every tensor of ``tensors`` whose name and shape match ``module.state_dict()``.

    Args:
        module: the model to fill (modified in place, under ``torch.no_grad``).
        tensors: ``{state-dict name: tensor}``, names relative to ``module``.
        source: label for the report.
        scope: target names that count as "missing" when not loaded (default: all).
        skipped: reasons already collected by the caller (prepended to the report).

    Returns:
        The :class:`LoadReport`.
    """
    target = module.state_dict()
    report = LoadReport(source=source, skipped=list(skipped or []))
    with torch.no_grad():
        for name, value in tensors.items():
            if name not in target:
                report.skipped.append((name, "no such tensor in the model"))
                continue
            if tuple(target[name].shape) != tuple(value.shape):
                report.skipped.append(
                    (
                        name,
                        f"shape {tuple(value.shape)} != model's {tuple(target[name].shape)}",
                    )
                )
                continue
            target[name].copy_(value.to(dtype=target[name].dtype))
            report.loaded.append(name)
    done = set(report.loaded)
    names = list(scope) if scope is not None else list(target)
    report.missing = [name for name in names if name not in done]
    return report
