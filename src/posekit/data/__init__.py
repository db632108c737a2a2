"""Training data: preprocessing, augmentation, targets, datasets and image caches."""
