"""The mean decoder (`--task mean-decoder`): pairs, training, export, loading and use, on a tiny real world model."""

from __future__ import annotations

import json
import os
import shutil
import sys

import numpy as np
import pytest
import torch

from worldsmith.cli import main
from worldsmith.inference.pipeline import WorldPipeline
from worldsmith.inference.residual import residual_decode
from worldsmith.train import Trainer
from worldsmith.train.mean_decoder import (META, WEIGHTS, MeanDecoderTask, build_pairs, load_pairs,
                                           resolve_config)
from worldsmith.utils.errors import WorldsmithError

sys.path.insert(0, os.path.dirname(os.path.dirname(__file__)))
from tiny_world import slide_clip, tiny_world_fixture  # noqa: E402

SIZE, FRAMES = 32, 9

pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    """A tiny real world model (anchored on the still latent, as the shipped one) and its pipeline."""
    w = tiny_world_fixture(tmp_path_factory, "mean-decoder", clips=10, frames=FRAMES, size=SIZE,
                           split_fractions=(0.7, 0.3, 0.0), overrides=("diffusion.anchor=still",))
    pipe = WorldPipeline.from_pretrained(w["model"], device="cpu", guardrails=None, upsample=False,
                                         text_encoder=w["enc"])
    return {**w, "pipe": pipe}


def _cfg(world, out, *extra, steps=2):
    sets = ["data.cond_frames=[5,1]", "data.shard_clips=3", "data.batch_size=2", "data.val_clips=2",
            "train.batch_size=2", "train.eval_every=0", "train.ckpt_every=0", "train.max_minutes=0",
            "train.optim.schedule=steps", "train.optim.warmup_steps=1", "train.log_every=1", "train.ema_decay=0", *extra]
    return resolve_config(world["model"], None, sets, data__root=world["data"], train__steps=steps,
                          data__pair_cache=str(out / "pairs"))


def test_pairs_are_the_pipelines_mean_and_the_residual_target(world, tmp_path):
    """A pair's latent is what `WorldPipeline(sampler="mean")` predicts for the clip; its target is the
    truth on the known frames and truth - last known + D(E(still)) after them, so residual decoding
    of a latent that decodes to the target gives the truth back."""
    pipe = world["pipe"]
    paths = build_pairs(pipe, world["data"], "train", str(tmp_path), (5,), shard_clips=2, batch_size=1)
    pairs = load_pairs(paths)
    assert pairs["latent"].shape[1:] == (16, 3, 4, 4) and pairs["target"].shape[1:] == (3, FRAMES, SIZE, SIZE)
    assert len(paths) == (len(pairs["K"]) + 1) // 2 and set(pairs["K"].tolist()) == {5}
    from worldsmith.data import ClipDataset

    item = next(iter(ClipDataset(world["data"], split="train", num_frames=FRAMES, size=SIZE, shuffle=False,
                                 arrays=(), loop=False)))
    video = item["video"]  # [3, T, H, W] in [-1, 1]
    rgb = video.add(1).mul(127.5).round().clamp(0, 255).to(torch.uint8).permute(1, 2, 3, 0).numpy()
    res = pipe(item["caption"], input=rgb[:5], num_cond_frames=5, num_frames=FRAMES, sampler="mean",
               guidance=0.0, decode="residual", change_threshold=0.0)
    mine = pipe._to_frames(residual_decode(pipe.tokenizer, pairs["latent"][:1].float(), rgb[None, :5]))
    assert np.abs(mine.astype(int) - res.frames.astype(int)).max() <= 2  # the fp16 latent's rounding only
    tgt = pairs["target"][0].float()
    assert torch.allclose(tgt[:, :5], video[:, :5], atol=2e-3)
    # a decoder output equal to the target: residual decoding shows the truth (where it is in range)
    last = video[:, 4:5]
    still = torch.cat([video[:, :5], last.expand(-1, FRAMES - 5, -1, -1)], dim=1)[None]
    ref = pipe.tokenizer.decode(pipe.tokenizer.encode(still))[0]
    shown = (last + tgt[:, 5:] - ref[:, 5:]).clamp(-1, 1)
    inside = ((video[:, 5:] - last + ref[:, 5:]).abs() <= 1).all(0)
    assert (shown - video[:, 5:]).abs()[:, inside].max() < 5e-3
    # re-running resumes: finished shards are not rewritten
    stamp = os.path.getmtime(paths[0])
    assert build_pairs(pipe, world["data"], "train", str(tmp_path), (5,), shard_clips=2, batch_size=1) == paths
    assert os.path.getmtime(paths[0]) == stamp
    # ... but not for other settings: the cache says what it holds
    with pytest.raises(WorldsmithError, match="built for another cond_frames"):
        build_pairs(pipe, world["data"], "train", str(tmp_path), (1,), shard_clips=2, batch_size=1)


