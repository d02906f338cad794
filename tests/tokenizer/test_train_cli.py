"""Tokenizer training on a real (tiny) clip dataset through the CLI, then encode/decode/eval."""

import json

import numpy as np
import pytest
import torch

from worldsmith.cli import main
from worldsmith.data import ClipWriter
from worldsmith.io import read_video, write_video
from worldsmith.tokenizer import CausalVideoTokenizer
from worldsmith.tokenizer.training import TokenizerTask, resolve_config
from worldsmith.utils.errors import WorldsmithError

TINY = ["--set", "model.channels=8", "--set", "model.channel_mult=[1,2,2]", "--set", "data.num_frames=5",
        "--set", "data.size=16", "--set", "train.batch_size=2", "--set", "train.log_every=1",
        "--set", "train.eval_every=3", "--set", "train.ckpt_every=3", "--set", "train.sample_every=3",
        "--set", "data.shuffle_buffer=4"]


def moving_square(seed: int, t: int = 13, size: int = 16) -> np.ndarray:
    rng = np.random.default_rng(seed)
    v = np.zeros((t, size, size, 3), np.uint8)
    v[:] = rng.integers(40, 200, 3)
    y, x, dx = rng.integers(0, size - 5), rng.integers(0, size - 5), rng.integers(-1, 2)
    for i in range(t):
        xx = int(np.clip(x + dx * i, 0, size - 5))
        v[i, y:y + 5, xx:xx + 5] = 255
    return v


@pytest.fixture(scope="module")
def clips(tmp_path_factory):
    root = tmp_path_factory.mktemp("clips") / "ds"
    with ClipWriter(root, split_fractions=(0.6, 0.4, 0.0), lossless=True) as w:
        for i in range(10):
            w.add(f"clip{i:02d}", video=moving_square(i), fps=10)
    return str(root)


@pytest.mark.slow
def test_train_resume_encode_decode_eval(clips, tmp_path, capsys):
    out = str(tmp_path / "run")
    args = ["tokenizer", "train", "--data", clips, "--preset", "cv4x4x4-tiny", "--out", out, "--device", "cpu"]
    assert main(args + ["--steps", "4"] + TINY) == 0
    rows = [json.loads(l) for l in open(f"{out}/metrics.jsonl")]
    assert [r["step"] for r in rows if "loss" in r] == [1, 2, 3, 4]
    assert any("eval" in r and r["eval"]["val_psnr"] > 0 for r in rows)
    model = CausalVideoTokenizer.from_pretrained(f"{out}/model")
    assert model.latent_std.min() > 0 and not torch.all(model.latent_std == 1)  # statistics were set
    saved = json.load(open(f"{out}/checkpoints/step-0000004/config.json"))
    assert saved["model"]["channels"] == 8 and saved["train"]["steps"] == 4
    assert main(args + ["--steps", "6"] + TINY) == 0  # resumes at step 4
    steps = [json.loads(l)["step"] for l in open(f"{out}/metrics.jsonl") if '"loss"' in l]
    assert steps == [1, 2, 3, 4, 5, 6]


