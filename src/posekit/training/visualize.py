"""Training-time visualisation: image + true and predicted points + confidence maps per epoch.

After every validation epoch the first validation sample is drawn to
``<run folder>/viz/val.<epoch>.png``. The folder is removed at the end of training unless
``keep_viz`` is true.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import lightning as L
import numpy as np
import torch

from posekit.utils.atomic import atomic_path


def render_figure(image: np.ndarray, true_points: np.ndarray, pred_points: np.ndarray,
                  confmap: np.ndarray, stride: int, title: str, path: Path) -> Path:
    """Draw one sample and write it as a PNG atomically."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(5, 5 * image.shape[0] / max(image.shape[1], 1)), dpi=100)
    ax.imshow(image.squeeze(), cmap="gray" if image.shape[-1] == 1 else None, vmin=0, vmax=1)
    h, w = image.shape[:2]
    extent = (-0.5 * stride, (confmap.shape[1] - 0.5) * stride,
              (confmap.shape[0] - 0.5) * stride, -0.5 * stride)
    ax.imshow(confmap, cmap="magma", alpha=0.35, extent=extent, vmin=0, vmax=1)
    tp = true_points.reshape(-1, 2)
    pp = pred_points.reshape(-1, 2)
    ax.scatter(tp[:, 0], tp[:, 1], s=30, facecolors="none", edgecolors="lime", label="true")
    ax.scatter(pp[:, 0], pp[:, 1], s=12, c="red", marker="x", label="predicted")
    ax.set_xlim(-0.5, w - 0.5)
    ax.set_ylim(h - 0.5, -0.5)
    ax.set_title(title, fontsize=9)
    ax.legend(loc="lower right", fontsize=7)
    ax.axis("off")
    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png")
    plt.close(fig)
    return path


class PredictionVisualizer(L.Callback):
    """Saves a PNG of the first validation sample's prediction after every epoch."""

    def __init__(self, folder: str | Path, dataset, keep: bool = False,
                 log_to_wandb: bool = False) -> None:
        self.folder = Path(folder)
        self.dataset = dataset
        self.keep = keep
        self.log_to_wandb = log_to_wandb
        self.written: list[Path] = []

    def on_validation_epoch_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        if not trainer.is_global_zero or trainer.sanity_checking or len(self.dataset) == 0:
            return
        sample = self.dataset[0]
        batch = type(sample)(*(v[None] for v in sample)).to(pl_module.device)
        was_training = pl_module.training
        pl_module.eval()
        with torch.no_grad():
            images, points, _ = pl_module.prepare_batch(batch, train=False)
            outputs = pl_module.model(images)
        pl_module.train(was_training)
        confmap, stride, pred, true = pl_module.task.preview(outputs, points)
        image = images[0].float().permute(1, 2, 0).cpu().numpy()
        self.folder.mkdir(parents=True, exist_ok=True)
        path = self.folder / f"val.{trainer.current_epoch:04d}.png"
        loss = trainer.callback_metrics.get("val_loss")
        title = f"epoch {trainer.current_epoch}" + (f", val loss {float(loss):.4g}" if loss is not None else "")
        render_figure(image, true, pred, confmap, stride, title, path)
        self.written.append(path)
        if self.log_to_wandb:
            for logger in trainer.loggers:
                if hasattr(logger, "log_image"):
                    logger.log_image(key="viz/val", images=[str(path)])

    def on_train_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        if trainer.is_global_zero and not self.keep and self.folder.is_dir():
            shutil.rmtree(self.folder)
