"""Synthetic training logs made to show each loss-curve pattern, with realistic noise.

Losses are built on the log scale (``log loss = trend + noise``) and returned as
:class:`~posekit.training.training_log.EpochRow` s, exactly what the typed log reader gives.
Noise is multiplicative and independent per epoch; ``train_noise`` / ``val_noise`` are its
standard deviations in log units (0.05: about 5 % per epoch), the range seen in posekit's
own short training logs (training 1-9 %, validation 2-15 %).
"""

from __future__ import annotations

import numpy as np

from posekit.training.training_log import EpochRow


def rows(train: np.ndarray, val: np.ndarray, lr: np.ndarray | float = 1e-3) -> list[EpochRow]:
    """Epoch rows of the given losses (and learning rates)."""
    lrs = np.broadcast_to(np.asarray(lr, dtype=np.float64), np.shape(train))
    return [EpochRow(i, float(t), float(v), float(r), 1.0, 1.2, 1.2 * (i + 1))
            for i, (t, v, r) in enumerate(zip(train, val, lrs, strict=True))]


def decay(n: int, start: float = 0.02, floor: float = 0.002, tau: float = 8.0) -> np.ndarray:
    """A learning curve: fast fall from ``start`` towards ``floor`` (log of the loss)."""
    t = np.arange(n, dtype=np.float64)
    return np.log(floor + (start - floor) * np.exp(-t / tau))


def noisy(log_loss: np.ndarray, sigma: float, rng: np.random.Generator) -> np.ndarray:
    """The loss with multiplicative noise of ``sigma`` (log units)."""
    return np.exp(log_loss + rng.normal(0.0, sigma, len(log_loss)))


def healthy(seed: int, n: int = 40, train_noise: float = 0.03, val_noise: float = 0.08,
            tau: float | None = None) -> list[EpochRow]:
    """Both losses fall and are still falling at the end (validation a little above)."""
    rng = np.random.default_rng(seed)
    curve = decay(n, tau=tau if tau is not None else n / 2.5)
    return rows(noisy(curve, train_noise, rng), noisy(curve + 0.1, val_noise, rng))


def converged(seed: int, n: int = 60, train_noise: float = 0.03,
              val_noise: float = 0.08) -> list[EpochRow]:
    """Falls, flattens, and a reduce-on-plateau schedule lowers the learning rate 10x
    every 10 flat epochs (each drop lowers the loss a little): what a finished run looks
    like."""
    rng = np.random.default_rng(seed)
    curve = decay(n, tau=5.0)
    lr = np.full(n, 1e-3)
    for k, drop_at in enumerate(range(30, n, 10)):
        lr[drop_at:] = 1e-3 * 0.1 ** (k + 1)
        curve[drop_at:] += np.log(0.97)
    return rows(noisy(curve, train_noise, rng), noisy(curve + 0.1, val_noise, rng), lr)


def overfitting(seed: int, n: int = 50, onset: int = 20, rise_per_epoch: float = 0.02,
                train_noise: float = 0.03, val_noise: float = 0.06) -> list[EpochRow]:
    """Training keeps falling; validation follows it until ``onset``, then rises
    ``rise_per_epoch`` (log units) per epoch: diverging curves."""
    rng = np.random.default_rng(seed)
    train = decay(n, tau=10.0, floor=0.0005)
    val = decay(n, tau=6.0, floor=0.003)
    t = np.arange(n)
    val = np.where(t > onset, val[onset] + rise_per_epoch * (t - onset), val)
    return rows(noisy(train, train_noise, rng), noisy(val, val_noise, rng))


def gap_overfitting(seed: int, n: int = 40) -> list[EpochRow]:
    """Validation stalls at its level from epoch 10 while training keeps falling far
    below it (a widening gap, as in SLEAP's minimal_robot example log)."""
    rng = np.random.default_rng(seed)
    train = decay(n, start=0.006, floor=0.00002, tau=6.0)
    val = np.maximum(decay(n, start=0.004, floor=0.0015, tau=3.0), np.log(0.0016))
    return rows(noisy(train, 0.04, rng), noisy(val, 0.04, rng))


def underfitting(seed: int, n: int = 30, total_drop: float = 1.4, train_noise: float = 0.02,
                 val_noise: float = 0.04) -> list[EpochRow]:
    """Both losses high, falling slowly: only ``total_drop`` times over the run."""
    rng = np.random.default_rng(seed)
    curve = np.log(0.05) - np.log(total_drop) * np.arange(n) / (n - 1)
    return rows(noisy(curve, train_noise, rng), noisy(curve - 0.05, val_noise, rng))


def plateau(seed: int, n: int = 60, flat_from: int = 25, train_noise: float = 0.02,
            val_noise: float = 0.06) -> list[EpochRow]:
    """Falls 10x by ``flat_from``, then both losses are flat at one learning rate."""
    rng = np.random.default_rng(seed)
    t = np.arange(n, dtype=np.float64)
    curve = np.log(0.02) - np.log(10.0) * np.minimum(t, flat_from) / flat_from
    return rows(noisy(curve, train_noise, rng), noisy(curve + 0.1, val_noise, rng))


def volatile(seed: int, n: int = 40, spike_epochs: tuple[int, ...] = (9, 17, 26, 33),
             spike_factor: float = 2.2) -> list[EpochRow]:
    """A healthy run whose validation loss jumps ``spike_factor`` times at the given
    epochs while training stays smooth."""
    base = healthy(seed, n)
    return [EpochRow(r.epoch, r.train_loss,
                     r.val_loss * spike_factor if r.epoch in spike_epochs else r.val_loss,
                     r.lr, r.train_time_s, r.epoch_time_s, r.elapsed_s) for r in base]


def unstable(seed: int, n: int = 40, from_epoch: int = 22, rise_per_epoch: float = 0.03
             ) -> list[EpochRow]:
    """Both losses fall, then both climb from ``from_epoch`` (a learning rate too high)."""
    rng = np.random.default_rng(seed)
    curve = decay(n, tau=6.0)
    t = np.arange(n)
    curve = np.where(t > from_epoch, curve[from_epoch] + rise_per_epoch * (t - from_epoch),
                     curve)
    return rows(noisy(curve, 0.03, rng), noisy(curve + 0.1, 0.06, rng))
