"""The refinement loop: choose frames to label, find where a model fails, merge corrected
labels, and split data without leakage.

Pure functions on arrays and small dataclasses (no files, no terminal, no Lightning); the
CLI commands ``posekit frames``, ``posekit labels`` and ``posekit refine`` are thin shells
over them. Submodules are imported explicitly.
"""
