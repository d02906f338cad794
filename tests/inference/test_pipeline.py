"""WorldPipeline + `worldsmith predict` / `worldsmith train` on a tiny exported world model (CPU)."""

from __future__ import annotations

import json
import os
import sys

import numpy as np
import pytest
import torch
from einops import rearrange

from worldsmith.cli import main
from worldsmith.guardrails.guard import GuardrailBlocked, GuardrailConfig, Guardrails
from worldsmith.inference.pipeline import WorldPipeline
from worldsmith.io import center_crop, read_video, resize_frames, write_video
from worldsmith.tokenizer.model import build_tokenizer
from worldsmith.utils.errors import WorldsmithError

sys.path.insert(0, os.path.dirname(os.path.dirname(__file__)))
from tiny_world import slide_clip, train_tiny_world  # noqa: E402

FACE_VIDEO = "/work/shared/test-videos/cosmos-transfer1/example1_input_video.mp4"
SIZE, FRAMES = 32, 9


pytestmark = pytest.mark.usefixtures("one_thread")


def _clip(i: int) -> np.ndarray:
    return slide_clip(i, FRAMES, SIZE)


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    """Clip dataset -> random tiny CV tokenizer -> 2 training steps of a tiny DiT -> real export."""
    from worldsmith.text.encoder import TextEncoder

    torch.set_num_threads(1)
    enc = TextEncoder(max_length=12)
    return {**train_tiny_world(tmp_path_factory.mktemp("world"), enc, frames=FRAMES, size=SIZE), "enc": enc}


@pytest.fixture(scope="module")
def pipe(world):
    return WorldPipeline.from_pretrained(world["model"], device="cpu", guardrails=None, text_encoder=world["enc"])


def test_export_is_self_contained(world):
    with open(os.path.join(world["model"], "world_model.json")) as f:
        meta = json.load(f)
    assert meta["tokenizer"] == "tokenizer" and not os.path.isabs(meta["tokenizer"])
    assert os.path.isfile(os.path.join(world["model"], "tokenizer", "model.safetensors"))
    assert meta["captions"] == "captions" and os.path.isdir(os.path.join(world["model"], "captions"))
    assert meta["num_frames"] == FRAMES and meta["size"] == SIZE and meta["fps"] == 8
    from worldsmith.tokenizer.model import CausalVideoTokenizer

    tok = CausalVideoTokenizer.from_pretrained(os.path.join(world["model"], "tokenizer"))
    assert meta["tokenizer_fingerprint"] == tok.fingerprint()


def test_a_swapped_tokenizer_is_refused(world, tmp_path):
    import shutil

    model = tmp_path / "model"
    shutil.copytree(world["model"], model)
    torch.manual_seed(7)
    build_tokenizer("cv4x8x8-tiny").save_pretrained(model / "tokenizer")  # same config, other weights
    with pytest.raises(WorldsmithError, match=r"tokenizer at .* is not the one this model was trained on"):
        WorldPipeline.from_pretrained(str(model), device="cpu", guardrails=None, text_encoder=world["enc"])


def test_text_image_video_shapes(pipe):
    r = pipe("a red square slides", steps=2, guidance=2.0)
    assert r.frames.shape == (FRAMES, SIZE, SIZE, 3) and r.frames.dtype == np.uint8
    assert r.record["upsampler"]["method"] == "retrieval" and r.record["settings"]["num_cond_frames"] == 0
    r = pipe("a red square slides", input=_clip(1)[0], steps=2)
    assert r.frames.shape == (FRAMES, SIZE, SIZE, 3) and r.record["settings"]["num_cond_frames"] == 1
    assert r.record["model_prompt"] == "a red square slides"  # no upsampling with an input
    r = pipe("a red square slides", input=_clip(1), num_cond_frames=5, num_frames=17, steps=2)
    assert r.frames.shape == (17, SIZE, SIZE, 3)  # past the model's 9 frames: generate_long


