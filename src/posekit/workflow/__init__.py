"""Workflows that compose posekit's parts end to end (prediction + refinement), above the
inference layer: :mod:`posekit.workflow.round` runs one active-learning round."""
