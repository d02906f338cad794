"""Training-state helpers: EMA, LR schedule, RNG capture, checkpoint files.

A checkpoint is a directory `OUT/checkpoints/step-000500/` holding
    training_state.pt  model, EMA, optimiser, scheduler, step, RNG states, data position
    config.json        the resolved config of the run
    model/             the exported model (task.export: config.json + model.safetensors)
and `OUT/checkpoints/latest` names the newest complete one. Directories are written under
a temporary name and renamed, so a killed run never leaves a half checkpoint behind.
`training_state.pt` is our own file and is read with `torch.load(weights_only=True)`.
"""

from __future__ import annotations

import copy
import math
import os
import random
import shutil
from typing import Callable

import numpy as np
import torch
import torch.nn as nn

from ..utils.atomic import atomic_write_json, atomic_write_text

CKPT_DIR = "checkpoints"


class EMA:
    """Exponential moving average of a model's parameters and buffers.

    The decay warms up as min(decay, (1 + n) / (10 + n)) so that early averages are not
    dominated by the random initialisation.
    """

    def __init__(self, model: nn.Module, decay: float):
        self.decay = decay
        self.model = copy.deepcopy(model).eval().requires_grad_(False)
        self.updates = 0

    @torch.no_grad()
    def update(self, model: nn.Module) -> None:
        self.updates += 1
        d = min(self.decay, (1 + self.updates) / (10 + self.updates))
        src = model.state_dict()
        for k, v in self.model.state_dict().items():
            if v.dtype.is_floating_point:
                v.lerp_(src[k].to(v.dtype), 1 - d)
            else:
                v.copy_(src[k])

    def state_dict(self) -> dict:
        return {"model": self.model.state_dict(), "updates": self.updates}

    def load_state_dict(self, state: dict) -> None:
        self.model.load_state_dict(state["model"])
        self.updates = int(state["updates"])


def warmup_cosine(warmup: int, total: int, min_ratio: float, progress: Callable[[], float] | None = None):
    """LR multiplier: linear warm-up over `warmup` steps then cosine to `min_ratio` at `total`.

    With `progress` (a callable returning the run's fraction done, e.g. elapsed / budget), the
    cosine follows it instead of the step count: a time-budgeted run ends annealed however fast
    the machine turns out to be.
    """

    def f(step: int) -> float:
        if warmup > 0 and step < warmup:
            return (step + 1) / warmup
        if progress is not None:
            prog = min(1.0, max(0.0, float(progress())))
        else:
            prog = min(1.0, (step - warmup) / max(1, total - warmup))
        return min_ratio + (1 - min_ratio) * 0.5 * (1 + math.cos(math.pi * prog))

    return f


def rng_state() -> dict:
    """Python, numpy and torch RNG states (tensors/lists only: loadable with weights_only)."""
    np_state = np.random.get_state()
    return {
        "python": list(_to_lists(random.getstate())),
        "numpy": [np_state[0], torch.from_numpy(np_state[1].astype(np.int64)), *np_state[2:]],
        "torch": torch.get_rng_state(),
        "gpu": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else [],
    }


def _to_lists(t):
    return [_to_lists(x) if isinstance(x, tuple) else x for x in t]


def _to_tuples(t):
    return tuple(_to_tuples(x) if isinstance(x, list) else x for x in t)


def set_rng_state(state: dict) -> None:
    """Restore what `rng_state` captured."""
    random.setstate(_to_tuples(state["python"]))
    n = state["numpy"]
    np.random.set_state((n[0], n[1].numpy().astype(np.uint32), *n[2:]))
    torch.set_rng_state(state["torch"])
    if state.get("gpu") and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["gpu"])


def seed_everything(seed: int) -> None:
    """Seed python, numpy and torch."""
    random.seed(seed)
    np.random.seed(seed % 2 ** 32)
    torch.manual_seed(seed)


def latest_checkpoint(out_dir: str) -> str | None:
    """Path of the newest complete checkpoint under `out_dir`, or None."""
    ptr = os.path.join(out_dir, CKPT_DIR, "latest")
    if not os.path.isfile(ptr):
        return None
    with open(ptr, encoding="utf-8") as f:
        name = f.read().strip()
    path = os.path.join(out_dir, CKPT_DIR, name)
    return path if os.path.isfile(os.path.join(path, "training_state.pt")) else None


def write_checkpoint(out_dir: str, step: int, state: dict, config: dict, export, keep: int) -> str:
    """Write checkpoint `step` atomically (tmp dir + rename), update `latest`, prune old ones."""
    root = os.path.join(out_dir, CKPT_DIR)
    os.makedirs(root, exist_ok=True)
    name = f"step-{step:07d}"
    final, tmp = os.path.join(root, name), os.path.join(root, f".{name}.tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    os.makedirs(tmp)
    torch.save(state, os.path.join(tmp, "training_state.pt"))
    atomic_write_json(os.path.join(tmp, "config.json"), config)
    if export is not None:
        export(os.path.join(tmp, "model"))
    shutil.rmtree(final, ignore_errors=True)
    os.replace(tmp, final)
    atomic_write_text(os.path.join(root, "latest"), name + "\n")
    done = sorted(d for d in os.listdir(root) if d.startswith("step-"))
    for old in done[:-keep] if keep > 0 else []:
        shutil.rmtree(os.path.join(root, old), ignore_errors=True)
    return final


def load_training_state(ckpt_dir: str) -> dict:
    """Read our own training_state.pt (tensors and plain containers only)."""
    return torch.load(os.path.join(ckpt_dir, "training_state.pt"), map_location="cpu", weights_only=True)