def test_conditioning_frames_come_back(pipe):
    video = _clip(2)
    r = pipe("a red square slides", input=video, num_cond_frames=5, steps=2, seed=3)
    x = torch.from_numpy(video[-5:]).float().div(127.5).sub(1)
    recon = pipe.tokenizer.decode(pipe.tokenizer.encode(rearrange(x, "t h w c -> 1 c t h w")))
    recon = rearrange(recon[0].add(1).mul(127.5).round().to(torch.uint8), "c t h w -> t h w c").numpy()
    # the causal decoder's first latent frame depends only on itself: frame 0 matches exactly,
    # the rest of the conditioning chunk closely (later latents differ)
    assert np.abs(r.frames[0].astype(int) - recon[0]).max() <= 1
    assert np.abs(r.frames[:5].astype(float) - recon).mean() < 20


def test_residual_decode_keeps_what_does_not_move(pipe):
    """decode="residual": the input frames come back as they are, and a latent that says
    "nothing moves" (the encoding of the last frame held still) decodes to exactly that frame,
    where plain decoding gives the tokenizer's blurred reconstruction of it."""
    video = _clip(2)[:5]
    still = np.concatenate([video, np.repeat(video[-1:], FRAMES - 5, axis=0)])
    x = rearrange(torch.from_numpy(still).float().div(127.5).sub(1), "t h w c -> 1 c t h w")
    latent = pipe.tokenizer.encode(x).float()
    out = pipe._residual_decode(latent, video, FRAMES)
    assert out.shape == (FRAMES, SIZE, SIZE, 3)
    assert np.array_equal(out[:5], video)
    assert np.abs(out[5:].astype(int) - video[-1].astype(int)).max() <= 1  # float rounding only
    plain = pipe._to_frames(pipe.tokenizer.decode(latent))
    assert np.abs(plain[5:].astype(int) - video[-1].astype(int)).max() > 1  # an untrained tokenizer's blur
    r = pipe("a red square slides", input=_clip(2), num_cond_frames=5, steps=2, seed=3, decode="residual")
    assert r.record["settings"]["decode"] == "residual" and np.array_equal(r.frames[:5], _clip(2)[-5:])
    # the dead zone: a random latent changes everything, a huge threshold drops every change,
    # a small one keeps the large changes as they are
    rnd = torch.randn_like(latent)
    assert np.array_equal(pipe._residual_decode(rnd, video, FRAMES, threshold=1.99)[5:],
                          np.repeat(video[-1:], FRAMES - 5, axis=0))
    full, kept = pipe._residual_decode(rnd, video, FRAMES), pipe._residual_decode(rnd, video, FRAMES, threshold=0.01)
    assert np.abs(full[5:].astype(int) - video[-1]).max() > 10 and np.abs(kept.astype(int) - full).max() <= 3
    with pytest.raises(WorldsmithError, match="--decode"):
        pipe("a red square slides", input=video, num_cond_frames=5, steps=1, decode="sharp")
    for bad in (dict(decode="residual", change_threshold=-1), dict(change_threshold=0.1)):  # the latter: plain
        with pytest.raises(WorldsmithError, match="--change-threshold"):
            pipe("a red square slides", input=video, num_cond_frames=5, steps=1, **bad)
    t2w = pipe("a red square slides", steps=1, decode="residual")  # no input: nothing to add a change to
    assert t2w.record["settings"]["decode"] == "plain" and t2w.frames.shape == (FRAMES, SIZE, SIZE, 3)


def test_same_seed_same_video(pipe):
    a = pipe("a red square slides", steps=2, seed=7).frames
    b = pipe("a red square slides", steps=2, seed=7).frames
    c = pipe("a red square slides", steps=2, seed=8).frames
    assert np.array_equal(a, b) and not np.array_equal(a, c)


