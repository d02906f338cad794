"""Trainer machinery: exact resume, accumulation, EMA, schedule, checkpoints (tiny CPU task)."""

import json
import os

import pytest
import torch
import torch.nn as nn

from worldsmith.train import OptimConfig, Task, TrainConfig, Trainer
from worldsmith.train.state import latest_checkpoint, load_training_state, warmup_cosine
from worldsmith.utils.errors import WorldsmithError


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.a = nn.Linear(4, 16)
        self.drop = nn.Dropout(0.2)  # uses the torch RNG: exact resume must restore it
        self.b = nn.Linear(16, 1)

    def forward(self, x):
        return self.b(self.drop(torch.tanh(self.a(x))))

    def save_pretrained(self, d):
        os.makedirs(d, exist_ok=True)
        torch.save(self.state_dict(), os.path.join(d, "w.pt"))


class Batches:
    """Deterministic regression stream: y = sum(x)."""

    def __init__(self, seed, bs=8):
        self.g = torch.Generator().manual_seed(seed)
        self.bs = bs

    def __iter__(self):
        return self

    def __next__(self):
        x = torch.randn(self.bs, 4, generator=self.g)
        return {"x": x, "y": x.sum(1, keepdim=True)}


class Regress(Task):
    def __init__(self):
        self.evals = 0

    def build_model(self):
        return Net()

    def train_batches(self, seed, rank=0, world_size=1):
        return Batches(seed + 1000 * rank)  # each rank its own stream

    def loss(self, model, batch, step):
        err = (model(batch["x"]) - batch["y"]).pow(2).mean()
        return err, {"mse": float(err.detach())}

    def evaluate(self, model, step):
        self.evals += 1
        x = torch.linspace(-1, 1, 32).view(8, 4)
        return {"val_mse": float((model(x) - x.sum(1, keepdim=True)).pow(2).mean())}


def cfg(**kw):
    base = dict(steps=12, batch_size=8, grad_accum=2, ema_decay=0.9, log_every=1, eval_every=5,
                ckpt_every=4, sample_every=0, tensorboard=False, device="cpu",
                optim=OptimConfig(lr=1e-2, warmup_steps=3))
    base.update(kw)
    return TrainConfig(**base)


def test_exact_resume_matches_straight_run(tmp_path):
    straight = Trainer(Regress(), cfg(), tmp_path / "a")
    straight.fit()
    losses_a = [h["loss"] for h in straight.history]

    first = Trainer(Regress(), cfg(), tmp_path / "b")
    first.fit(stop_at=7)  # "killed" at step 7 (not a checkpoint multiple: checkpoints on stop)
    assert latest_checkpoint(str(tmp_path / "b")).endswith("step-0000007")
    second = Trainer(Regress(), cfg(), tmp_path / "b")  # a new process would do the same
    second.fit()
    losses_b = [h["loss"] for h in first.history] + [h["loss"] for h in second.history]
    assert len(losses_b) == len(losses_a) == 12
    assert losses_b == pytest.approx(losses_a, rel=0, abs=0)
    for pa, pb in zip(straight.model.parameters(), second.model.parameters()):
        assert torch.equal(pa, pb)
    for pa, pb in zip(straight.ema.model.parameters(), second.ema.model.parameters()):
        assert torch.equal(pa, pb)
    # metrics.jsonl has each step once even though steps 7.. were logged by the second run
    steps = [json.loads(l)["step"] for l in open(tmp_path / "b" / "metrics.jsonl") if "loss" in l]
    assert steps == list(range(1, 13))


def test_outputs_checkpoints_and_export(tmp_path):
    t = Trainer(Regress(), cfg(keep_checkpoints=2), tmp_path)
    t.fit()
    ck = sorted(os.listdir(tmp_path / "checkpoints"))
    assert ck == ["latest", "step-0000008", "step-0000012"]  # pruned to the last two
    saved = json.load(open(tmp_path / "checkpoints" / "step-0000012" / "config.json"))
    assert saved["train"]["steps"] == 12 and saved["train"]["optim"]["lr"] == 1e-2
    assert os.path.isfile(tmp_path / "model" / "w.pt")
    st = load_training_state(str(tmp_path / "checkpoints" / "step-0000012"))
    assert st["step"] == 12 and st["consumed"] == 24  # grad_accum=2 micro-batches per step
    assert t.history[-1]["loss"] < t.history[0]["loss"]


