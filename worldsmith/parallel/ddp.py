"""Data parallelism applied from outside the model (the trainer's `parallelize` hook).

    torchrun --nproc_per_node 2 -m worldsmith.cli tokenizer train ...   # one process per device

`init_distributed()` joins the process group torchrun describes (gloo on CPU, nccl on GPU);
`parallelize(model, cfg)` wraps the model in DDP when more than one process runs and returns
it unchanged otherwise. FSDP2 / activation checkpointing would slot in here, in that order.
"""

from __future__ import annotations

import os

import torch
import torch.distributed as dist
import torch.nn as nn
from torch.nn.parallel import DistributedDataParallel


def init_distributed(backend: str | None = None) -> tuple[int, int]:
    """Initialise the default process group from torchrun's env vars; returns (rank, world).

    Without torchrun (no WORLD_SIZE) it does nothing and returns (0, 1).
    """
    if dist.is_available() and dist.is_initialized():
        return dist.get_rank(), dist.get_world_size()
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world <= 1 or not dist.is_available():
        return 0, 1
    if backend is None:
        backend = "nccl" if torch.cuda.is_available() else "gloo"
    if backend == "nccl":
        torch.cuda.set_device(int(os.environ.get("LOCAL_RANK", "0")))
    dist.init_process_group(backend=backend)
    return dist.get_rank(), dist.get_world_size()


def parallelize(model: nn.Module, cfg=None) -> nn.Module:
    """Wrap `model` (already on its device) in DDP when a process group with >1 rank exists."""
    if not (dist.is_available() and dist.is_initialized()) or dist.get_world_size() == 1:
        return model
    dev = next(model.parameters()).device
    ids = [dev.index if dev.index is not None else torch.cuda.current_device()] if dev.type == "cuda" else None
    return DistributedDataParallel(model, device_ids=ids)
