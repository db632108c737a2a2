"""From a network's outputs to instances in full-frame pixels.

Peak finding (torch, traced into the exported inference graph) and everything after it in
numpy: PAF and class-map grouping, identity assignment, top-down crops, and the predictors
that assemble one frame's instances. Submodules are imported explicitly; only
:mod:`posekit.decoding.peaks` imports torch.
"""
