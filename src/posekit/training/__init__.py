"""Training on Lightning: the LightningModule, losses, callbacks and the run folder."""
