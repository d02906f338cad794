"""The shared trainer: a Task supplies the model, data and loss; the Trainer owns the loop.

Public API: `Trainer`, `Task`, `TrainConfig`, `OptimConfig`, `EMA`, `unwrap`.
"""

from ..utils.lazy import lazy_exports

__getattr__, __all__ = lazy_exports(__name__, {
    "OptimConfig": ".config", "TrainConfig": ".config", "EMA": ".state", "Task": ".task",
    "Trainer": ".trainer", "unwrap": ".trainer",
})
