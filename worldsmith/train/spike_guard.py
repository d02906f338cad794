"""Roll a run back past a loss spike instead of letting it train a dead net.

Small un-normalised nets (the tiny tokenizers) can blow up within ~30 steps of one bad
gradient: the training loss rises 10-30x, the net falls to the mean-image plateau and never
leaves it (BENCHMARKS.md, tokenizers, sessions 12-13). The guard keeps two in-memory
snapshots of the model, EMA and optimiser (taken every `every` steps while the loss is at
its running level), watches a fast average of log(loss) against a slow one, and when the fast
one rises `factor` times above the slow one it restores the older snapshot. The first
rollback only rewinds (the batches that follow differ from the ones that led to the spike);
each further one also scales the learning rate by `lr_factor`, and the scale then returns
linearly to 1 over `lr_recover_steps` (the tiny tokenizers spike again when the lr is back
at its peak, and a halved lr for the rest of a 30-minute run cost 0.3-0.4 dB; BENCHMARKS.md,
session 14). The step counter and the data stream go on (the batches in between are skipped,
not replayed). No snapshot is taken for `every` steps after a rollback. If the restored net's
median loss over its first `CHECK` steps is still `factor` times the level before the spike,
the data changed, not the net: the guard takes that level as its new reference instead of
rolling back again and again.

Snapshots live in memory only: after a resume there is none until `every` steps later.
They hold the trainer's model, EMA and optimiser, not a task's own extra state (the optional
GAN discriminator of tokenizer training is not rolled back).
"""

from __future__ import annotations

import copy
import logging
import math
from dataclasses import dataclass

import torch

log = logging.getLogger(__name__)


@dataclass
class SpikeGuardConfig:
    """`train.spike_guard.*`: automatic rollback after a training-loss spike (factor 0 = off)."""

    factor: float = 0.0
    """Roll back when the ~10-step average of the loss (geometric) exceeds this multiple of the
    ~100-step one (e.g. 4 = 6 dB of PSNR for an MSE loss); 0 = off."""
    every: int = 100
    """Steps between in-memory snapshots (two are kept; the older one is restored)."""
    lr_factor: float = 0.5
    """Learning-rate scale applied at each rollback after the first (compounds)."""
    lr_recover_steps: int = 2000
    """Steps over which that scale returns linearly to 1 (0 = it stays for the rest of the run)."""
    max_rollbacks: int = 5
    """After this many rollbacks the guard only warns."""
    warmup: int = 200
    """No detection before this step (the loss falls fast at the start)."""

    def validate(self) -> "SpikeGuardConfig":
        from ..utils.errors import WorldsmithError

        if self.factor != 0 and self.factor <= 1:
            raise WorldsmithError(f"train.spike_guard.factor={self.factor}: expected 0 (off) or > 1")
        if self.every < 1:
            raise WorldsmithError(f"train.spike_guard.every={self.every}: must be >= 1")
        if not 0 < self.lr_factor <= 1:
            raise WorldsmithError(f"train.spike_guard.lr_factor={self.lr_factor}: expected 0 < f <= 1")
        for name in ("lr_recover_steps", "max_rollbacks", "warmup"):
            if getattr(self, name) < 0:
                raise WorldsmithError(f"train.spike_guard.{name}={getattr(self, name)}: must be >= 0")
        return self


FAST, SLOW = 0.9, 0.99  # EMA decays of log(loss): ~10 and ~100 steps
CHECK = 10  # steps after a rollback whose median loss tells a changed data stream from a spike