def test_encode_decode_eval_cli(clips, tmp_path, capsys):
    torch.manual_seed(0)
    model = CausalVideoTokenizer(resolve_config("cv4x4x4-tiny", overrides=["model.channels=8"]).model)
    out = str(tmp_path / "run")
    model.save_pretrained(f"{out}/model")
    video = tmp_path / "in.mp4"
    write_video(video, moving_square(99, t=10, size=24), 10, lossless=True)
    lat = str(tmp_path / "z.safetensors")
    assert main(["tokenizer", "encode", str(video), "--model", f"{out}/model", "--out", lat, "--chunk-frames", "4"]) == 0
    rec = str(tmp_path / "rec.mp4")
    assert main(["tokenizer", "decode", lat, "--model", f"{out}/model", "--out", rec]) == 0
    assert read_video(rec).frames.shape == (10, 24, 24, 3)

    report = str(tmp_path / "report.json")
    assert main(["tokenizer", "eval", "--model", f"{out}/model", "--data", clips, "--split", "train",
                 "--frames", "13", "--out", report]) == 0
    r = json.load(open(report))
    assert r["clips"] >= 1 and r["mean"]["psnr"] > 5 and r["mean"]["copy_last_psnr"] > 5
    assert r["encode_fps"] > 0 and r["values_ratio"] == 4 * 4 * 4 * 3 / 16
    assert "copy-last" in capsys.readouterr().out
    # --refine: fitted latents reconstruct every clip at least as well, and the report says so
    assert main(["tokenizer", "eval", "--model", f"{out}/model", "--data", clips, "--split", "train",
                 "--frames", "13", "--refine", "4", "--out", report]) == 0
    r2 = json.load(open(report))
    assert r2["refine_steps"] == 4 and r2["mean"]["psnr"] > r["mean"]["psnr"]
    assert all(a["psnr"] >= b["psnr"] - 0.05 for a, b in zip(r2["per_clip"], r["per_clip"]))
    assert "latents refined 4 steps" in capsys.readouterr().out
    assert main(["tokenizer", "encode", str(video), "--model", f"{out}/model", "--out", lat, "--refine", "3"]) == 0
    assert main(["tokenizer", "decode", lat, "--model", f"{out}/model", "--out", rec]) == 0
    assert read_video(rec).frames.shape == (10, 24, 24, 3)


