"""The trainer's config: optimisation, schedule, logging and checkpointing (model-agnostic)."""

from __future__ import annotations

from dataclasses import dataclass, field

from ..utils.errors import WorldsmithError
from .spike_guard import SpikeGuardConfig


@dataclass
class OptimConfig:
    """AdamW with linear warm-up then cosine decay to `min_lr_ratio * lr`."""

    lr: float = 1e-3
    weight_decay: float = 0.0
    betas: tuple[float, float] = (0.9, 0.99)
    warmup_steps: int = 100
    min_lr_ratio: float = 0.1
    schedule: str = "steps"
    """What the cosine runs over: "steps" (to `train.steps`) or "time" (to `train.max_minutes`
    of wall time; `train.steps` is then only an upper bound). "time" makes a time-budgeted run
    end annealed however fast the machine is (a run whose step count was guessed too high stops
    part-way down the cosine, at a high learning rate); its learning rates then depend on the
    machine's speed, so two such runs are not bit-identical (a resumed one continues the
    schedule from the saved wall time)."""
    grad_clip: float = 1.0
    """Clip the global gradient norm to this (0 = off)."""
    fused: bool = True
    """PyTorch's fused AdamW kernel (one pass over all parameters instead of a Python loop
    per tensor; CPU and CUDA). Falls back to the plain implementation where unsupported."""


@dataclass
class TrainConfig:
    """How to train: steps, batching, precision, EMA, logging and checkpoint intervals."""

    steps: int = 1000
    batch_size: int = 8
    grad_accum: int = 1
    """Micro-batches per optimiser step (effective batch = batch_size * grad_accum)."""
    seed: int = 0
    device: str = "auto"
    bf16: bool = True
    """bf16 autocast on GPU (on CPU only with `cpu_bf16`)."""
    cpu_bf16: bool = False
    """Also autocast to bf16 on a CPU that has native bf16 (AVX512-BF16 or AMX, e.g. Xeon
    Sapphire Rapids and later): about 1.8x faster tokenizer steps there. Other CPUs stay fp32."""
    ema_decay: float = 0.999
    """EMA of the weights (0 = off); exported models use the EMA weights when on."""
    optim: OptimConfig = field(default_factory=OptimConfig)
    log_every: int = 10
    eval_every: int = 200
    """Steps between evaluations (task.evaluate); 0 = only at the end."""
    sample_every: int = 500
    """Steps between sample logs to TensorBoard (task.log_samples); 0 = off."""
    ckpt_every: int = 500
    """Steps between checkpoints (the last step always checkpoints)."""
    keep_checkpoints: int = 2
    max_minutes: float = 0.0
    """Stop (and checkpoint) after this much wall time; 0 = no limit."""
    tensorboard: bool = True
    channels_last: bool = False
    """Store the model's 5D conv weights channels-last (NDHWC), the layout oneDNN computes in:
    ~1.1x faster tokenizer steps on CPU, no change to the maths."""
    compile: bool = False
    """Run the training forward pass through `torch.compile` (fixed shapes; ~30-60 s to compile
    each shape once): ~1.3x faster tokenizer steps on CPU on top of channels_last. The task
    chooses what is compiled (`Task.compile_model`): the tokenizer's forward; the DiT network
    inside the diffusion tasks' denoiser, in place, so parameter names and checkpoints are
    unchanged. Opt-in: at one CPU thread its bf16 kernels trained the tiny tokenizer far worse
    than eager (BENCHMARKS.md, session 12)."""

    spike_guard: SpikeGuardConfig = field(default_factory=SpikeGuardConfig)
    """Roll back to an in-memory snapshot and lower the lr after a training-loss spike
    (`train.spike_guard.factor`, 0 = off; see worldsmith/train/spike_guard.py)."""

    def validate(self) -> "TrainConfig":
        """Raise WorldsmithError naming the first bad field."""
        self.spike_guard.validate()
        for name in ("steps", "batch_size", "grad_accum", "log_every"):
            if getattr(self, name) < 1:
                raise WorldsmithError(f"train.{name}={getattr(self, name)}: must be >= 1")
        for name in ("eval_every", "sample_every", "ckpt_every", "max_minutes"):
            if getattr(self, name) < 0:
                raise WorldsmithError(f"train.{name}={getattr(self, name)}: must be >= 0")
        if not 0 <= self.ema_decay < 1:
            raise WorldsmithError(f"train.ema_decay={self.ema_decay}: expected 0 <= decay < 1")
        if self.optim.schedule not in ("steps", "time"):
            raise WorldsmithError(f"train.optim.schedule={self.optim.schedule!r}: expected 'steps' or 'time'")
        if self.optim.schedule == "time" and self.max_minutes <= 0:
            raise WorldsmithError("train.optim.schedule='time' needs a time budget: set train.max_minutes "
                                  "(--max-minutes) > 0")
        if self.optim.lr <= 0:
            raise WorldsmithError(f"train.optim.lr={self.optim.lr}: must be > 0")
        return self


def dry_run_or_check(cfg, args, data_what: str = "a clip dataset directory") -> bool:
    """Shared by the training commands: print the resolved config for --dry-run (True: stop
    here); otherwise check that --data is an existing directory and --out is given."""
    from ..utils import config as cfgutil
    from ..utils.errors import require_dir

    if args.dry_run:
        print(cfgutil.dump_json(cfg))
        return True
    if not cfg.data.root:
        raise WorldsmithError(f"--data: {data_what} is required")
    require_dir(cfg.data.root, "--data")
    if not args.out:
        raise WorldsmithError("--out: a run directory is required")
    return False
