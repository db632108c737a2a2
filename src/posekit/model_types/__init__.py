"""Model types: each head type of sleap-nn's configuration described once.

One module per type (``single_instance.py``, ``centroid.py``, ``centered_instance.py``,
``bottomup.py``, ``multi_class_bottomup.py``, ``multi_class_topdown.py``), each a
:class:`~posekit.model_types.base.ModelType` subclass holding its heads, targets, dense
decoding, predictor and preview; :mod:`posekit.model_types.registry` finds them by name.
Datasets, the Lightning module, the exported graph, the predictors, the run finisher and
the previews read the description and never compare type names.

Nothing here imports torch at import time (the type modules are torch-free; their
torch-side methods import it when called).
"""
