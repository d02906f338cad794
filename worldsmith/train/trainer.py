"""The one trainer: config -> build -> parallelize -> loop -> checkpoint / exact resume.

    trainer = Trainer(task, TrainConfig(steps=1000), out_dir="runs/tok")
    trainer.fit()          # resumes from runs/tok/checkpoints/latest if present

Outputs in `out_dir`: `config.json` (resolved), `metrics.jsonl` (one line per log/eval with
the step and wall time), `tb/` (TensorBoard scalars and samples), `checkpoints/step-N/`
(see `state.py`) and, at the end, `model/` (the exported EMA model).
"""

from __future__ import annotations

import json
import logging
import math
import os
import time
from typing import Any, Callable, Iterator

import torch
import torch.nn as nn

from ..utils import config as cfgutil
from ..utils.atomic import atomic_write_json, atomic_write_text
from ..utils.device import autocast, cpu_has_native_bf16, resolve_device
from ..utils.progress import progress
from .config import TrainConfig
from .state import (EMA, latest_checkpoint, load_training_state, rng_state, seed_everything,
                    set_rng_state, warmup_cosine, write_checkpoint)
from .spike_guard import SpikeGuard
from .task import Task

log = logging.getLogger(__name__)


def _rank_world() -> tuple[int, int]:
    if torch.distributed.is_available() and torch.distributed.is_initialized():
        return torch.distributed.get_rank(), torch.distributed.get_world_size()
    return 0, 1


def unwrap(model: nn.Module) -> nn.Module:
    """The bare model inside a DDP/compile wrapper."""
    while hasattr(model, "module") or hasattr(model, "_orig_mod"):
        model = getattr(model, "module", None) or getattr(model, "_orig_mod")
    return model


def _adamw(groups: list[dict], cfg: TrainConfig, device: torch.device) -> torch.optim.Optimizer:
    """AdamW, fused where PyTorch has the kernel for this device (CPU, CUDA) and asked for."""
    kw = dict(lr=cfg.optim.lr, betas=tuple(cfg.optim.betas), weight_decay=cfg.optim.weight_decay)
    if cfg.optim.fused and device.type in ("cpu", "cuda"):
        try:
            return torch.optim.AdamW(groups, fused=True, **kw)
        except (RuntimeError, ValueError) as e:  # e.g. a dtype the fused kernel does not take
            log.info("fused AdamW unavailable (%s): using the plain one", e)
    return torch.optim.AdamW(groups, **kw)


