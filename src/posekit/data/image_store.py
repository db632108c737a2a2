"""Preprocessed training images, decoded once: the three ``data_pipeline_fw`` modes.

* ``torch_dataset``: frames are decoded and preprocessed when first needed and kept in a
  bounded in-memory LRU cache (so small datasets are effectively decoded once, large ones
  stay within the memory budget).
* ``torch_dataset_cache_img_memory``: every frame is decoded and preprocessed up front and
  kept in memory.
* ``torch_dataset_cache_img_disk``: every frame is decoded and preprocessed once and written
  to ``<cache_img_path>/<split>_imgs/`` as ``.npy`` files (lossless, memory-mapped reads);
  ``use_existing_imgs`` reuses a cache written earlier when its manifest matches.

All stores hand out ``uint8 (H, W, C)`` arrays already at the model's input size, plus the
:class:`~posekit.data.preprocessing.InputTransform` that maps keypoints into it.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import threading
from collections import OrderedDict
from pathlib import Path

import numpy as np

from posekit.data.preprocessing import InputTransform, PreprocessingParams, make_transform
from posekit.errors import ConfigError, DataError
from posekit.io.frames import FrameTable
from posekit.utils.atomic import atomic_path, atomic_write_text

PIPELINE_MODES = ("torch_dataset", "torch_dataset_cache_img_memory", "torch_dataset_cache_img_disk")
DEFAULT_LRU_BYTES = 1 << 30  # 1 GiB of preprocessed frames for the plain torch_dataset mode


def preprocess_frame(
    image: np.ndarray, prep: PreprocessingParams, model_size: tuple[int, int]
) -> tuple[np.ndarray, InputTransform]:
    """Decode-side preprocessing of one frame to the dataset's model input size."""
    from posekit.data.preprocessing import preprocess_image

    return preprocess_image(
        image,
        ensure_rgb=prep.ensure_rgb,
        ensure_grayscale=prep.ensure_grayscale,
        scale=prep.scale,
        max_height=prep.max_height,
        max_width=prep.max_width,
        max_stride=prep.max_stride,
        model_size=model_size,
    )