def test_eval_takes_every_clip_by_default_and_an_even_spread_when_capped(clips, tmp_path):
    from worldsmith.data.reader import read_manifest
    from worldsmith.tokenizer.evaluate import evaluate

    model = CausalVideoTokenizer(resolve_config("cv4x4x4-tiny", overrides=["model.channels=8"]).model)
    model.save_pretrained(str(tmp_path / "m"))
    keys = [r["key"] for r in read_manifest(clips) if r["split"] == "train"]
    assert len(keys) >= 4
    every = evaluate(str(tmp_path / "m"), clips, split="train", frames=5, device="cpu")
    assert [c["clip"] for c in every["per_clip"]] == keys  # all of them, in manifest order
    two = evaluate(str(tmp_path / "m"), clips, split="train", max_clips=2, frames=5, device="cpu")
    assert [c["clip"] for c in two["per_clip"]] == [keys[0], keys[len(keys) // 2]]  # not the first two
    with pytest.raises(WorldsmithError, match="--max-clips -1"):
        evaluate(str(tmp_path / "m"), clips, split="train", max_clips=-1, device="cpu")
    with pytest.raises(WorldsmithError, match="--frames 0"):
        evaluate(str(tmp_path / "m"), clips, split="train", frames=0, device="cpu")
    with pytest.raises(WorldsmithError, match="--refine -2"):
        evaluate(str(tmp_path / "m"), clips, split="train", refine=-2, device="cpu")
    with pytest.raises(WorldsmithError, match="--refine.*--chunk-frames"):
        evaluate(str(tmp_path / "m"), clips, split="train", refine=2, chunk_frames=4, device="cpu")
    CausalVideoTokenizer(resolve_config("dv4x4x4-tiny", overrides=["model.channels=8"]).model).save_pretrained(
        str(tmp_path / "dv"))
    with pytest.raises(WorldsmithError, match="dv tokenizer; only continuous"):  # an error up front, not every clip skipped
        evaluate(str(tmp_path / "dv"), clips, split="train", refine=2, device="cpu")


def test_eval_error_sheet_and_psnr_by_frame(clips, tmp_path, capsys):
    from PIL import Image

    from worldsmith.tokenizer.error_sheet import GAIN, error_image, worst_frame
    from worldsmith.tokenizer.evaluate import evaluate

    # the error image: black where exact, |diff| summed over channels x GAIN, clipped
    truth = np.zeros((4, 4, 3), np.uint8)
    recon = truth.copy()
    recon[0, 0] = (10, 0, 0)
    recon[1, 1] = (200, 200, 0)
    e = error_image(truth, recon)
    assert e[0, 0, 0] == 10 * GAIN and e[1, 1, 0] == 255 and e[2, 2].sum() == 0
    # the worst frame is the one with the largest squared error
    frames = np.zeros((3, 4, 4, 3), np.uint8)
    rec = frames.copy()
    rec[2] += 3
    rec[1, 0, 0] = 255
    assert worst_frame(frames, rec)["frame"] == 1

    torch.manual_seed(0)
    model = CausalVideoTokenizer(resolve_config("cv4x4x4-tiny", overrides=["model.channels=8"]).model)
    model.save_pretrained(str(tmp_path / "m"))
    sheet = str(tmp_path / "out" / "sheet.png")
    assert main(["tokenizer", "eval", "--model", str(tmp_path / "m"), "--data", clips, "--split", "train",
                 "--frames", "9", "--sheet", sheet, "--sheet-clips", "2", "--out", str(tmp_path / "r.json")]) == 0
    r = json.load(open(tmp_path / "r.json"))
    assert r["sheet_clips"] == 2 and r["sheet"] == sheet
    img = Image.open(sheet)
    assert img.width >= 3 * 128 and img.height > 2 * 128  # 3 upscaled 16 px tiles per row, 2 rows
    assert len(r["psnr_by_frame"]) == 9
    for c in r["per_clip"]:
        assert len(c["psnr_per_frame"]) == 9 and "_worst" not in c
    # frame t of the curve is the mean over clips of their frame-t PSNR
    assert r["psnr_by_frame"][3] == pytest.approx(np.mean([c["psnr_per_frame"][3] for c in r["per_clip"]]))
    assert "PSNR by frame" in capsys.readouterr().out
    # large frames are scaled down to MAX_TILE wide; only the worst `max_rows` rows are drawn
    from worldsmith.tokenizer.error_sheet import GAP, MAX_TILE, write_sheet
    big = np.zeros((256, 512, 3), np.uint8)
    rows = [{"clip": f"c{i}", "psnr": 30.0 + i, "frame": 0, "truth": big, "recon": big} for i in range(3)]
    assert write_sheet(str(tmp_path / "big.jpg"), rows, max_rows=2) == 2
    assert Image.open(tmp_path / "big.jpg").width == 3 * MAX_TILE + 4 * GAP
    # an unwritable path is a one-line error naming --sheet; no clip to draw is said, not hidden
    (tmp_path / "file").write_text("x")
    with pytest.raises(WorldsmithError, match="--sheet .*cannot write"):
        write_sheet(str(tmp_path / "file" / "s.png"), rows)
    (tmp_path / "bad.mp4").write_bytes(b"not a video")
    none = evaluate(str(tmp_path / "m"), [str(tmp_path / "bad.mp4")], frames=5, device="cpu",
                    sheet=str(tmp_path / "s2.png"))
    assert none["clips"] == 0 and none["skipped"][0]["clip"] == "bad.mp4"
    assert "no clip was evaluated" in none["sheet_not_written"] and not (tmp_path / "s2.png").exists()
    with pytest.raises(WorldsmithError, match="--sheet x.gif"):
        evaluate(str(tmp_path / "m"), clips, split="train", frames=5, device="cpu", sheet="x.gif")


@pytest.mark.slow
def test_training_reduces_loss(clips, tmp_path):
    from worldsmith.train import Trainer

    cfg = resolve_config("cv4x4x4-tiny", overrides=[o for o in TINY if o != "--set"] + [
        "train.tensorboard=false", "train.eval_every=0", "train.ckpt_every=0", "train.sample_every=0",
        "train.optim.lr=0.003", "train.optim.warmup_steps=2", "data.image_every=0", "train.ema_decay=0",
        "model.channels=16", "data.val_split=train"], data__root=clips, train__steps=60, train__device="cpu")
    task = TokenizerTask(cfg)
    torch.manual_seed(cfg.train.seed)  # the trainer builds the same initial model
    before = task.evaluate(task.build_model().eval(), 0)["val_psnr"]
    trainer = Trainer(task, cfg.train, str(tmp_path))
    trainer.fit()
    after = task.evaluate(trainer.eval_model(), 60)["val_psnr"]
    assert after > before + 1, (before, after)  # 60 tiny steps: ~+1.2 dB on the training clips


def test_validation_scores_whole_clips_and_falls_back_to_the_window(clips, caplog):
    def val_shape(*over):
        cfg = resolve_config("cv4x4x4-tiny", overrides=[o for o in TINY if o != "--set"] + list(over),
                             data__root=clips)
        return tuple(TokenizerTask(cfg)._val_videos().shape)

    assert val_shape("data.val_frames=13")[2] == 13  # whole 13-frame held-out clips
    assert val_shape("data.val_frames=0")[2] == 5  # 0 = the training window
    with caplog.at_level("WARNING"):
        assert val_shape()[2] == 5  # default 33: these clips are shorter, so the window, with a warning
    assert "instead of 33" in caplog.text
    for bad in ("data.val_frames=6", "data.val_frames=-3", "data.num_frames=-3"):
        with pytest.raises(WorldsmithError, match=bad):
            resolve_config("cv4x4x4-tiny", overrides=[bad], data__root=clips)


def test_cli_bad_inputs(clips, tmp_path, capsys):
    assert main(["tokenizer", "train", "--data", str(tmp_path / "nope"), "--out", str(tmp_path / "o")]) == 2
    assert "--data" in capsys.readouterr().err
    assert main(["tokenizer", "train", "--data", clips, "--preset", "cv4x7x7-tiny", "--out", "x"]) == 2
    assert main(["tokenizer", "train", "--data", clips, "--set", "data.num_frames=6", "--dry-run"]) == 2
    assert "num_frames" in capsys.readouterr().err
    assert main(["tokenizer", "train", "--data", clips, "--set", "model.nope=1", "--dry-run"]) == 2
    assert main(["tokenizer", "train", "--data", clips, "--set", "train.batch_size=3", "--dry-run"]) == 0
    resolved = json.loads(capsys.readouterr().out)["train"]
    assert resolved["batch_size"] == 3
    assert resolved["spike_guard"]["factor"] == 4.0  # tokenizer training rolls back after a loss spike
    bad = tmp_path / "bad.mp4"
    bad.write_bytes(b"not a video")
    assert main(["tokenizer", "encode", str(bad), "--model", str(tmp_path), "--out", "z.safetensors"]) == 2
    assert main(["tokenizer", "decode", str(bad), "--model", str(tmp_path), "--out", "z.mp4"]) == 2
    assert main(["tokenizer", "eval", "--model", str(tmp_path), "--data", clips]) == 2


@pytest.mark.slow
def test_tokenizer_exact_resume_replays_clip_stream(clips, tmp_path):
    """4 steps straight == 2 steps, a fresh Trainer (as after a kill), 2 more: same losses."""
    from worldsmith.train import Trainer

    def make(out):
        cfg = resolve_config("dv4x4x4-tiny", overrides=[o for o in TINY if o != "--set"] + [
            "train.tensorboard=false", "train.eval_every=0", "train.sample_every=0", "data.image_every=2"],
            data__root=clips, train__steps=4, train__device="cpu")
        return Trainer(TokenizerTask(cfg), cfg.train, str(out))

    straight = make(tmp_path / "a")
    straight.fit()
    first = make(tmp_path / "b")
    first.fit(stop_at=2)
    second = make(tmp_path / "b")
    second.fit()
    assert [h["loss"] for h in first.history + second.history] == [h["loss"] for h in straight.history]


def test_a_collapsed_run_is_reported(clips, caplog):
    """A net that falls to the mean-image plateau is named in the log, with what to do."""
    from worldsmith.tokenizer.training import collapse_warning

    assert collapse_warning(float("-inf"), 25.0, 400) is None  # first evaluation
    assert collapse_warning(30.0, 29.0, 4000) is None  # ordinary noise
    assert "fell from 31.0 to 13.0" in collapse_warning(31.0, 13.0, 2000)
    assert "mean-image plateau" in collapse_warning(14.0, 14.5, 2000)
    assert collapse_warning(14.0, 14.5, 400) is None  # too early to say
    cfg = resolve_config("cv4x4x4-tiny", overrides=[o for o in TINY if o != "--set"] + ["data.val_frames=0"],
                         data__root=clips)
    task = TokenizerTask(cfg)
    model = task.build_model().eval()
    with torch.no_grad():
        good = task.evaluate(model, 3)["val_psnr"]
        task._best_psnr = good + 10  # as if it had reconstructed far better before
        with caplog.at_level("WARNING"):
            task.evaluate(model, 6)
    assert "collapsed" in caplog.text and "train.optim.lr" in caplog.text and "spike_guard" in caplog.text
