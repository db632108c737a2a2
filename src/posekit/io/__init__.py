"""Pose data input/output on top of sleap-io."""
