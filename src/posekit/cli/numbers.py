"""Numbers in the command line's tables and summaries."""

from __future__ import annotations

import math
import numbers


def fixed(value: object, digits: int = 3) -> str:
    """``value`` with ``digits`` decimals; ``"n/a"`` for ``None``, NaN or a non-number."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        return "n/a"
    if math.isnan(float(value)):
        return "n/a"
    return f"{float(value):.{digits}f}"
