"""Parallelism applied from outside the model: `parallelize(model, cfg)` (DDP), `init_distributed()`."""

from .ddp import init_distributed, parallelize

__all__ = ["init_distributed", "parallelize"]
