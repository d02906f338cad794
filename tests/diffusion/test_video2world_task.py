"""Video2WorldTask with the real trainer, tokenizer, text encoder and clip dataset (tiny, CPU)."""

from __future__ import annotations

import json
import os

import numpy as np
import pytest
import torch

from worldsmith.data import ClipWriter
from worldsmith.diffusion import Denoiser
from worldsmith.tokenizer.model import build_tokenizer
from worldsmith.train import Trainer
from worldsmith.train.video2world import Video2WorldTask, resolve_config
from worldsmith.utils.errors import WorldsmithError


@pytest.fixture(scope="module")
def assets(tmp_path_factory):
    """A 6-clip dataset (moving squares, captions), an untrained tiny CV tokenizer, the MiniLM encoder."""
    from worldsmith.text.encoder import TextEncoder

    root = tmp_path_factory.mktemp("v2w")
    data = root / "clips"
    with ClipWriter(data, shard_max_clips=3, lossless=True, split_fractions=(0.5, 0.5, 0.0)) as w:
        for i in range(8):
            v = np.full((9, 32, 32, 3), 40, np.uint8)
            for t in range(9):
                x = (2 * t + 3 * i) % 24
                v[t, 10:18, x:x + 8] = (200, 60 + 20 * i, 60)
            w.add(f"clip-{i}", video=v, fps=8, caption=f"a red square number {i} slides to the right")
    torch.manual_seed(0)
    build_tokenizer("cv4x8x8-tiny").save_pretrained(root / "tok")
    return {"data": str(data), "tok": str(root / "tok"), "enc": TextEncoder(max_length=12)}


def make_task(assets, **fields) -> Video2WorldTask:
    overrides = ["model.width=32", "model.depth=2", "model.num_heads=2", "model.adaln_lora_dim=8",
                 "train.batch_size=2", "train.log_every=1", "train.eval_every=2", "train.ckpt_every=2",
                 "train.sample_every=0", "train.tensorboard=false", "train.optim.warmup_steps=1",
                 "data.shuffle_buffer=4", "data.val_clips=2"]
    fields = {"data__root": assets["data"], "tokenizer": assets["tok"], "data__num_frames": 5, "data__size": 32,
              "train__steps": 4, **fields}
    cfg = resolve_config("tiny", None, overrides, **fields)
    return Video2WorldTask(cfg, text_encoder=assets["enc"])


@pytest.mark.slow
def test_train_export_and_exact_resume(assets, tmp_path):
    task = make_task(assets)
    assert task.cfg.model.in_channels == 16 and task.cfg.model.text_dim == 384
    full = Trainer(task, task.cfg.train, tmp_path / "full")
    full.fit()
    losses = [h["loss"] for h in full.history]
    assert len(losses) == 4 and all(np.isfinite(losses))
    # the exported world model loads and has the tokenizer/text metadata next to it
    out = tmp_path / "full" / "model"
    den = Denoiser.from_pretrained(out)
    assert den.cfg == task.cfg.diffusion
    meta = json.loads((out / "world_model.json").read_text())
    assert meta["latent_shape"] == [16, 2, 4, 4] and os.path.isdir(out / meta["tokenizer"])
    evals = [json.loads(ln) for ln in (tmp_path / "full" / "metrics.jsonl").read_text().splitlines()]
    assert any("eval" in r and np.isfinite(r["eval"]["val_loss"]) for r in evals)
    # killed after step 2, resumed: identical losses and weights
    part = Trainer(make_task(assets), task.cfg.train, tmp_path / "part")
    part.fit(stop_at=2)
    resumed = Trainer(make_task(assets), task.cfg.train, tmp_path / "part")
    resumed.fit()
    assert [h["loss"] for h in part.history + resumed.history] == pytest.approx(losses, rel=1e-5)
    for (k, a), b in zip(full.model.state_dict().items(), resumed.model.state_dict().values()):
        assert torch.allclose(a, b, atol=1e-6), k


def test_bad_config_is_one_clear_error(assets):
    with pytest.raises(WorldsmithError, match="num_frames"):
        make_task(assets, data__num_frames=6)
    with pytest.raises(WorldsmithError, match="preset"):
        resolve_config("huge")
    with pytest.raises(WorldsmithError, match="--tokenizer"):
        Video2WorldTask(resolve_config("tiny"), text_encoder=assets["enc"])


def test_latent_cache_matches_on_the_fly_and_resumes_exactly(assets, tmp_path):
    """Cached windows hold exactly what the tokenizer and text encoder give on the fly; a run
    from the cache resumes exactly; a cache built with other settings is refused."""
    from worldsmith.data.reader import iter_clips
    from worldsmith.train.latent_cache import CachedBatches, build_or_load

    cache = str(tmp_path / "cache")
    task = make_task(assets, data__latent_cache=cache)
    meta = build_or_load(task, cache)
    assert meta["windows"] == 4 * 1 and meta["skipped_clips"] == 0  # 4 train clips x one 5-frame window (9 frames)
    with open(os.path.join(cache, "prompts.json")) as f:
        prompts = json.load(f)
    batches = CachedBatches(cache, meta, batch_size=4, seed=0, arrays=(), pad_text_to=12)
    order = [int(i) for i in batches._order]
    batch = next(batches)
    clips = {c["key"]: c for c in iter_clips(assets["data"], split="train")}
    for row, i in enumerate(order):
        key, start = prompts["windows"][i]
        clip = clips[key]
        x = torch.from_numpy(clip["frames"][start:start + 5]).permute(3, 0, 1, 2)[None].float().div(127.5).sub(1)
        latent, cond = task.encode(x, [clip["caption"]])
        assert torch.allclose(batch["latent"][row:row + 1], latent, atol=1e-5)  # batched encode: float noise
        assert torch.equal(batch["text"][row:row + 1], cond["text"]) and torch.equal(batch["text_mask"][row], cond["text_mask"][0])
    # epochs: a fresh permutation each time, every window once per epoch
    ep1 = [batches._next_id() for _ in range(4)]
    assert sorted(ep1) == [0, 1, 2, 3]
    # training from the cache: killed after step 2 and resumed = uninterrupted
    full = Trainer(make_task(assets, data__latent_cache=cache), task.cfg.train, tmp_path / "full")
    full.fit()
    part = Trainer(make_task(assets, data__latent_cache=cache), task.cfg.train, tmp_path / "part")
    part.fit(stop_at=2)
    resumed = Trainer(make_task(assets, data__latent_cache=cache), task.cfg.train, tmp_path / "part")
    resumed.fit()
    losses = [h["loss"] for h in full.history]
    assert len(losses) == 4 and all(np.isfinite(losses))
    assert [h["loss"] for h in part.history + resumed.history] == pytest.approx(losses, rel=1e-5)
    # another window length: refused, naming the field
    with pytest.raises(WorldsmithError, match="num_frames"):
        build_or_load(make_task(assets, data__latent_cache=cache, data__num_frames=9), cache)
    # bad input: a file where the directory should be; a cache that lost a file
    (tmp_path / "afile").write_text("x")
    with pytest.raises(WorldsmithError, match="not a directory"):
        build_or_load(task, str(tmp_path / "afile"))
    os.remove(os.path.join(cache, meta["files"][0]))
    with pytest.raises(WorldsmithError, match="windows-00000.safetensors is missing"):
        CachedBatches(cache, meta, batch_size=4, seed=0, arrays=())
