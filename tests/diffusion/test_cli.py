"""`worldsmith dit presets` / `worldsmith dit train` through the real CLI entry point."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from worldsmith.cli import main


def test_presets_lists_published_shapes(capsys):
    assert main(["dit", "presets"]) == 0
    out = capsys.readouterr().out
    assert "cosmos-7b" in out and "4096" in out and "tiny" in out


def test_train_dry_run_prints_resolved_config(capsys):
    assert main(["dit", "train", "--dry-run", "--formulation", "rf", "--steps", "7",
                 "--set", "model.depth=3"]) == 0
    cfg = json.loads(capsys.readouterr().out)
    assert cfg["diffusion"]["formulation"] == "rf" and cfg["train"]["steps"] == 7 and cfg["model"]["depth"] == 3


@pytest.mark.parametrize("argv,msg", [
    (["dit", "train", "--out", "x"], "--data"),
    (["dit", "train", "--data", "/nonexistent/clips", "--tokenizer", "t", "--out", "x"], "--data not found"),
    (["dit", "train", "--preset", "huge", "--dry-run"], "--preset"),
    (["dit", "train", "--dry-run", "--set", "model.widht=3"], "unknown key"),
])
def test_train_bad_arguments_fail_with_one_line(argv, msg, capsys):
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert msg in err and len(err.splitlines()) == 1


@pytest.mark.slow
def test_train_end_to_end(tmp_path, capsys):
    from worldsmith.data import ClipWriter
    from worldsmith.diffusion import Denoiser
    from worldsmith.tokenizer.model import build_tokenizer

    with ClipWriter(tmp_path / "clips", lossless=True, split_fractions=(0.5, 0.5, 0.0)) as w:
        for i in range(4):
            v = np.full((5, 32, 32, 3), 30 * i, np.uint8)
            w.add(f"c{i}", video=v, fps=8, caption=f"scene {i}")
    torch.manual_seed(0)
    build_tokenizer("cv4x8x8-tiny").save_pretrained(tmp_path / "tok")
    argv = ["dit", "train", "--data", str(tmp_path / "clips"), "--tokenizer", str(tmp_path / "tok"),
            "--out", str(tmp_path / "run"), "--steps", "2", "--device", "cpu",
            "--set", "model.depth=2", "--set", "model.width=32", "--set", "model.num_heads=2",
            "--set", "data.num_frames=5", "--set", "data.size=32", "--set", "train.batch_size=2",
            "--set", "train.tensorboard=false", "--set", "text_max_length=8"]
    assert main(argv) == 0
    den = Denoiser.from_pretrained(tmp_path / "run" / "model")
    assert den.net.cfg.width == 32