def test_conditioning_noise_is_recorded_and_validated(pipe):
    """aug_sigma (None = the model's aug_sigma_inference) is recorded and validated (its effect on
    sampling is generate()'s; this 2-step model's output barely depends on its input)."""
    video = _clip(3)
    a = pipe("a red square slides", input=video, num_cond_frames=5, steps=2, seed=1)
    b = pipe("a red square slides", input=video, num_cond_frames=5, steps=2, seed=1, aug_sigma=0.5)
    assert a.record["settings"]["aug_sigma"] == pipe.denoiser.cfg.aug_sigma_inference
    assert b.record["settings"]["aug_sigma"] == 0.5 and b.frames.shape == a.frames.shape
    with pytest.raises(WorldsmithError, match="--aug-sigma"):
        pipe("a red square slides", input=video, num_cond_frames=5, steps=1, aug_sigma=-0.1)


def test_posterior_mean_is_the_denoiser_at_mean_sigma_on_the_anchor(pipe):
    """sampler="mean" is one Euler step from the model's mean_sigma (or a given sigma_max) that
    starts on the anchor itself, with no noise: deterministic whatever the seed, recorded as such;
    sigma_max is validated, and an unknown sampler names the choices."""
    video = _clip(3)
    a = pipe("a red square slides", input=video, num_cond_frames=5, sampler="mean", seed=4)
    st = a.record["settings"]
    assert st["sampler"] == "mean" and st["steps"] == 1 and st["sigma_max"] == pipe.denoiser.cfg.mean_sigma
    a9 = pipe("a red square slides", input=video, num_cond_frames=5, sampler="mean", seed=9)
    assert np.array_equal(a.frames, a9.frames)  # no noise drawn
    b = pipe("a red square slides", input=video, num_cond_frames=5, sampler="euler", steps=1, seed=4,
             sigma_max=pipe.denoiser.cfg.mean_sigma)
    assert not np.array_equal(a.frames, b.frames)  # one step from a noise draw is another estimate
    c = pipe("a red square slides", input=video, num_cond_frames=5, sampler="mean", seed=4,
             sigma_max=pipe.denoiser.cfg.sigma_max)
    assert c.record["settings"]["sigma_max"] == pipe.denoiser.cfg.sigma_max
    assert pipe.denoiser.cfg.sigma_max != pipe.denoiser.cfg.mean_sigma
    assert not np.array_equal(a.frames, c.frames)  # the level reaches the network
    with pytest.raises(WorldsmithError, match="--sigma-max"):
        pipe("a red square slides", input=video, num_cond_frames=5, sigma_max=0.0)
    with pytest.raises(WorldsmithError, match="mean"):
        pipe("a red square slides", input=video, num_cond_frames=5, sampler="meen")


def test_eval_physics_sampler_mean_uses_mean_sigma(world, tmp_path):
    """`eval physics --sampler mean`: only the posterior mean is scored (as world_model), at
    `--mean-sigma` when given (recorded), else at the model's mean_sigma."""
    from worldsmith.cli import main

    rows = {}
    for tag, extra in (("default", []), ("s12", ["--mean-sigma", "12"])):
        out = tmp_path / tag
        assert main(["eval", "physics", "--model", world["model"], "--out", str(out), "--scenarios", "fall",
                     "--clips", "1", "--ood-clips", "0", "--cond-frames", "1", "--resolution", str(SIZE),
                     "--frames", str(FRAMES), "--sampler", "mean", "--device", "cpu", "--videos", "0"] + extra) == 0
        res = json.loads((out / "results.json").read_text())
        assert res["settings"]["steps"] == 1 and res["settings"]["mean_sigma"] == (12.0 if extra else 30.0)
        methods = {r["method"] for r in res["rows"]}
        assert "world_model" in methods and "world_model_mean" not in methods
        assert res["dynamics_check"]["true_past"] == "world_model"  # the mean is the scored model here
        rows[tag] = next(r for r in res["rows"] if r["method"] == "world_model")
    assert rows["default"]["psnr/all"] != rows["s12"]["psnr/all"]  # the level reached the model