class SpikeGuard:
    """Watches the loss, keeps snapshots, restores one after a spike (see the module doc)."""

    def __init__(self, cfg: SpikeGuardConfig):
        self.cfg = cfg
        self.fast = self.slow = None  # EMAs of log(loss)
        self.rollbacks = 0
        self.quiet_until = 0  # no snapshot before this step (after a rollback)
        self.check: list[float] | None = None  # log-losses of the restored net's first CHECK steps
        self.scale, self.scaled_at = 1.0, 0  # lr scale of the last scaled rollback, and its step
        self.snapshots: list[tuple[int, dict]] = []  # (step, state), oldest first

    @property
    def on(self) -> bool:
        return self.cfg.factor > 0

    def observe(self, loss: float, step: int) -> bool:
        """Update the averages with this step's loss; True when a spike is detected."""
        quiet = step <= self.cfg.warmup or self.check is not None
        if not math.isfinite(loss) or loss <= 0:  # nan/inf (or a degenerate loss)
            return not quiet and self.slow is not None
        x = math.log(loss)
        if self.fast is None:
            self.fast = self.slow = x
            return False
        if self.check is not None:  # just rolled back: is the restored net's loss back at the old level?
            self.check.append(x)
            if len(self.check) == CHECK:
                level = sorted(self.check)[CHECK // 2]
                if level - self.slow > math.log(self.cfg.factor):  # no: the data changed, adopt its level
                    log.info("spike guard: the loss stays %.1fx higher after the rollback; taking that as its "
                             "new level", math.exp(level - self.slow))
                    self.fast = self.slow = level
                self.check = None
            return False
        self.fast = FAST * self.fast + (1 - FAST) * x
        self.slow = SLOW * self.slow + (1 - SLOW) * x
        return not quiet and self.fast - self.slow > math.log(self.cfg.factor)

    def healthy(self, step: int) -> bool:
        """Past the quiet period, and the fast average no more than halfway (in log) to the trigger."""
        if step <= self.quiet_until:
            return False
        return self.fast is None or self.fast - self.slow < 0.5 * math.log(self.cfg.factor)

    def snapshot(self, step: int, trainer) -> None:
        state = {"model": _cpu_copy(trainer.model.state_dict()),
                 "ema": _cpu_copy(trainer.ema.state_dict()) if trainer.ema is not None else None,
                 "optimizer": _cpu_copy(trainer.opt.state_dict())}
        self.snapshots = (self.snapshots + [(step, state)])[-2:]

    def rollback(self, step: int, trainer) -> dict | None:
        """Restore the older snapshot and scale the lr; returns what was done (None: could not)."""
        if not self.snapshots or self.rollbacks >= self.cfg.max_rollbacks:
            return None
        to_step, state = self.snapshots[0]
        trainer.model.load_state_dict(state["model"])
        if trainer.ema is not None and state["ema"] is not None:
            trainer.ema.load_state_dict(state["ema"])
        trainer.opt.load_state_dict(state["optimizer"])
        if self.rollbacks:  # the first rollback only rewinds
            self.scale, self.scaled_at = self.lr_mult(step) * self.cfg.lr_factor, step
        self.rollbacks += 1
        self.snapshots = self.snapshots[:1]  # the newer one may already hold the start of the spike
        self.fast = self.slow  # measure the restored net against the level before the spike
        self.quiet_until, self.check = step + self.cfg.every, []
        return {"to_step": to_step, "lr_scale": round(self.lr_mult(step), 6), "rollbacks": self.rollbacks}

    def lr_mult(self, step: int) -> float:
        """The learning-rate multiplier at `step` (1 unless a scaled rollback is recovering)."""
        if self.scale >= 1:
            return 1.0
        n = self.cfg.lr_recover_steps
        if n == 0:
            return self.scale
        return self.scale + (1 - self.scale) * min(1.0, (step - self.scaled_at) / n)

    def state_dict(self) -> dict:
        return {"fast": self.fast, "slow": self.slow, "rollbacks": self.rollbacks, "quiet_until": self.quiet_until,
                "check": self.check, "scale": self.scale, "scaled_at": self.scaled_at}

    def load_state_dict(self, state: dict) -> None:
        self.fast, self.slow = state.get("fast"), state.get("slow")
        self.rollbacks = int(state.get("rollbacks", 0))
        self.quiet_until = int(state.get("quiet_until", 0))
        self.check = state.get("check")
        self.scale, self.scaled_at = float(state.get("scale", 1.0)), int(state.get("scaled_at", 0))


def _cpu_copy(obj):
    if isinstance(obj, torch.Tensor):
        return obj.detach().to("cpu", copy=True)
    if isinstance(obj, dict):
        return {k: _cpu_copy(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return type(obj)(_cpu_copy(v) for v in obj)
    return copy.deepcopy(obj)
