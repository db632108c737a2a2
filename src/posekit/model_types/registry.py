"""Find the :class:`~posekit.model_types.base.Task` of a model configuration by its head name."""

from __future__ import annotations

from posekit.errors import ConfigError
from posekit.model_types.base import Task
from posekit.model_types.info import DataInfo
from posekit.model_types.types import (
    BottomUpTask,
    CenteredInstanceTask,
    CentroidTask,
    MultiClassBottomUpTask,
    MultiClassTopDownTask,
    SingleInstanceTask,
)

TASK_TYPES: dict[str, type[Task]] = {
    cls.head_type: cls
    for cls in (
        SingleInstanceTask,
        CentroidTask,
        CenteredInstanceTask,
        BottomUpTask,
        MultiClassBottomUpTask,
        MultiClassTopDownTask,
    )
}


def make_task(model_config: object, info: DataInfo) -> Task:
    """The task for ``model_config``'s (single) head type."""
    head_type = model_config.head_type
    if head_type not in TASK_TYPES:
        raise ConfigError(
            f"model_config.head_configs.{head_type}: unknown model type; expected one of "
            f"{', '.join(TASK_TYPES)}."
        )
    return TASK_TYPES[head_type](model_config.active_head, info)
