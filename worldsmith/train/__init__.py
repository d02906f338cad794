"""The shared trainer: a Task supplies the model, data and loss; the Trainer owns the loop.

Public API: `Trainer`, `Task`, `TrainConfig`, `OptimConfig`, `EMA`, `unwrap`.
"""

from .config import OptimConfig, TrainConfig
from .state import EMA
from .task import Task
from .trainer import Trainer, unwrap

__all__ = ["Trainer", "Task", "TrainConfig", "OptimConfig", "EMA", "unwrap"]
