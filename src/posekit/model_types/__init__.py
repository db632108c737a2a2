"""Model types as codecs: what each head learns (targets), how it is scored (loss), and how
many channels it needs. One small class per model type, found by the config's head name
(:func:`posekit.model_types.registry.make_task`), so datasets, the Lightning module and the
predictors never branch on the model type.

Submodules are imported explicitly (``posekit.model_types.info`` is torch-free and used by
inference without torch).
"""