class ImageStore:
    """Preprocessed frames of one :class:`FrameTable` (see module docstring for the modes).

    Args:
        table: The frames.
        prep: Preprocessing options.
        model_size: The dataset's model input size (all frames are padded to it).
        frame_sizes: ``(F, 2)`` original ``(height, width)`` of every frame.
        mode: One of :data:`PIPELINE_MODES`.
        cache_dir: Folder of the disk cache (``torch_dataset_cache_img_disk`` only).
        use_existing: Reuse an existing disk cache whose manifest matches.
        reuse_complete: Without ``use_existing``, still reuse a disk cache that is complete
            and matches instead of rewriting it (secondary training processes reuse the
            first one's cache; when they build it at the same time, every file is written
            to a temporary name and renamed, so no reader ever sees a partial one).
        lru_bytes: Memory budget of the ``torch_dataset`` LRU cache.
    """

    def __init__(
        self,
        table: FrameTable,
        prep: PreprocessingParams,
        model_size: tuple[int, int],
        frame_sizes: np.ndarray,
        mode: str = "torch_dataset",
        cache_dir: str | os.PathLike[str] | None = None,
        use_existing: bool = False,
        lru_bytes: int = DEFAULT_LRU_BYTES,
        reuse_complete: bool = False,
    ) -> None:
        if mode not in PIPELINE_MODES:
            raise ConfigError(
                f"data_config.data_pipeline_fw: got {mode!r}; expected one of "
                f"{', '.join(PIPELINE_MODES)}."
            )
        self.table = table
        self.prep = prep
        self.model_size = (int(model_size[0]), int(model_size[1]))
        self.frame_sizes = np.asarray(frame_sizes, dtype=np.int64).reshape(-1, 2)
        self.mode = mode
        self.cache_dir = Path(cache_dir) if cache_dir is not None else None
        self._memory: list[np.ndarray] | None = None
        self._lru: OrderedDict[int, np.ndarray] = OrderedDict()
        self._lru_bytes = int(lru_bytes)
        self._lru_used = 0
        self._lock = threading.Lock()
        if mode == "torch_dataset_cache_img_memory":
            self._memory = [self._decode(i) for i in range(len(table))]
        elif mode == "torch_dataset_cache_img_disk":
            if self.cache_dir is None:
                raise ConfigError(
                    "data_config.cache_img_path: the disk cache needs a folder; expected a path "
                    "(it defaults to the run folder during training)."
                )
            self._prepare_disk_cache(use_existing, reuse_complete)

    # ------------------------------------------------------------------ public API
    def __len__(self) -> int:
        return len(self.table)

    def transform(self, i: int) -> InputTransform:
        """The transform that maps frame ``i``'s keypoints into its model input."""
        h, w = self.frame_sizes[i]
        p = self.prep
        return make_transform(int(h), int(w), scale=p.scale, max_height=p.max_height,
                              max_width=p.max_width, max_stride=p.max_stride,
                              model_size=self.model_size)

    def image(self, i: int) -> np.ndarray:
        """Frame ``i`` preprocessed to ``uint8 (H, W, C)`` at the model input size."""
        if self._memory is not None:
            return self._memory[i]
        if self.mode == "torch_dataset_cache_img_disk":
            return np.load(self._disk_path(i), mmap_mode="r")
        return self._cached_decode(i)

    # ------------------------------------------------------------------ internals
    def _decode(self, i: int) -> np.ndarray:
        image = self.table.read_image(i)
        if tuple(image.shape[:2]) != tuple(self.frame_sizes[i]):
            raise DataError(
                f"frame {tuple(self.table.keys[i])}: decoded size {image.shape[:2]} differs from "
                f"the size {tuple(self.frame_sizes[i])} measured before; expected a stable "
                "video. The file may have changed during training."
            )
        out, _ = preprocess_frame(image, self.prep, self.model_size)
        return np.ascontiguousarray(out)

    def _cached_decode(self, i: int) -> np.ndarray:
        with self._lock:
            hit = self._lru.get(i)
            if hit is not None:
                self._lru.move_to_end(i)
                return hit
        image = self._decode(i)
        with self._lock:
            if i not in self._lru:
                self._lru[i] = image
                self._lru_used += image.nbytes
                while self._lru_used > self._lru_bytes and len(self._lru) > 1:
                    _, old = self._lru.popitem(last=False)
                    self._lru_used -= old.nbytes
        return image

    def _disk_path(self, i: int) -> Path:
        assert self.cache_dir is not None
        return self.cache_dir / f"{i:07d}.npy"

    def _manifest(self) -> dict[str, object]:
        digest = hashlib.sha256()
        digest.update(np.ascontiguousarray(self.table.keys).tobytes())
        digest.update(np.ascontiguousarray(self.frame_sizes).tobytes())
        digest.update(json.dumps([v.display_name for v in self.table.videos]).encode())
        return {
            "frames": len(self.table),
            "model_size": list(self.model_size),
            "preprocessing": {
                "ensure_rgb": self.prep.ensure_rgb,
                "ensure_grayscale": self.prep.ensure_grayscale,
                "scale": self.prep.scale,
                "max_height": self.prep.max_height,
                "max_width": self.prep.max_width,
                "max_stride": self.prep.max_stride,
            },
            "frames_sha256": digest.hexdigest(),
        }

    def _disk_cache_is_complete(self, manifest_path: Path, expected: dict[str, object]) -> bool:
        """Whether the folder holds this store's whole cache (manifest written last)."""
        try:
            found = json.loads(manifest_path.read_text())
        except (OSError, ValueError):
            return False
        return found == expected and all(self._disk_path(i).is_file()
                                         for i in range(len(self.table)))

    def _prepare_disk_cache(self, use_existing: bool, reuse_complete: bool = False) -> None:
        assert self.cache_dir is not None
        manifest_path = self.cache_dir / "manifest.json"
        expected = self._manifest()
        if reuse_complete and not use_existing and self._disk_cache_is_complete(manifest_path,
                                                                                expected):
            return
        if use_existing:
            if not manifest_path.is_file():
                raise DataError(
                    f"{self.cache_dir}: use_existing_imgs is true but this folder holds no image "
                    "cache (manifest.json missing); expected a cache written by an earlier run. "
                    "Set use_existing_imgs: false to build it."
                )
            found = json.loads(manifest_path.read_text())
            if found != expected:
                raise DataError(
                    f"{self.cache_dir}: the cached images were made from other frames or other "
                    "preprocessing settings than this run's; expected a matching cache. Set "
                    "use_existing_imgs: false to rebuild it, or point cache_img_path elsewhere."
                )
            missing = [i for i in range(len(self.table)) if not self._disk_path(i).is_file()]
            if missing:
                raise DataError(
                    f"{self.cache_dir}: {len(missing)} cached images are missing (first: "
                    f"{self._disk_path(missing[0]).name}); expected a complete cache. Set "
                    "use_existing_imgs: false to rebuild it."
                )
            return
        self.cache_dir.mkdir(parents=True, exist_ok=True)
        for i in range(len(self.table)):
            with atomic_path(self._disk_path(i)) as tmp, open(tmp, "wb") as fh:
                np.save(fh, self._decode(i))
        atomic_write_text(manifest_path, json.dumps(expected, indent=1))

    def delete_disk_cache(self) -> None:
        """Remove this store's disk cache folder (``delete_cache_imgs_after_training``)."""
        if self.cache_dir is not None and self.cache_dir.is_dir():
            shutil.rmtree(self.cache_dir)

    def __getstate__(self) -> dict[str, object]:
        state = dict(self.__dict__)
        state["_lock"] = None
        state["_lru"] = OrderedDict()
        state["_lru_used"] = 0
        return state

    def __setstate__(self, state: dict[str, object]) -> None:
        self.__dict__.update(state)
        self._lock = threading.Lock()


def measure_frame_sizes(table: FrameTable) -> np.ndarray:
    """Original ``(height, width)`` of every frame of ``table``.

    Frames of media videos share the video's size (read from its header). Embedded frames
    and image lists are measured one by one, because projects mix image sizes (and an
    embedded video may record one size for frames of several).
    """
    from posekit.io.images import open_video_ref

    sizes = np.zeros((len(table), 2), dtype=np.int64)
    video_size: dict[int, tuple[int, int] | None] = {}
    for i in range(len(table)):
        vi = int(table.keys[i, 0])
        if vi not in video_size:
            ref = table.videos[vi]
            video_size[vi] = None
            if not ref.embedded and not ref.is_image_list:
                shape = open_video_ref(ref).shape
                if shape is not None and len(shape) == 4:
                    video_size[vi] = (int(shape[1]), int(shape[2]))
        known = video_size[vi]
        sizes[i] = known if known is not None else table.read_image(i).shape[:2]
    return sizes