class Trainer:
    """Generic training loop around a `Task`.

    `parallelize(model, cfg) -> model` is applied after the model is on its device (DDP,
    FSDP, compile: see worldsmith.parallel); the trainer itself has no distributed code
    beyond reading the rank so that only rank 0 writes files.
    """

    def __init__(self, task: Task, cfg: TrainConfig, out_dir: str,
                 parallelize: Callable[[nn.Module, TrainConfig], nn.Module] | None = None):
        self.task, self.cfg, self.out_dir = task, cfg.validate(), os.fspath(out_dir)
        self.parallelize = parallelize
        self.rank, self.world = _rank_world()
        self.device = resolve_device(cfg.device)
        self.history: list[dict] = []  # one record per optimiser step (loss and logged scalars)

    # ------------------------------------------------------------------ setup
    def full_config(self) -> dict:
        return {"train": cfgutil.to_dict(self.cfg), **self.task.config_dict()}

    def _setup(self) -> None:
        cfg = self.cfg
        seed_everything(cfg.seed)
        self.model = self.task.build_model().to(self.device)
        if cfg.channels_last:  # before the EMA copy, so both keep one layout
            self.model.to(memory_format=torch.channels_last_3d)
        self.ema = EMA(self.model, cfg.ema_decay) if cfg.ema_decay > 0 else None
        # frozen parameters (LoRA post-training) get no optimiser state
        groups = self.task.param_groups(self.model)
        if groups is None:
            groups = [{"params": [p for p in self.model.parameters() if p.requires_grad], "lr_mult": 1.0}]
        groups = [{"params": g["params"], "lr": cfg.optim.lr * float(g.get("lr_mult", 1.0))} for g in groups
                  if g["params"]]
        self.opt = _adamw(groups, cfg, self.device)
        self.step, self.consumed, self.elapsed = 0, 0, 0.0  # before the scheduler: a time schedule reads elapsed
        budget_s = 60.0 * cfg.max_minutes
        by_time = (lambda: self.elapsed / budget_s) if cfg.optim.schedule == "time" else None
        self.sched = torch.optim.lr_scheduler.LambdaLR(
            self.opt, warmup_cosine(cfg.optim.warmup_steps, cfg.steps, cfg.optim.min_lr_ratio, by_time))
        self.guard = SpikeGuard(cfg.spike_guard)
        ckpt = latest_checkpoint(self.out_dir)
        if ckpt is not None:
            self._resume(ckpt)
        self.train_model = self.parallelize(self.model, cfg) if self.parallelize else self.model
        if cfg.compile:
            self.train_model = self.task.compile_model(self.train_model)
        self.data = self._data_iterator()
        if self.device.type == "cpu" and cfg.bf16 and cfg.cpu_bf16:
            log.info("cpu_bf16: %s", "bf16 autocast (native bf16 on this CPU)" if cpu_has_native_bf16()
                     else "this CPU has no native bf16 (AVX512-BF16/AMX): training in fp32")

    def _resume(self, ckpt: str) -> None:
        st = load_training_state(ckpt)
        self.model.load_state_dict(st["model"])
        if self.ema is not None and st.get("ema") is not None:
            self.ema.load_state_dict(st["ema"])
        try:
            self.opt.load_state_dict(st["optimizer"])
        except ValueError as e:  # e.g. another number of parameter groups (Task.param_groups changed)
            from ..utils.errors import WorldsmithError

            raise WorldsmithError(f"{ckpt}: its optimiser state does not fit this run ({e}); "
                                  f"resume with the settings it was started with, or use a new --out") from None
        self.sched.load_state_dict(st["scheduler"])
        self.step, self.consumed, self.elapsed = int(st["step"]), int(st["consumed"]), float(st["elapsed"])
        self.task.load_state_dict(st.get("task") or {})
        self.guard.load_state_dict(st.get("spike_guard") or {})
        self._data_state = st.get("data")
        self._rng = st["rng"]
        self._trim_metrics()
        log.info("resumed from %s (step %d)", ckpt, self.step)

    def _data_iterator(self) -> Iterator[Any]:
        it = iter(self.task.train_batches(self.cfg.seed, self.rank, self.world))
        data_state = getattr(self, "_data_state", None)
        if data_state is not None and hasattr(it, "load_state_dict"):
            it.load_state_dict(data_state)
        elif self.consumed:  # replay the deterministic stream up to where the run stopped
            for _ in progress(range(self.consumed), desc="resume: skipping batches", unit="batch"):
                next(it)
        if getattr(self, "_rng", None) is not None:  # after skipping, so the stream does not shift it
            set_rng_state(self._rng)
        return it

    # ------------------------------------------------------------------ loop
    def fit(self, stop_at: int | None = None) -> nn.Module:
        """Train to `cfg.steps` (or stop early at step `stop_at`, checkpointing there).

        Returns the bare trained model (EMA weights are in `self.ema.model`).
        """
        cfg = self.cfg
        self._setup()
        if self.rank == 0:
            atomic_write_json(os.path.join(self.out_dir, "config.json"), self.full_config())
        self.writer = self._tensorboard()
        # a time schedule ends with its budget, not at `steps`: the bar counts seconds then, so its ETA is right
        by_time = cfg.optim.schedule == "time"
        bar = (progress(total=int(60 * cfg.max_minutes), initial=int(self.elapsed), desc="train", unit="s")
               if by_time else progress(total=cfg.steps, initial=self.step, desc="train", unit="step"))
        t0, start_elapsed, batch = time.perf_counter(), self.elapsed, None
        out_of_time = False
        while self.step < cfg.steps:
            batch, logs = self._train_step()
            self.elapsed = self._agreed_elapsed(start_elapsed + time.perf_counter() - t0)
            self.step += 1
            bar.update(min(int(self.elapsed), bar.total) - bar.n if by_time else 1)
            bar.set_postfix(loss=f"{logs['loss']:.4f}", **({"step": self.step} if by_time else {}))
            self._log(logs)
            self._guard(logs)
            self._periodic(batch)
            out_of_time = cfg.max_minutes > 0 and self.elapsed >= 60 * cfg.max_minutes
            if (stop_at is not None and self.step >= stop_at) or out_of_time:
                if out_of_time:
                    log.info("max_minutes=%s reached at step %d", cfg.max_minutes, self.step)
                break
        bar.close()
        if self.step >= cfg.steps or out_of_time:
            self._finish()
        elif self.rank == 0 and (cfg.ckpt_every == 0 or self.step % cfg.ckpt_every):
            self.save_checkpoint()
        if self.writer is not None:
            self.writer.close()
        return self.model

    def _agreed_elapsed(self, elapsed: float) -> float:
        """Wall time so far, the same on every rank when it decides anything (the time budget's
        stop, a time schedule's learning rate): the slowest rank's, so no rank stops alone."""
        if self.world > 1 and self.cfg.max_minutes > 0:
            t = torch.tensor([elapsed], dtype=torch.float64, device=self.device)
            torch.distributed.all_reduce(t, op=torch.distributed.ReduceOp.MAX)
            elapsed = float(t.item())
        return elapsed

    def _train_step(self) -> tuple[Any, dict]:
        cfg = self.cfg
        self.train_model.train()
        self.opt.zero_grad(set_to_none=True)
        totals: dict[str, float] = {}
        for _ in range(cfg.grad_accum):
            batch = self.task.to_device(next(self.data), self.device)
            self.consumed += 1
            with autocast(self.device, enabled=cfg.bf16, cpu=cfg.cpu_bf16):
                loss, scalars = self.task.loss(self.train_model, batch, self.step)
            (loss / cfg.grad_accum).backward()
            for k, v in {"loss": float(loss.detach()), **scalars}.items():
                totals[k] = totals.get(k, 0.0) + float(v) / cfg.grad_accum
        if cfg.optim.grad_clip > 0:
            totals["grad_norm"] = float(torch.nn.utils.clip_grad_norm_(
                [p for p in self.model.parameters() if p.requires_grad], cfg.optim.grad_clip))
        self.opt.step()
        self.sched.step()
        mult = self.guard.lr_mult(self.step + 1)  # < 1 while recovering from a spike (spike_guard.py)
        if mult != 1.0:
            for group in self.opt.param_groups:
                group["lr"] *= mult
        if self.ema is not None:
            self.ema.update(self.model)
        totals["lr"] = self.opt.param_groups[0]["lr"]
        self.history.append({"step": self.step + 1, **totals})
        return batch, totals

    def _guard(self, logs: dict) -> None:
        """Spike guard: snapshot while healthy, roll back after a loss spike (all ranks agree)."""
        g = self.guard
        if not g.on:
            return
        spike = g.observe(logs["loss"], self.step)
        snap = self.step % g.cfg.every == 0 and g.healthy(self.step)
        if self.world > 1:  # ranks agree, so their snapshots and rollbacks stay identical
            flags = torch.tensor([float(spike), float(not snap)], device=self.device)
            torch.distributed.all_reduce(flags, op=torch.distributed.ReduceOp.MAX)
            spike, snap = bool(flags[0].item()), not bool(flags[1].item())
        if spike:
            ratio = math.exp(g.fast - g.slow) if g.fast is not None else float("inf")
            done = g.rollback(self.step, self)
            if done is None:
                why = (f"all {g.rollbacks} rollbacks used" if g.rollbacks >= g.cfg.max_rollbacks
                       else "no snapshot yet")
                log.warning("step %d: training loss spiked (%.3g) and the spike guard cannot roll back (%s)",
                            self.step, logs["loss"], why)
                g.check = []  # as after a rollback: a level that stays high becomes the reference (said once)
                return
            log.warning("step %d: training loss spiked to %.3g, %.1fx its running level; rolled back to "
                        "the snapshot of step %d, learning rate now x%g (%d rollback(s) so far)",
                        self.step, logs["loss"], ratio, done["to_step"], done["lr_scale"], done["rollbacks"])
            self._write_metrics({"step": self.step, "time_s": round(self.elapsed, 1), "rollback": done})
        elif snap:
            g.snapshot(self.step, self)

    def _periodic(self, batch: Any) -> None:
        cfg, s = self.cfg, self.step
        if cfg.eval_every and s % cfg.eval_every == 0 and s < cfg.steps:
            self.run_eval()
        if cfg.sample_every and s % cfg.sample_every == 0 and self.rank == 0:
            self.task.log_samples(self.eval_model(), batch, self.writer, s)
        if cfg.ckpt_every and s % cfg.ckpt_every == 0 and s < cfg.steps and self.rank == 0:
            self.save_checkpoint()

    def eval_model(self) -> nn.Module:
        """The model to evaluate and export: the EMA copy when EMA is on."""
        return self.ema.model if self.ema is not None else unwrap(self.model)

    def run_eval(self) -> dict:
        """task.evaluate on the eval model; logged with the step and wall time."""
        model = self.eval_model()
        model.eval()
        with torch.no_grad():
            scalars = self.task.evaluate(model, self.step)
        if scalars:
            self._write_metrics({"step": self.step, "time_s": round(self.elapsed, 1), "eval": scalars})
            for k, v in scalars.items():
                self._scalar(f"eval/{k}", v)
            log.info("step %d eval: %s", self.step, ", ".join(f"{k}={v:.4g}" for k, v in scalars.items()))
        return scalars

    # ------------------------------------------------------------------ outputs
    def _log(self, logs: dict) -> None:
        if self.step % self.cfg.log_every and self.step != self.cfg.steps:
            return
        for k, v in logs.items():
            self._scalar(f"train/{k}", v)
        self._write_metrics({"step": self.step, "time_s": round(self.elapsed, 1),
                             **{k: round(v, 6) for k, v in logs.items()}})

    def _scalar(self, name: str, value: float) -> None:
        if self.writer is not None:
            self.writer.add_scalar(name, value, self.step)

    def _write_metrics(self, rec: dict) -> None:
        if self.rank != 0:
            return
        os.makedirs(self.out_dir, exist_ok=True)
        with open(os.path.join(self.out_dir, "metrics.jsonl"), "a", encoding="utf-8") as f:
            f.write(json.dumps(rec) + "\n")

    def _trim_metrics(self) -> None:
        """Drop metric lines logged after the checkpoint we resume from (they will be redone)."""
        path = os.path.join(self.out_dir, "metrics.jsonl")
        if self.rank != 0 or not os.path.isfile(path):
            return
        with open(path, encoding="utf-8") as f:
            lines = [ln for ln in f if ln.strip() and json.loads(ln).get("step", 0) <= self.step]
        atomic_write_text(path, "".join(lines))

    def _tensorboard(self):
        if not self.cfg.tensorboard or self.rank != 0:
            return None
        try:
            from torch.utils.tensorboard import SummaryWriter
        except ImportError:  # pragma: no cover - tensorboard is a dependency
            log.warning("tensorboard is not installed: no TensorBoard logs")
            return None
        return SummaryWriter(os.path.join(self.out_dir, "tb"), purge_step=self.step or None)

    def state_dict(self) -> dict:
        """Everything an exact resume needs."""
        state = {"model": self.model.state_dict(), "ema": self.ema.state_dict() if self.ema else None,
                 "optimizer": self.opt.state_dict(), "scheduler": self.sched.state_dict(),
                 "step": self.step, "consumed": self.consumed, "elapsed": self.elapsed, "rng": rng_state(),
                 "task": self.task.state_dict(), "spike_guard": self.guard.state_dict()}
        if hasattr(self.data, "state_dict"):
            state["data"] = self.data.state_dict()
        return state

    def save_checkpoint(self) -> str:
        """Write `checkpoints/step-N/` (state + resolved config + exported model)."""
        path = write_checkpoint(self.out_dir, self.step, self.state_dict(), self.full_config(),
                                lambda d: self.task.export(self.eval_model(), d), self.cfg.keep_checkpoints)
        log.info("checkpoint %s", path)
        return path

    def _finish(self) -> None:
        scalars = self.run_eval()
        if self.rank != 0:
            return
        self.save_checkpoint()
        model = self.eval_model()
        self.task.finalize(model)
        self.task.export(model, os.path.join(self.out_dir, "model"))
        atomic_write_json(os.path.join(self.out_dir, "model", "training.json"),
                          {"step": self.step, "time_s": round(self.elapsed, 1), "eval": scalars,
                           "config": self.full_config()})
