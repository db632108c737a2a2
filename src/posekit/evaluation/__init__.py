"""Evaluation: OKS matching and the field's metrics (mAP, pixel errors, PCK, identity)."""
