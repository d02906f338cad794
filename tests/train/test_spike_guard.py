"""The spike guard: snapshots while healthy, rollback + lower lr after a loss spike."""

import json
import math

import pytest
import torch

from worldsmith.train import OptimConfig, TrainConfig, Trainer
from worldsmith.train.spike_guard import SpikeGuard, SpikeGuardConfig
from worldsmith.utils.errors import WorldsmithError

from .test_trainer import Regress

POISON = range(300, 304)  # steps whose targets are 50x off: the loss jumps ~2500x
POISON2 = range(370, 380)  # a second spike, after the quiet period that follows the first rollback


class Poisoned(Regress):
    """Regression whose targets go wrong for a few steps; records the weights each step sees."""

    def __init__(self, poison2=()):
        super().__init__()
        self.seen, self.poison2 = {}, poison2

    def loss(self, model, batch, step):
        self.seen[step] = {k: v.detach().clone() for k, v in model.state_dict().items()}
        y = batch["y"] * (50.0 if step in POISON or step in self.poison2 else 1.0)
        err = (model(batch["x"]) - y).pow(2).mean()
        return err, {}


def _cfg(factor, recover=0):
    return TrainConfig(steps=400, batch_size=8, ema_decay=0.9, log_every=1, eval_every=0, ckpt_every=0,
                       sample_every=0, tensorboard=False, device="cpu",
                       optim=OptimConfig(lr=1e-2, warmup_steps=10, min_lr_ratio=1.0, grad_clip=0),
                       spike_guard=SpikeGuardConfig(factor=factor, every=50, warmup=100, lr_recover_steps=recover))


def test_a_loss_spike_rolls_back_to_the_older_snapshot_then_a_second_one_halves_the_lr(tmp_path):
    task = Poisoned(poison2=POISON2)
    t = Trainer(task, _cfg(4.0), tmp_path)
    t.fit()
    events = [json.loads(l) for l in open(tmp_path / "metrics.jsonl") if "rollback" in l]
    assert len(events) == 2, events
    first, second = events
    step = first["step"]
    assert POISON.start < step < POISON.stop  # caught within the poisoned steps
    # snapshots at 250 and 300: the older one is restored (the newer may hold the start of a spike);
    # the first rollback keeps the learning rate
    assert first["rollback"] == {"to_step": 250, "lr_scale": 1.0, "rollbacks": 1}
    for k, v in task.seen[250].items():  # the step after the rollback trains from step 250's weights
        assert torch.equal(task.seen[step][k], v), k
    # no snapshot for 50 steps after it: the second spike goes back to 250 too
    assert POISON2.start < second["step"] < POISON2.stop
    assert second["rollback"] == {"to_step": 250, "lr_scale": 0.5, "rollbacks": 2}
    assert t.opt.param_groups[0]["lr"] == pytest.approx(0.5e-2)
    assert t.guard.state_dict()["rollbacks"] == 2


def test_a_scaled_learning_rate_recovers_to_the_schedule(tmp_path):
    task = Poisoned(poison2=POISON2)
    t = Trainer(task, _cfg(4.0, recover=20), tmp_path)
    t.fit()
    events = [json.loads(l) for l in open(tmp_path / "metrics.jsonl") if "rollback" in l]
    at = events[1]["step"]
    assert events[1]["rollback"]["lr_scale"] == 0.5
    lrs = {json.loads(l)["step"]: json.loads(l)["lr"] for l in open(tmp_path / "metrics.jsonl") if '"lr"' in l}
    assert lrs[at + 10] == pytest.approx(0.75e-2) and lrs[at + 25] == pytest.approx(1e-2)
    assert t.guard.lr_mult(at + 10) == pytest.approx(0.75)


def test_without_the_guard_the_spike_is_trained_on(tmp_path):
    task = Poisoned()
    Trainer(task, _cfg(0.0), tmp_path).fit()
    assert not any("rollback" in l for l in open(tmp_path / "metrics.jsonl"))
    # the poisoned steps moved the weights away from step 300's
    a, b = task.seen[300], task.seen[310]
    assert max(float((a[k] - b[k]).abs().max()) for k in a) > 0.1


def test_detection_nan_and_config_checks():
    g = SpikeGuard(SpikeGuardConfig(factor=4.0, warmup=10))
    assert not g.observe(1.0, 1)
    for s in range(2, 300):  # a steady level, with batch-to-batch noise of 2x
        assert not g.observe(2.0 if s % 2 else 1.0, s)
    assert not g.observe(6.0, 300)  # one bad batch is not a spike
    hits = [g.observe(200.0, 301 + i) for i in range(5)]
    assert hits[-1] and not hits[0]
    assert math.exp(g.fast - g.slow) > 4
    assert g.rollback(306, None) is None  # no snapshot yet: nothing to restore
    g2 = SpikeGuard(SpikeGuardConfig(factor=4.0, warmup=10))
    g2.observe(1.0, 1)
    assert not g2.observe(float("nan"), 5)  # not during warm-up
    assert g2.observe(float("nan"), 20) and g2.observe(float("inf"), 21)
    with pytest.raises(WorldsmithError, match="spike_guard.factor"):
        TrainConfig(spike_guard=SpikeGuardConfig(factor=0.5)).validate()
    with pytest.raises(WorldsmithError, match="spike_guard.max_rollbacks"):
        TrainConfig(spike_guard=SpikeGuardConfig(factor=4, max_rollbacks=-1)).validate()
    with pytest.raises(WorldsmithError, match="spike_guard.lr_recover_steps"):
        TrainConfig(spike_guard=SpikeGuardConfig(factor=4, lr_recover_steps=-1)).validate()
    with pytest.raises(WorldsmithError, match="spike_guard.lr_factor"):
        TrainConfig(spike_guard=SpikeGuardConfig(factor=4, lr_factor=0)).validate()


def test_a_lasting_change_in_the_loss_costs_one_rollback_not_a_string(tmp_path):
    task = Poisoned(poison2=range(304, 400))  # the targets stay 50x off from step 300 to the end
    Trainer(task, _cfg(4.0), tmp_path).fit()
    events = [json.loads(l) for l in open(tmp_path / "metrics.jsonl") if "rollback" in l]
    assert len(events) == 1 and events[0]["rollback"]["lr_scale"] == 1.0


def test_without_a_snapshot_the_spike_is_reported_once(tmp_path, caplog):
    task = Poisoned(poison2=range(304, 400))  # a lasting jump before any snapshot can help
    cfg = _cfg(4.0)
    cfg.spike_guard.every = 1000  # no snapshot is ever taken
    with caplog.at_level("WARNING"):
        Trainer(task, cfg, tmp_path).fit()
    assert caplog.text.count("cannot roll back") == 1


def test_the_guard_state_survives_a_resume(tmp_path):
    """Killed while the lr recovers from a scaled rollback: the resumed run keeps the same lr."""
    straight = Trainer(Poisoned(poison2=POISON2), _cfg(4.0, recover=100), tmp_path / "a")
    straight.fit()
    first = Trainer(Poisoned(poison2=POISON2), _cfg(4.0, recover=100), tmp_path / "b")
    first.fit(stop_at=390)
    second = Trainer(Poisoned(poison2=POISON2), _cfg(4.0, recover=100), tmp_path / "b")
    second.fit()
    assert second.guard.state_dict()["rollbacks"] == 2 and second.guard.scale == 0.5
    lrs = [h["lr"] for h in second.history]
    assert lrs == pytest.approx([h["lr"] for h in straight.history][390:])
    assert 0.5e-2 < lrs[0] < 1e-2  # still recovering at the resume
