"""Typed, validated sleap-nn style configuration."""