def test_grad_accum_equals_big_batch(tmp_path):
    """2 x 8 accumulated == one batch of 16 (no dropout randomness: eval-mode Net)."""

    class NoDrop(Regress):
        def build_model(self):
            m = Net()
            m.drop.p = 0.0
            return m

    class Big(NoDrop):
        def train_batches(self, seed, rank=0, world_size=1):
            small = Batches(seed)
            while True:
                a, b = next(small), next(small)
                yield {k: torch.cat([a[k], b[k]]) for k in a}

    a = Trainer(NoDrop(), cfg(steps=3, grad_accum=2, eval_every=0, ckpt_every=0), tmp_path / "a")
    a.fit()
    b = Trainer(Big(), cfg(steps=3, grad_accum=1, eval_every=0, ckpt_every=0), tmp_path / "b")
    b.fit()
    for pa, pb in zip(a.model.parameters(), b.model.parameters()):
        assert torch.allclose(pa, pb, atol=1e-6)


def test_schedule_and_bad_config():
    f = warmup_cosine(10, 110, 0.1)
    assert f(0) == pytest.approx(0.1) and f(9) == pytest.approx(1.0)
    assert f(60) == pytest.approx(0.55) and f(110) == pytest.approx(0.1)
    with pytest.raises(WorldsmithError, match="train.steps"):
        TrainConfig(steps=0).validate()
    with pytest.raises(WorldsmithError, match="ema_decay"):
        TrainConfig(ema_decay=1.0).validate()


def test_time_schedule_anneals_over_the_time_budget_whatever_the_step_count(tmp_path):
    """schedule='time': the cosine follows elapsed / max_minutes, so a run whose step count is
    only an upper bound still ends at the bottom of the schedule when its time is up."""
    done = {"frac": 0.0}
    f = warmup_cosine(10, 10**9, 0.1, progress=lambda: done["frac"])
    assert f(5) == pytest.approx(0.6)  # warm-up still counts steps
    assert f(50) == pytest.approx(1.0)
    done["frac"] = 0.5
    assert f(50) == pytest.approx(0.55) and f(10**6) == pytest.approx(0.55)  # the step does not matter
    done["frac"] = 3.0
    assert f(50) == pytest.approx(0.1)  # past the budget: clamped at the floor

    class Slow(Regress):
        def loss(self, model, batch, step):
            import time
            time.sleep(0.01)
            return super().loss(model, batch, step)

    budget = 0.02  # minutes: 1.2 s, ~100 steps of 10 ms, far fewer than `steps`
    t = Trainer(Slow(), cfg(steps=100_000, eval_every=0, ckpt_every=0, max_minutes=budget,
                            optim=OptimConfig(lr=1e-2, warmup_steps=2, schedule="time")), tmp_path)
    t.fit()
    lrs = [h["lr"] for h in t.history]
    assert 3 < len(lrs) < 100_000 and t.elapsed >= 60 * budget
    assert lrs[-1] < 0.15 * 1e-2  # at the floor (0.1 x lr) at the end of the budget, not at 1e-2
    assert all(a >= b - 1e-12 for a, b in zip(lrs[2:], lrs[3:]))  # falls monotonically after warm-up
    assert os.path.isfile(tmp_path / "model" / "w.pt")  # the budget's end exports the model
    # the same config by steps would still be at the top of its cosine
    assert warmup_cosine(2, 100_000, 0.1)(len(lrs)) > 0.99
    # no warm-up: the scheduler reads the elapsed time as it is built, before any step
    t0 = Trainer(Regress(), cfg(steps=2, eval_every=0, ckpt_every=0, max_minutes=1.0,
                                optim=OptimConfig(lr=1e-2, warmup_steps=0, schedule="time")), tmp_path / "w0")
    t0.fit()
    assert t0.history[0]["lr"] == pytest.approx(1e-2, rel=1e-3)  # at the top of the cosine after <1 s of 60
    with pytest.raises(WorldsmithError, match="max_minutes"):
        TrainConfig(optim=OptimConfig(schedule="time")).validate()
    with pytest.raises(WorldsmithError, match="train.optim.schedule"):
        TrainConfig(optim=OptimConfig(schedule="epochs")).validate()


class TwoRates(Regress):
    """Layer `b` at 5x the base learning rate (Task.param_groups)."""

    def param_groups(self, model):
        return [{"params": list(model.a.parameters()), "lr_mult": 1.0},
                {"params": list(model.b.parameters()), "lr_mult": 5.0}]