def test_blocked_prompt_and_bad_args(world, tmp_path):
    guarded = WorldPipeline.from_pretrained(world["model"], device="cpu", guardrails=GuardrailConfig(),
                                            text_encoder=world["enc"])
    with pytest.raises(GuardrailBlocked) as e:
        guarded("how to build a pipe bomb to kill people", steps=2)
    assert e.value.decision.category
    with pytest.raises(WorldsmithError, match="num-frames"):
        guarded("a red square", num_frames=8, steps=1)
    with pytest.raises(WorldsmithError, match="num-cond-frames"):
        guarded("a red square", num_cond_frames=1, steps=1)
    out = tmp_path / "x.mp4"
    rc = main(["predict", "--model", world["model"], "--prompt", "how to build a pipe bomb to kill people",
               "--steps", "1", "--output", str(out), "--device", "cpu"])
    assert rc != 0 and not out.exists() and not (tmp_path / "x.json").exists()


def test_post_guard_pixelates_faces(world):
    frames = read_video(FACE_VIDEO, fps=2).frames[4:9]
    frames = center_crop(resize_frames(frames, 64), 64)  # faces in frames 1..3 at 64 px
    on = WorldPipeline.from_pretrained(world["model"], device="cpu", text_encoder=world["enc"],
                                       guardrails=GuardrailConfig())
    rec: dict = {"guardrails": []}
    out = on.post_guard(frames, 2.0, rec)
    expected, d = Guardrails(GuardrailConfig()).check_video(frames, fps=2.0)
    assert d.faces and np.array_equal(out, expected) and not np.array_equal(out, frames)
    assert rec["guardrails"][0]["num_faces"] == len(d.faces)
    off_cfg = GuardrailConfig()
    off_cfg.face_blur.enabled = False
    off = WorldPipeline(on.model_dir, on.denoiser, on.tokenizer, on.text_encoder, on.meta, on.device,
                        Guardrails(off_cfg))
    assert np.array_equal(off.post_guard(frames, 2.0, {"guardrails": []}), frames)
    # and in a full run the post-guard's decision is recorded
    r = on("a red square slides", steps=1)
    assert r.record["guardrails"][-1]["stage"] == "video" and r.record["guardrails"][-1]["face_blur"]


def test_cli_predict_and_batch(world, tmp_path):
    out = tmp_path / "one.mp4"
    img = tmp_path / "first.mp4"
    write_video(img, _clip(3), 8, lossless=True)
    rc = main(["predict", "--model", world["model"], "--input", str(img), "--prompt", "a red square",
               "--num-cond-frames", "5", "--steps", "1", "--seed", "4", "--output", str(out), "--device", "cpu",
               "--set", "guardrails.face_blur.enabled=false"])
    assert rc == 0 and out.exists()
    rec = json.loads((tmp_path / "one.json").read_text())
    assert rec["settings"]["seed"] == 4 and rec["settings"]["num_cond_frames"] == 5
    assert [g["stage"] for g in rec["guardrails"]] == ["prompt", "video"]
    assert read_video(out).frames.shape == (FRAMES, SIZE, SIZE, 3)
    jobs = tmp_path / "jobs.jsonl"
    jobs.write_text(json.dumps({"prompt": "a red square", "output": "a.mp4"}) + "\n{not json\n"
                    + json.dumps({"prompt": "a blue square", "input": str(tmp_path / "missing.mp4")}) + "\n")
    rc = main(["predict", "--model", world["model"], "--batch", str(jobs), "--out-dir", str(tmp_path / "b"),
               "--steps", "1", "--no-guardrails", "--no-upsample", "--device", "cpu"])
    summary = json.loads((tmp_path / "b" / "batch.json").read_text())
    assert rc == 0 and summary["failed"] == 2 and [j["ok"] for j in summary["jobs"]] == [True, False, False]
    assert (tmp_path / "b" / "a.mp4").exists() and "missing.mp4" in summary["jobs"][2]["error"]


