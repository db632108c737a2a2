"""Small helpers shared by every package (atomic file writes, ...)."""

from posekit.utils.atomic import atomic_path, atomic_write_text, ensure_parent_exists

__all__ = ["atomic_path", "atomic_write_text", "ensure_parent_exists"]