def test_param_groups_scale_the_rate_and_a_mismatched_resume_is_one_error(tmp_path):
    t = Trainer(TwoRates(), cfg(steps=4, ckpt_every=2), tmp_path / "g")
    t.fit(stop_at=2)
    lrs = [g["lr"] for g in t.opt.param_groups]
    assert len(lrs) == 2 and lrs[1] == pytest.approx(5 * lrs[0]) and lrs[0] > 0  # same schedule, 5x
    # resuming that run with one group (another task definition): a clear error, not a torch traceback
    with pytest.raises(WorldsmithError, match="optimiser state does not fit"):
        Trainer(Regress(), cfg(steps=4, ckpt_every=2), tmp_path / "g").fit()


def test_cpu_bf16_autocasts_only_where_the_cpu_has_native_bf16(tmp_path):
    from worldsmith.utils.device import cpu_has_native_bf16

    class Spy(Regress):
        dtypes: list = []

        def loss(self, model, batch, step):
            out = model(batch["x"])
            self.dtypes.append(out.dtype)
            err = (out.float() - batch["y"]).pow(2).mean()
            return err, {"mse": float(err.detach())}

    for flag, expect in ((False, torch.float32), (True, torch.bfloat16 if cpu_has_native_bf16() else torch.float32)):
        task = Spy()
        task.dtypes = []
        model = Trainer(task, cfg(steps=3, cpu_bf16=flag), str(tmp_path / f"bf16-{flag}")).fit()
        assert set(task.dtypes) == {expect}
        # master weights stay fp32 (autocast only lowers the matmuls) and training moved them
        assert all(p.dtype == torch.float32 and torch.isfinite(p).all() for p in model.parameters())


class ConvNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.a = nn.Conv3d(2, 8, 3, padding=1)
        self.b = nn.Conv3d(8, 1, 1)

    def forward(self, x):
        return self.b(torch.tanh(self.a(x)))

    def save_pretrained(self, d):
        os.makedirs(d, exist_ok=True)
        torch.save({k: v.contiguous() for k, v in self.state_dict().items()}, os.path.join(d, "w.pt"))


class ConvRegress(Regress):
    """Predict the channel sum of a small video: exercises 5D conv weights."""

    def build_model(self):
        return ConvNet()

    def train_batches(self, seed, rank=0, world_size=1):
        g = torch.Generator().manual_seed(seed)
        while True:
            x = torch.randn(2, 2, 3, 6, 6, generator=g)
            yield {"x": x, "y": x.sum(1, keepdim=True)}

    def evaluate(self, model, step):
        return {}


def _speed_run(tmp_path, name, **kw):
    t = Trainer(ConvRegress(), cfg(steps=6, grad_accum=1, ema_decay=0.5, eval_every=0, ckpt_every=3,
                                  optim=OptimConfig(lr=1e-2, warmup_steps=2, fused=kw.pop("fused", False)),
                                  **kw), tmp_path / name)
    t.fit()
    return t


def test_channels_last_and_fused_adamw_change_the_speed_not_the_maths(tmp_path):
    plain = _speed_run(tmp_path, "plain")
    fast = _speed_run(tmp_path, "fast", fused=True, channels_last=True)
    assert fast.opt.defaults.get("fused") is True and not plain.opt.defaults.get("fused")
    w = fast.model.a.weight
    assert w.is_contiguous(memory_format=torch.channels_last_3d) and not w.is_contiguous()
    assert fast.ema.model.a.weight.is_contiguous(memory_format=torch.channels_last_3d)
    assert [h["loss"] for h in fast.history] == pytest.approx([h["loss"] for h in plain.history], rel=1e-4)
    for pa, pb in zip(plain.model.parameters(), fast.model.parameters()):
        assert torch.allclose(pa, pb, atol=1e-5)
    # resuming a channels-last, fused run from its checkpoint continues it exactly
    again = Trainer(ConvRegress(), fast.cfg, tmp_path / "fast-resumed")
    again.fit(stop_at=3)
    again = Trainer(ConvRegress(), fast.cfg, tmp_path / "fast-resumed")
    again.fit()
    for pa, pb in zip(fast.model.parameters(), again.model.parameters()):
        assert torch.equal(pa, pb)


@pytest.mark.slow
def test_compiled_training_matches_eager(tmp_path):
    eager = _speed_run(tmp_path, "eager", fused=True, channels_last=True)
    comp = _speed_run(tmp_path, "compiled", fused=True, channels_last=True, compile=True)
    assert comp.train_model is not comp.model and hasattr(comp.train_model, "_orig_mod")
    assert [h["loss"] for h in comp.history] == pytest.approx([h["loss"] for h in eager.history], rel=1e-3)
    assert os.path.isfile(tmp_path / "compiled" / "model" / "w.pt")  # the bare model is exported
