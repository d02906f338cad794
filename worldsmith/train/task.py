"""The Task interface: what a model type supplies to the generic trainer.

The trainer owns the loop (optimiser, schedule, EMA, precision, accumulation, clipping,
logging, checkpoints and exact resume); a Task owns everything model-specific.
"""

from __future__ import annotations

from typing import Any, Iterator

import torch
import torch.nn as nn


class Task:
    """Base class of training tasks. Subclasses implement the first three methods."""

    def build_model(self) -> nn.Module:
        """A freshly initialised model (on CPU; the trainer moves it)."""
        raise NotImplementedError

    def train_batches(self, seed: int, rank: int = 0, world_size: int = 1) -> Iterator[Any]:
        """An endless, deterministic iterator of training micro-batches for `seed`.

        Resume replays it: the trainer re-creates it and skips the batches already used,
        unless the iterator has `state_dict()` / `load_state_dict()` (then those are used).
        """
        raise NotImplementedError

    def loss(self, model: nn.Module, batch: Any, step: int) -> tuple[torch.Tensor, dict[str, float]]:
        """(scalar loss to minimise, scalars to log) for one micro-batch at optimiser `step`."""
        raise NotImplementedError

    def param_groups(self, model: nn.Module) -> list[dict] | None:
        """Optimiser parameter groups, each {"params": [...], "lr_mult": m} (learning rate =
        m * train.optim.lr), or None for one group of all trainable parameters. Frozen
        parameters must be left out."""
        return None

    def compile_model(self, model: nn.Module) -> nn.Module:
        """`train.compile`: the training model, compiled where this task's loss runs through it.
        By default the model's forward (`torch.compile`, fixed shapes); tasks whose loss calls
        another method of the bare model compile the submodule that method runs instead."""
        return torch.compile(model, dynamic=False)

    def evaluate(self, model: nn.Module, step: int) -> dict[str, float]:
        """Validation scalars (e.g. PSNR on held-out clips); `model` is the EMA model if any."""
        return {}

    def log_samples(self, model: nn.Module, batch: Any, writer, step: int) -> None:
        """Write samples (e.g. reconstructions) to the TensorBoard `writer` (may be None)."""

    def export(self, model: nn.Module, out_dir: str) -> None:
        """Save `model` as a pretrained directory (`save_pretrained`)."""
        model.save_pretrained(out_dir)

    def finalize(self, model: nn.Module) -> None:
        """Called on the exported model before the final export (e.g. latent statistics)."""

    def state_dict(self) -> dict:
        """Extra task state to checkpoint (e.g. a discriminator and its optimiser)."""
        return {}

    def load_state_dict(self, state: dict) -> None:
        """Restore what `state_dict` returned."""

    def config_dict(self) -> dict:
        """The task's resolved config, saved next to every checkpoint."""
        return {}

    def to_device(self, batch: Any, device: torch.device) -> Any:
        """Move a batch to `device` (tensors in dicts, lists and tuples)."""
        if isinstance(batch, torch.Tensor):
            return batch.to(device, non_blocking=True)
        if isinstance(batch, dict):
            return {k: self.to_device(v, device) for k, v in batch.items()}
        if isinstance(batch, (list, tuple)):
            return type(batch)(self.to_device(v, device) for v in batch)
        return batch
