"""A tiny real world model for tests: a clip dataset of sliding squares, a random tiny CV tokenizer,
and a DiT trained for 2 steps and exported (used by the pipeline and mean-decoder tests).
Imported with `sys.path.insert(0, <tests dir>)` as `clipdata_helpers` is."""

from __future__ import annotations

import numpy as np
import torch


def slide_clip(i: int, frames: int = 9, size: int = 32) -> np.ndarray:
    """uint8 [frames, size, size, 3]: a coloured square sliding right over a dark background."""
    v = np.full((frames, size, size, 3), 40, np.uint8)
    for t in range(frames):
        x = (2 * t + 3 * i) % 24
        v[t, 10:18, x:x + 8] = (200, 60 + 20 * i, 60)
    return v


def train_tiny_world(root, text_encoder, *, clips: int = 6, frames: int = 9, size: int = 32,
                     split_fractions=(0.75, 0.25, 0.0), overrides: tuple[str, ...] = ()) -> dict:
    """root/clips (dataset) -> root/tok (random tokenizer) -> root/run/model (exported world model)."""
    from worldsmith.data import ClipWriter
    from worldsmith.tokenizer.model import build_tokenizer
    from worldsmith.train import Trainer
    from worldsmith.train.video2world import Video2WorldTask, resolve_config

    with ClipWriter(root / "clips", shard_max_clips=4, lossless=True, split_fractions=split_fractions) as w:
        for i in range(clips):
            w.add(f"clip-{i}", video=slide_clip(i, frames, size), fps=8,
                  caption=f"a red square number {i} slides to the right")
    torch.manual_seed(0)
    build_tokenizer("cv4x8x8-tiny").save_pretrained(root / "tok")
    sets = ["model.width=32", "model.depth=2", "model.num_heads=2", "model.adaln_lora_dim=8",
            "train.batch_size=2", "train.eval_every=0", "train.ckpt_every=0", "train.sample_every=0",
            "train.tensorboard=false", "train.optim.warmup_steps=1", "data.shuffle_buffer=4", "data.val_clips=1",
            *overrides]
    cfg = resolve_config("tiny", None, sets, data__root=str(root / "clips"), tokenizer=str(root / "tok"),
                         data__num_frames=frames, data__size=size, train__steps=2)
    task = Video2WorldTask(cfg, text_encoder=text_encoder)
    Trainer(task, task.cfg.train, root / "run").fit()
    return {"model": str(root / "run" / "model"), "root": root, "data": str(root / "clips"), "tok": str(root / "tok")}


def tiny_world_fixture(tmp_path_factory, name: str, **kwargs) -> dict:
    """A module fixture's tiny world: one thread, a 12-token MiniLM encoder (returned as "enc"),
    `train_tiny_world(..., **kwargs)` in a fresh temporary directory named `name`."""
    from worldsmith.text.encoder import TextEncoder

    torch.set_num_threads(1)
    enc = TextEncoder(max_length=12)
    return {**train_tiny_world(tmp_path_factory.mktemp(name), enc, **kwargs), "enc": enc}