def test_training_fits_the_pairs_and_the_pipeline_uses_the_result(world, tmp_path):
    """A short run lowers the loss on its pairs; the export loads through world_model.json and changes
    only the posterior mean's residual decoding; `--no` use and another tokenizer are handled."""
    cfg = _cfg(world, tmp_path, "train.optim.lr=3e-3", "train.eval_every=20", steps=40)
    task = MeanDecoderTask(cfg, str(tmp_path / "run"), pipe=world["pipe"])
    Trainer(task, cfg.train, tmp_path / "run").fit()
    with open(tmp_path / "run" / "metrics.jsonl") as f:
        losses = [r["loss"] for r in map(json.loads, f) if "loss" in r]
    assert np.mean(losses[-5:]) < 0.7 * np.mean(losses[:5]), losses
    with open(tmp_path / "run" / "metrics.jsonl") as f:
        evals = [r["eval"] for r in map(json.loads, f) if "eval" in r]
    # held out: the fit improves as it trains (the tokenizer here is random, its decoder far off)
    assert len(evals) == 2 and evals[-1]["val_psnr_vs_target"] > evals[0]["val_psnr_vs_target"], evals
    assert evals[0]["val_tokenizer_psnr_vs_target"] == evals[-1]["val_tokenizer_psnr_vs_target"]
    exported = tmp_path / "run" / "model"
    info = json.loads((exported / META).read_text())
    assert info["tokenizer_fingerprint"] == world["pipe"].tokenizer.fingerprint() and (exported / WEIGHTS).is_file()

    # ship it into a copy of the world model, as scripts/ship_model.py does
    import importlib.util

    spec = importlib.util.spec_from_file_location("ship_model", os.path.join(os.path.dirname(__file__), "..", "..",
                                                                             "scripts", "ship_model.py"))
    ship = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(ship)
    model = tmp_path / "model"
    ship.ship(world["model"], str(model), None, None, str(exported))
    meta = json.loads((model / "world_model.json").read_text())
    assert meta["mean_decoder"] == WEIGHTS and (model / META).is_file()
    pipe = WorldPipeline.from_pretrained(str(model), device="cpu", guardrails=None, upsample=False,
                                         text_encoder=world["enc"])
    bare = WorldPipeline.from_pretrained(str(model), device="cpu", guardrails=None, upsample=False,
                                         text_encoder=world["enc"], use_mean_decoder=False)
    assert pipe.mean_decoder is not None and bare.mean_decoder is None
    video = slide_clip(3, FRAMES, SIZE)
    kw = dict(input=video[:5], num_cond_frames=5, num_frames=FRAMES, guidance=0.0, decode="residual")
    a, b = pipe("a red square slides", sampler="mean", **kw), bare("a red square slides", sampler="mean", **kw)
    assert a.record["settings"]["mean_decoder"] == WEIGHTS and b.record["settings"]["mean_decoder"] is None
    assert np.array_equal(a.frames[:5], video[:5]) and not np.array_equal(a.frames[5:], b.frames[5:])
    # samples (not the mean) and plain decoding keep the tokenizer's decoder
    for extra in (dict(sampler="euler", steps=2, decode="residual"), dict(sampler="mean", decode="plain")):
        args = {**kw, **extra}
        a, b = pipe("a red square slides", **args), bare("a red square slides", **args)
        assert a.record["settings"]["mean_decoder"] is None and np.array_equal(a.frames, b.frames)

    # a missing file and a decoder made for another tokenizer are refused, naming the file
    other = tmp_path / "other"
    shutil.copytree(model, other)
    info["tokenizer_fingerprint"] = "0000000000000000"
    (other / META).write_text(json.dumps(info))
    with pytest.raises(WorldsmithError, match="made for tokenizer 0000000000000000"):
        WorldPipeline.from_pretrained(str(other), device="cpu", guardrails=None, text_encoder=world["enc"])
    os.remove(other / WEIGHTS)
    with pytest.raises(WorldsmithError, match="mean_decoder .* which is missing"):
        WorldPipeline.from_pretrained(str(other), device="cpu", guardrails=None, text_encoder=world["enc"])