def test_train_command(world, capsys):
    rc = main(["train", "--task", "video2world", "--data", world["data"], "--tokenizer", world["tok"],
               "--preset", "dit-tiny", "--steps", "3", "--set", "data.size=32", "--dry-run"])
    cfg = json.loads(capsys.readouterr().out)
    assert rc == 0 and cfg["train"]["steps"] == 3 and cfg["data"]["size"] == 32 and cfg["preset"] == "tiny"
    assert main(["train", "--task", "tokenizer", "--dry-run"]) == 2
    assert "known tasks: video2world" in capsys.readouterr().err


def test_refused_upsampling_falls_back_to_typed_prompt(world, tmp_path):
    (tmp_path / "violence.txt").write_text("slides\n")  # a word only the retrieved captions contain
    cfg = GuardrailConfig()
    cfg.blocklist.extra_paths = [str(tmp_path / "violence.txt")]
    cfg.face_blur.enabled = False
    pipe = WorldPipeline.from_pretrained(world["model"], device="cpu", guardrails=cfg, text_encoder=world["enc"])
    r = pipe("a red square", steps=1)
    assert "slides" in r.record["upsampler"]["upsampled"] and r.record["upsampler"]["method"] == "retrieval-refused"
    assert r.record["model_prompt"] == "a red square"
    assert [g["allowed"] for g in r.record["guardrails"]] == [True, False, True]
    with pytest.raises(GuardrailBlocked):
        pipe("a red square slides", steps=1)


def test_eval_physics_scores_the_model_and_its_tokenizer(world, tmp_path):
    """`worldsmith eval physics --model`: the world model and the tokenizer ceiling are scored
    beside the baselines on real simulator clips, and the report checks the targets."""
    from worldsmith.cli import main

    out = tmp_path / "phys"
    rc = main(["eval", "physics", "--model", world["model"], "--out", str(out), "--scenarios", "fall",
               "--clips", "1", "--ood-clips", "0", "--cond-frames", "1", "--resolution", str(SIZE),
               "--frames", str(FRAMES), "--steps", "2", "--sampler", "euler", "--device", "cpu", "--videos", "1",
               "--decode", "residual"])
    assert rc == 0
    res = json.loads((out / "results.json").read_text())
    assert res["settings"]["sampler"] == "euler" and res["settings"]["steps"] == 2
    assert res["settings"]["decode"] == "residual"
    # a threshold without residual decoding is refused up front, before any clip is scored
    bad = tmp_path / "bad"
    assert main(["eval", "physics", "--model", world["model"], "--out", str(bad), "--scenarios", "fall",
                 "--clips", "1", "--ood-clips", "0", "--change-threshold", "0.1"]) != 0
    assert not (bad / "results.json").exists()
    assert main(["eval", "physics", "--model", world["model"], "--out", str(bad), "--scenarios", "fall",
                 "--clips", "1", "--ood-clips", "0", "--mean-sigma", "0"]) != 0
    assert not (bad / "results.json").exists()
    assert res["settings"]["aug_sigma"] == 0.001  # the model's default, read from its diffusion.json
    assert res["settings"]["mean_sigma"] == 30.0  # likewise
    rows = {r["method"]: r for r in res["rows"]}
    assert {"world_model", "world_model_mean", "world_model_static_past", "world_model_no_caption",
            "tokenizer_recon", "copy_last", "physical_variance"} <= set(rows)
    cap = res["caption_check"]  # the same mean with the neutral prompt, scored beside it
    assert cap["caption"] == "world_model_mean" and cap["no_caption"] == "world_model_no_caption"
    assert cap["scenarios"]["all"]["mse_no_caption"] > 0
    html = (out / "report.html").read_text()
    assert "How much does the model lean on the caption?" in html and "uses the caption" in html
    assert any("posterior mean" in t["target"] for t in res["targets"])
    dyn = res["dynamics_check"]  # K = 1: the still past is the true past, so nothing to remove
    assert dyn["true_past"] == "world_model_mean" and dyn["K"] == 1
    assert dyn["scenarios"]["all"]["uses_the_past"] == pytest.approx(0.0, abs=1e-9)
    assert all("error" not in r for r in rows.values()), [r.get("error") for r in rows.values()]
    assert rows["world_model"]["psnr/all"] > 0 and 0 <= rows["world_model"]["mask_iou/all"] <= 1
    assert [t["target"] for t in res["targets"]]  # the milestones are checked, pass or fail
    html = (out / "report.html").read_text()
    assert "world_model" in html and "tokenizer_recon" in html and "<svg" in html


