"""What to do for each loss-curve diagnosis: the refinement guide's advice, in posekit's
terms (configuration fields and commands that exist), most useful first.

The guide's tables (loss-plot patterns and hyperparameter adjustments by diagnosis) give
the direction of each change; the dataset action it names for each diagnosis comes first
where the data is the likelier lever.
"""

from __future__ import annotations

ACTIONS: dict[str, tuple[str, ...]] = {
    "unstable": (
        ("Lower the learning rate about 10x (trainer_config.optimizer.lr): a rate too high "
         "makes the training loss itself jump or climb."),
        ("Use larger batches (trainer_config.train_data_loader.batch_size); small batches give "
         "noisy steps. When you multiply the batch size by k, multiply the learning rate by k "
         "too (linear scaling)."),
        ("Look for broken training frames or labels (posekit data inspect): one bad frame can "
         "make every epoch that meets it jump."),
    ),
    "overfitting": (
        ("Use the weights of the best epoch (best.ckpt, the lowest validation loss), not "
         "last.ckpt, and stop training earlier (fewer epochs or "
         "trainer_config.early_stopping)."),
        ("Label more, and more varied, frames: other animals, sessions, lighting, backgrounds "
         "and postures (posekit frames extract on new videos). The guide's first remedy is "
         "a larger, more diverse training set."),
        ("Regularise with realistic augmentation (data_config.use_augmentations_train: "
         "rotation, scale, brightness); if you already use extreme augmentation, moderate it."),
        ("With few labelled frames, use a smaller network (fewer filters, "
         "model_config.backbone_config.unet.filters) and consider a slightly lower learning "
         "rate."),
    ),
    "underfitting": (
        ("Train much longer (trainer_config.max_epochs, min_train_steps_per_epoch) and watch "
         "for the loss to start a steady fall."),
        ("Give the model more capacity: more filters or a deeper network (unet.filters, "
         "max_stride), or a larger backbone (convnext, swint)."),
        "Relax regularisation: lighter augmentation until the model fits the training set.",
        ("Check that preprocessing keeps the detail the keypoints need (input scale not too "
         "small) and that the labelled frames cover the full range of poses."),
        "If the learning rate is very low, it can be raised.",
    ),
    "plateau": (
        ("Lower the learning rate when the loss stops improving: add "
         "trainer_config.lr_scheduler.reduce_lr_on_plateau (factor 0.1, patience 10), or "
         "resume with a 10x lower trainer_config.optimizer.lr; keep training after the drop."),
        ("Add challenging edge-case frames, where the model fails (posekit frames outliers, "
         "posekit refine round)."),
        ("Re-inspect a sample of training and validation frames for inconsistent labels: "
         "the same body part placed differently stops the loss from falling."),
        ("If a lower learning rate does not move the loss, the network is at its capacity "
         "for this data: try more filters or another backbone."),
    ),
    "volatile": (
        ("Audit the validation frames: processed like the training frames, representative "
         "of them, no corrupted images or wrong labels (posekit data inspect; "
         "posekit labels split shows what each split holds)."),
        "Lower the learning rate about 10x (trainer_config.optimizer.lr).",
        ("Use larger batches (trainer_config.train_data_loader.batch_size) for steadier "
         "updates."),
    ),
    "healthy": (
        ("Use best.ckpt (the lowest validation loss) for predictions; it is what posekit "
         "track loads."),
        ("The next gains come from the data: predict new videos and label the frames where "
         "the model fails (posekit refine round), then train again."),
    ),
}
"""Actions per diagnosis, most useful first."""


STILL_IMPROVING = ("The validation loss is still falling at the end: training longer "
                   "(trainer_config.max_epochs) would likely lower it further.")
"""Extra first action for a healthy run that stopped while still improving."""


def actions_for(pattern: str, still_improving: bool = False) -> tuple[str, ...]:
    """The actions of ``pattern``; a healthy run still improving is told to train longer
    first."""
    actions = ACTIONS[pattern]
    if pattern == "healthy" and still_improving:
        return (STILL_IMPROVING, *actions)
    return actions
