"""Inference: peak finding, grouping, predictors and the streaming pipeline."""