def test_model_recommended_settings_fill_what_the_caller_leaves_out(world, tmp_path):
    """world_model.json "inference" sets the defaults per mode (the shipped model predicts from video
    with its posterior mean + residual decoding); what a caller passes wins; the record says which
    settings the model chose; a bad block fails at load, naming the file."""
    import shutil

    d = tmp_path / "model"
    shutil.copytree(world["model"], d)
    meta_path = d / "world_model.json"
    meta = json.loads(meta_path.read_text())
    meta["inference"] = {"video2world": {"sampler": "mean", "guidance": 0.0, "decode": "residual",
                                         "change_threshold": 0.1}}
    meta_path.write_text(json.dumps(meta))
    p = WorldPipeline.from_pretrained(str(d), device="cpu", guardrails=None, text_encoder=world["enc"], upsample=False)
    video = _clip(3)
    st = p("a red square slides", input=video, num_cond_frames=5).record["settings"]
    assert (st["sampler"], st["steps"], st["guidance"], st["decode"], st["change_threshold"]) == (
        "mean", 1, 0.0, "residual", 0.1)
    assert st["from_model"] == ["change_threshold", "decode", "guidance", "sampler"]
    st = p("a red square slides", input=video, num_cond_frames=5, sampler="euler", steps=2, guidance=3.0).record[
        "settings"]
    assert (st["sampler"], st["steps"], st["guidance"], st["decode"]) == ("euler", 2, 3.0, "residual")
    assert st["from_model"] == ["change_threshold", "decode"]
    st = p("a red square slides", input=video, num_cond_frames=5, steps=3).record["settings"]
    assert (st["sampler"], st["steps"]) == ("dpmpp_2m", 3)  # steps ask for a sampler that takes them, not the mean
    st = p("a red square slides", input=video, num_cond_frames=5, decode="plain").record["settings"]
    assert (st["decode"], st["change_threshold"]) == ("plain", 0.0)  # the model's threshold goes with its decode
    assert st["from_model"] == ["guidance", "sampler"]
    st = p("a red square slides", steps=1).record["settings"]  # text only: no recommendation, library defaults
    assert (st["sampler"], st["guidance"], st["decode"], st["from_model"]) == ("dpmpp_2m", 7.0, "plain", [])
    # the CLI leaves them out unless given, so `worldsmith predict` samples the way the model recommends
    img = tmp_path / "in.mp4"
    write_video(img, video, 8, lossless=True)
    out = tmp_path / "out.mp4"
    assert main(["predict", "--model", str(d), "--input", str(img), "--prompt", "a red square", "--num-cond-frames",
                 "5", "--output", str(out), "--device", "cpu", "--no-guardrails", "--no-upsample"]) == 0
    rec = json.loads((tmp_path / "out.json").read_text())["settings"]
    assert rec["sampler"] == "mean" and rec["decode"] == "residual" and "sampler" in rec["from_model"]
    meta["inference"] = {"video2world": {"samplr": "mean"}}
    meta_path.write_text(json.dumps(meta))
    with pytest.raises(WorldsmithError, match="world_model.json.*inference.video2world"):
        WorldPipeline.from_pretrained(str(d), device="cpu", guardrails=None, text_encoder=world["enc"])
