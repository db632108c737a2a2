"""Names of the inference graph's outputs per model type (torch-free)."""

from __future__ import annotations

#: Output names of each model type's graph, in order.
GRAPH_OUTPUTS: dict[str, tuple[str, ...]] = {
    "single_instance": ("points", "scores"),
    "centered_instance": ("points", "scores"),
    "multi_class_topdown": ("points", "scores", "class_probs"),
    "centroid": ("peak_sample", "peak_points", "peak_scores"),
    "bottomup": ("peak_sample", "peak_channel", "peak_points", "peak_scores", "pafs"),
    "multi_class_bottomup": ("peak_sample", "peak_channel", "peak_points", "peak_scores",
                             "class_maps"),
}