def test_cli_errors_and_dry_run(world, tmp_path, capsys):
    assert main(["train", "--task", "mean-decoder", "--init", world["model"], "--data", world["data"],
                 "--out", str(tmp_path / "x"), "--max-minutes", "3", "--dry-run"]) == 0
    cfg = json.loads(capsys.readouterr().out)
    assert cfg["init"] == world["model"] and cfg["train"]["max_minutes"] == 3 and cfg["train"]["optim"]["schedule"] == "time"
    for argv, msg in ((["--data", world["data"], "--out", "o"], "--init"),
                      (["--init", str(tmp_path / "nope"), "--data", world["data"], "--out", "o"], "--init"),
                      (["--init", world["model"], "--data", world["data"], "--out", "o", "--tokenizer", "t"],
                       "--tokenizer"),
                      (["--init", world["model"], "--data", world["data"], "--out", "o",
                        "--set", "data.cond_frames=[0]"], "data.cond_frames"),
                      (["--init", world["model"], "--data", world["data"], "--out", "o",
                        "--set", "loss=huber"], "loss='huber'")):
        assert main(["train", "--task", "mean-decoder", *argv]) != 0
        assert msg in capsys.readouterr().err
    assert main(["train", "--task", "mean-decoder", "--init", world["model"], "--data", world["data"],
                 "--lora-rank", "4", "--dry-run"]) != 0  # action2world's flags stay its own
    assert "--lora-rank is for --task action2world" in capsys.readouterr().err


def test_adversarial_term_trains_a_discriminator_and_resumes(world, tmp_path):
    """`adversarial` > 0: each step also trains the PatchGAN (its loss logged), and its state is part
    of the checkpoint, so a killed run resumes with it."""
    cfg = _cfg(world, tmp_path, "loss=l1", "adversarial=0.1", "train.ckpt_every=2", steps=2)
    task = MeanDecoderTask(cfg, str(tmp_path / "run"), pipe=world["pipe"])
    before = [p.detach().clone() for p in task.disc.parameters()]
    Trainer(task, cfg.train, tmp_path / "run").fit()
    with open(tmp_path / "run" / "metrics.jsonl") as f:
        logs = [r for r in map(json.loads, f) if "loss" in r]
    assert all("d_loss" in r and "g_loss" in r and "recon" in r for r in logs)
    assert any(not torch.equal(a, b) for a, b in zip(before, task.disc.parameters()))
    state = task.state_dict()
    fresh = MeanDecoderTask(cfg, str(tmp_path / "run"), pipe=world["pipe"])
    fresh.load_state_dict(state)
    assert all(torch.equal(a, b) for a, b in zip(fresh.disc.parameters(), task.disc.parameters()))


def test_pair_batches_are_seeded_epochs_and_resume_where_they_stopped():
    """Every pair once per epoch (rank shards disjoint), the same order for the same seed, and a
    restored iterator continues with exactly the batch the first one would have given."""
    from worldsmith.train.mean_decoder import _PairBatches

    n = 10
    pairs = {"latent": torch.arange(n).float().view(n, 1, 1, 1, 1), "target": torch.zeros(n, 3, 2, 1, 1),
             "K": torch.ones(n, dtype=torch.int16)}
    ids = lambda b: b["latent"].flatten().long().tolist()  # noqa: E731
    it = _PairBatches(pairs, 5, seed=3)
    first_epoch = ids(next(it)) + ids(next(it))
    assert sorted(first_epoch) == list(range(n)) and first_epoch != list(range(n))
    assert ids(next(_PairBatches(pairs, 5, seed=3))) == first_epoch[:5]
    assert ids(next(_PairBatches(pairs, 5, seed=4))) != first_epoch[:5]
    next(it)  # into the second epoch
    state = it.state_dict()
    again = _PairBatches(pairs, 5, seed=3)
    again.load_state_dict(state)
    assert ids(next(again)) == ids(next(it))
    r0, r1 = _PairBatches(pairs, 5, seed=3, rank=0, world=2), _PairBatches(pairs, 5, seed=3, rank=1, world=2)
    assert not set(ids(next(r0))) & set(ids(next(r1)))
