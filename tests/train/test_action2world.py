"""Action2World post-training (full and LoRA), its export/load, the Gymnasium envs and policy evaluation.

One tiny pipeline on real simulator clips at 32 px: random tokenizer -> 2-step video2world
base -> 2-step action2world runs -> exported directories -> envs and `worldsmith eval`.
"""

from __future__ import annotations

import json
import os

import gymnasium
import numpy as np
import pytest
import torch

from worldsmith.cli import main
from worldsmith.sim.generate import generate_dataset
from worldsmith.tokenizer.model import build_tokenizer
from worldsmith.train import Trainer
from worldsmith.train import action2world as a2w
from worldsmith.train.video2world import Video2WorldTask
from worldsmith.train.video2world import resolve_config as v2w_config
from worldsmith.utils.errors import WorldsmithError

SIZE = 32
TINY = ["model.width=32", "model.depth=2", "model.num_heads=2", "model.adaln_lora_dim=8"]
FAST = ["train.batch_size=2", "train.eval_every=0", "train.ckpt_every=0", "train.sample_every=0",
        "train.tensorboard=false", "train.optim.warmup_steps=1", "data.shuffle_buffer=4", "data.val_clips=1"]


pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    from worldsmith.text.encoder import TextEncoder

    torch.set_num_threads(1)
    root = tmp_path_factory.mktemp("a2w")
    generate_dataset(str(root / "robot"), "robot_push", num_clips=6, resolution=SIZE, frames=13, workers=1,
                     robot_policy="mix")
    torch.manual_seed(0)
    build_tokenizer("cv4x8x8-tiny").save_pretrained(root / "tok")
    enc = TextEncoder(max_length=8)
    cfg = v2w_config("tiny", None, TINY + FAST, data__root=str(root / "robot"), tokenizer=str(root / "tok"),
                     data__num_frames=9, data__size=SIZE, train__steps=2)
    Trainer(Video2WorldTask(cfg, text_encoder=enc), cfg.train, root / "base").fit()
    base = str(root / "base" / "model")
    out = {"root": root, "base": base, "enc": enc, "data": str(root / "robot")}
    for name, rank in (("full", 0), ("lora", 4)):
        cfg = a2w.resolve_config(base, None, FAST + ["action_lr_mult=10"], data__root=str(root / "robot"),
                                 train__steps=2, lora_rank=rank)
        task = a2w.Action2WorldTask(cfg, text_encoder=enc)
        trainer = Trainer(task, cfg.train, root / name)
        trainer.fit()
        out[name] = str(root / name / "model")
        out[name + "_trained"] = trainer.eval_model()  # the EMA copy that was exported
        out[name + "_live"] = trainer.model
        out[name + "_groups"] = [(len(g["params"]), g["initial_lr"]) for g in trainer.opt.param_groups]
        out[name + "_action_params"] = sum(p.requires_grad for p in trainer.model.net.action_embedder.parameters())
    return out


def test_exports(runs):
    for name in ("full", "lora"):
        with open(os.path.join(runs[name], "world_model.json")) as f:
            meta = json.load(f)
        assert meta["task"] == "action2world" and meta["action"]["dim"] == 7
        assert meta["action"]["per_latent_frame"] == 4 and os.path.isdir(os.path.join(runs[name], "tokenizer"))
    assert os.path.isfile(os.path.join(runs["full"], "model.safetensors"))
    # LoRA: only the adapter (+ action MLPs) is saved, not the base weights
    assert not os.path.exists(os.path.join(runs["lora"], "model.safetensors"))
    assert os.path.isfile(os.path.join(runs["lora"], "adapter_model.safetensors"))


def test_a_model_refuses_a_tokenizer_it_was_not_trained_on(runs, tmp_path):
    """Exports record their tokenizer's fingerprint; loading (or post-training) with another one is refused."""
    import shutil

    from worldsmith.inference.action import ActionWorldModel
    from worldsmith.tokenizer.model import CausalVideoTokenizer

    for d in (runs["base"], runs["full"]):
        meta = json.loads(open(os.path.join(d, "world_model.json")).read())
        tok = CausalVideoTokenizer.from_pretrained(os.path.join(d, "tokenizer"))
        assert meta["tokenizer_fingerprint"] == tok.fingerprint()
    moved = tmp_path / "full"
    shutil.copytree(runs["full"], moved)
    torch.manual_seed(123)
    build_tokenizer("cv4x8x8-tiny").save_pretrained(moved / "tokenizer")  # same config, other weights
    with pytest.raises(WorldsmithError, match="not the one this model was trained on"):
        ActionWorldModel.from_pretrained(str(moved), device="cpu", text_encoder=runs["enc"])
    base = tmp_path / "base"
    shutil.copytree(runs["base"], base)
    shutil.copytree(moved / "tokenizer", base / "tokenizer", dirs_exist_ok=True)
    cfg = a2w.resolve_config(str(base), None, FAST, data__root=runs["data"], train__steps=1)
    with pytest.raises(WorldsmithError, match="--init .*not the one"):
        a2w.Action2WorldTask(cfg, text_encoder=runs["enc"])


def test_lora_trains_only_adapters(runs):
    den = runs["lora_live"]
    names = [n for n, p in den.named_parameters() if p.requires_grad]
    assert names and all("lora_" in n or n.startswith("net.action_embedder.") for n in names)


@pytest.mark.parametrize("name", ["full", "lora"])
def test_action_mlps_learn_faster(runs, name):
    """The new action MLPs get action_lr_mult (here 10) x the base learning rate, the rest 1x."""
    (n_rest, lr_rest), (n_action, lr_action) = runs[name + "_groups"]
    assert n_action == runs[name + "_action_params"] == 8  # 2 MLPs x 2 linears x (weight, bias)
    assert n_rest > 0 and lr_action == pytest.approx(10 * lr_rest) and lr_rest == pytest.approx(2e-4)


def test_action_lr_mult_validated(runs):
    with pytest.raises(WorldsmithError, match="action_lr_mult"):
        a2w.resolve_config(runs["base"], None, ["action_lr_mult=0"])


@pytest.mark.parametrize("name", ["full", "lora"])
def test_loaded_model_equals_trained(runs, name):
    """The exported model (LoRA: merged into the base at load) gives the trained model's outputs."""
    trained = runs[name + "_trained"].eval()
    loaded = a2w.load_action_denoiser(runs[name]).eval()
    g = torch.Generator().manual_seed(0)
    x = torch.randn(2, 16, 3, 4, 4, generator=g)
    cond = {"text": torch.randn(2, 3, 384, generator=g), "actions": torch.randn(2, 8, 7, generator=g) * 0.02}
    sigma = torch.tensor([0.5, 2.0])
    with torch.no_grad():
        assert torch.allclose(trained(x, sigma, cond), loaded(x, sigma, cond), atol=1e-5)
        zero = loaded(x, sigma, {**cond, "actions": torch.zeros(2, 8, 7)})
        assert torch.allclose(zero, loaded(x, sigma, {"text": cond["text"]}), atol=1e-6)  # missing = zeros


def test_action_model_predicts(runs):
    from worldsmith.inference.action import ActionWorldModel

    wm = ActionWorldModel.from_pretrained(runs["lora"], device="cpu", text_encoder=runs["enc"], steps=2)
    ctx = np.random.default_rng(0).integers(0, 255, (2, wm.context_frames, SIZE, SIZE, 3), dtype=np.uint8)
    past = np.zeros((2, wm.context_frames - 1, 7), np.float32)
    out = wm.rollout(ctx, past, np.zeros((2, 8, 7), np.float32))
    assert out.shape == (2, 8, SIZE, SIZE, 3) and out.dtype == np.uint8
    with pytest.raises(WorldsmithError, match="actions"):
        wm.predict(ctx, past, np.zeros((2, 3, 7), np.float32))


def test_post_training_at_a_finer_patch_than_the_base(runs, tmp_path):
    """`--set model.patch_spatial=1` on a 2x2-patch base: re-patched weights, RoPE scaled, exported, loadable."""
    from worldsmith.inference.action import ActionWorldModel

    cfg = a2w.resolve_config(runs["base"], None, FAST + ["model.patch_spatial=1"], data__root=runs["data"],
                             train__steps=1)
    assert cfg.model.patch_spatial == 1 and tuple(cfg.model.rope_position_scale) == (1.0, 0.5, 0.5)
    task = a2w.Action2WorldTask(cfg, text_encoder=runs["enc"])
    net = task.build_model().net
    base = a2w.Denoiser.from_pretrained(runs["base"]).net
    w_base = base.patch_embed.weight.reshape(base.patch_embed.weight.shape[0], -1, 4)
    assert torch.allclose(net.patch_embed.weight, w_base.sum(-1))
    Trainer(task, cfg.train, tmp_path / "p1").fit()
    wm = ActionWorldModel.from_pretrained(str(tmp_path / "p1" / "model"), device="cpu", text_encoder=runs["enc"],
                                          steps=2)
    assert wm.denoiser.net.cfg.patch_spatial == 1
    ctx = np.zeros((1, wm.context_frames, SIZE, SIZE, 3), np.uint8)
    out = wm.rollout(ctx, np.zeros((1, wm.context_frames - 1, 7), np.float32), np.zeros((1, 4, 7), np.float32))
    assert out.shape == (1, 4, SIZE, SIZE, 3)
    with pytest.raises(WorldsmithError, match="divisor"):
        a2w.resolve_config(runs["base"], None, ["model.patch_spatial=3"])
    # LoRA on a re-patched base: the adapter is merged into the base re-patched the same way at load
    cfg = a2w.resolve_config(runs["base"], None, FAST + ["model.patch_spatial=1"], data__root=runs["data"],
                             train__steps=1, lora_rank=4)
    trainer = Trainer(a2w.Action2WorldTask(cfg, text_encoder=runs["enc"]), cfg.train, tmp_path / "p1-lora")
    trainer.fit()
    loaded = a2w.load_action_denoiser(str(tmp_path / "p1-lora" / "model")).eval()
    trained = trainer.eval_model().eval()
    x, sigma = torch.randn(1, 16, 3, 4, 4), torch.full((1,), 0.7)
    cond = {"text": torch.zeros(1, 8, 384), "actions": torch.randn(1, 8, 7)}
    with torch.no_grad():
        assert torch.allclose(loaded(x, sigma, cond), trained(x, sigma, cond), atol=1e-4)


def test_action_guidance_amplifies_what_the_actions_change(runs):
    """g > 0: D_act + g * (D_act - D_zeroed); with zeroed actions both branches agree, so it is a no-op."""
    from worldsmith.inference.action import ActionWorldModel

    plain = ActionWorldModel.from_pretrained(runs["full"], device="cpu", text_encoder=runs["enc"], steps=2)
    guided = ActionWorldModel(plain.denoiser, plain.tokenizer, plain.text_cond, plain.meta, plain.device, steps=2,
                              action_guidance=3.0)
    ctx = np.random.default_rng(1).integers(0, 255, (2, plain.context_frames, SIZE, SIZE, 3), dtype=np.uint8)
    latent = plain.encode(ctx)
    past = np.zeros((2, plain.context_frames - 1, 7), np.float32)
    acts = np.random.default_rng(2).uniform(-0.05, 0.05, (2, plain.k, 7)).astype(np.float32)
    zero = np.zeros_like(acts)
    torch.testing.assert_close(guided.predict_latent(latent, past, zero), plain.predict_latent(latent, past, zero))
    a, g = plain.predict_latent(latent, past, acts), guided.predict_latent(latent, past, acts)
    assert not torch.allclose(a, g)  # the trained action MLPs move the prediction, and guidance moves it further
    with pytest.raises(WorldsmithError, match="action_guidance"):
        ActionWorldModel(plain.denoiser, plain.tokenizer, plain.text_cond, plain.meta, plain.device, action_guidance=-1)
    assert main(["eval", "actions", "--model", runs["full"], "--clips", "1", "--action-guidance", "-2",
                 "--out", "unused"]) == 2


def test_residual_rollout_keeps_the_context_where_the_model_changes_nothing(runs):
    """decode="residual": the rollout is the last context frame plus the decoded change; with a dead
    zone above every change the model makes, that is the last context frame itself."""
    from worldsmith.inference.action import ActionWorldModel

    kw = dict(device="cpu", text_encoder=runs["enc"], steps=2)
    ctx = np.random.default_rng(3).integers(0, 255, (2, 5, SIZE, SIZE, 3), dtype=np.uint8)
    past, acts = np.zeros((2, 4, 7), np.float32), np.zeros((2, 8, 7), np.float32)
    plain = ActionWorldModel.from_pretrained(runs["full"], **kw).rollout(ctx, past, acts)
    res = ActionWorldModel.from_pretrained(runs["full"], decode="residual", **kw).rollout(ctx, past, acts)
    gated = ActionWorldModel.from_pretrained(runs["full"], decode="residual", change_threshold=1.99, **kw)
    assert res.shape == plain.shape == (2, 8, SIZE, SIZE, 3) and not np.array_equal(res, plain)
    np.testing.assert_array_equal(gated.rollout(ctx, past, acts), np.repeat(ctx[:, -1:], 8, axis=1))
    with pytest.raises(WorldsmithError, match="--decode"):
        ActionWorldModel.from_pretrained(runs["full"], decode="crisp", **kw)


def test_mean_rollout_is_one_noise_free_pass_that_a_model_directory_can_recommend(runs, tmp_path):
    """sampler="mean": each chunk is the one-step posterior mean (no noise drawn, so the step count
    is moot); a model directory recommends it in world_model.json, and a sampler passed in wins."""
    import shutil

    from worldsmith.inference.action import ActionWorldModel

    kw = dict(device="cpu", text_encoder=runs["enc"])
    ctx = np.random.default_rng(4).integers(0, 255, (2, 5, SIZE, SIZE, 3), dtype=np.uint8)
    past = np.zeros((2, 4, 7), np.float32)
    acts = np.random.default_rng(5).uniform(-0.05, 0.05, (2, 8, 7)).astype(np.float32)
    mean2 = ActionWorldModel.from_pretrained(runs["full"], sampler="mean", steps=2, **kw)
    mean9 = ActionWorldModel.from_pretrained(runs["full"], sampler="mean", steps=9, **kw)
    sampled = ActionWorldModel.from_pretrained(runs["full"], steps=2, **kw)
    assert mean2.plan == {"sampler": "euler", "steps": 1, "init_noise": 0.0, "sigma_max": mean2.denoiser.cfg.mean_sigma}
    np.testing.assert_array_equal(mean2.rollout(ctx, past, acts), mean9.rollout(ctx, past, acts))
    assert not np.array_equal(mean2.rollout(ctx, past, acts), sampled.rollout(ctx, past, acts))
    assert sampled.sampler == "dpmpp_2m"  # neither the caller nor the directory chose
    with pytest.raises(WorldsmithError, match="--sampler"):
        ActionWorldModel.from_pretrained(runs["full"], sampler="telepathy", **kw)
    rec = tmp_path / "recommends-mean"
    shutil.copytree(runs["full"], rec)
    meta = json.loads((rec / "world_model.json").read_text())
    (rec / "world_model.json").write_text(json.dumps({**meta, "inference": {"action2world": {"sampler": "mean"}}}))
    assert ActionWorldModel.from_pretrained(str(rec), **kw).sampler == "mean"
    assert ActionWorldModel.from_pretrained(str(rec), sampler="euler", **kw).sampler == "euler"
    out = tmp_path / "actions-mean"
    assert main(["eval", "actions", "--model", str(rec), "--clips", "1", "--frames", "13", "--device", "cpu",
                 "--out", str(out)]) == 0
    settings = json.loads((out / "results.json").read_text())["settings"]
    assert settings["sampler"] == "mean" and settings["sampler_steps"] == 1
    (rec / "world_model.json").write_text(json.dumps({**meta, "inference": {"action2world": {"guidance": 2}}}))
    with pytest.raises(WorldsmithError, match="world_model.json: inference.action2world may set only sampler"):
        ActionWorldModel.from_pretrained(str(rec), **kw)
    (rec / "world_model.json").write_text(json.dumps({**meta, "inference": {"action2world": {"sampler": "ddim"}}}))
    with pytest.raises(WorldsmithError, match="world_model.json: inference.action2world.sampler 'ddim'"):
        ActionWorldModel.from_pretrained(str(rec), **kw)


def test_env_checker_and_make(runs):
    from gymnasium.utils.env_checker import check_env

    from worldsmith.envs.sim_env import RobotPushSimEnv
    from worldsmith.envs.world_env import WorldModelEnv

    env = WorldModelEnv(runs["full"], sampler_steps=2, device="cpu", max_steps=2)
    check_env(env, skip_render_check=True)
    obs, info = env.reset(seed=3)
    assert obs["image"].shape == (SIZE, SIZE, 3) and "target_pos" in info["task"]
    obs, r, term, trunc, info = env.step(env.action_space.sample())
    assert info["frames"].shape == (4, SIZE, SIZE, 3) and r in (0.0, 1.0)
    sim = RobotPushSimEnv(resolution=SIZE, max_steps=2)
    check_env(sim, skip_render_check=True)
    # same start frames in both environments
    assert np.array_equal(sim.reset(seed=3)[1]["frames"][-1], env.reset(seed=3)[0]["image"])
    sim.close()
    made = gymnasium.make("worldsmith/RobotPushWorldModel-v0", model=runs["full"], sampler_steps=2, device="cpu")
    assert made.reset(seed=1)[0]["image"].shape == (SIZE, SIZE, 3)


def test_vector_env_batches_and_autoresets(runs):
    from worldsmith.envs.world_env import WorldModelVectorEnv

    env = WorldModelVectorEnv(runs["full"], num_envs=2, max_steps=1, sampler_steps=2, device="cpu")
    obs, info = env.reset(seed=[5, 6])
    assert obs["image"].shape == (2, SIZE, SIZE, 3) and len(info["task"]) == 2
    obs, r, term, trunc, info = env.step(env.action_space.sample())
    assert trunc.all() and info["frames"].shape == (2, 4, SIZE, SIZE, 3)
    obs, r, term, trunc, info = env.step(env.action_space.sample())  # next-step autoreset
    assert not trunc.any() and not info["_success"].any()


def test_eval_policy_and_actions_cli(runs, tmp_path, capsys):
    out = tmp_path / "policy"
    assert main(["eval", "policy", "--model", runs["lora"], "--episodes", "2", "--max-steps", "2",
                 "--sampler-steps", "2", "--device", "cpu", "--out", str(out), "--rollout", "pixel"]) == 0
    rep = json.loads((out / "results.json").read_text())
    assert rep["settings"]["rollout"] == "pixel" and rep["settings"]["rollout_aug_sigma"] == 0.05
    assert rep["settings"]["decode"] == "plain"
    res_out = tmp_path / "policy-residual"  # the latent env, rendered as start frame + decoded change
    assert main(["eval", "policy", "--model", runs["full"], "--episodes", "2", "--max-steps", "2", "--policy", "good",
                 "--sampler-steps", "2", "--device", "cpu", "--out", str(res_out), "--decode", "residual",
                 "--change-threshold", "0.1", "--no-replay", "--start-seed", "800000"]) == 0
    res_rep = json.loads((res_out / "results.json").read_text())
    assert res_rep["start_seeds"] == [800000, 800001] and rep["start_seeds"] == [700000, 700001]
    assert "spearman_replay" not in res_rep and "world_model_replay_success" not in res_rep["policies"]["good"]
    assert res_rep["settings"]["decode"] == "residual" and res_rep["settings"]["change_threshold"] == 0.1
    assert main(["eval", "policy", "--model", runs["full"], "--change-threshold", "0.1", "--out", str(res_out)]) == 2
    assert set(rep["policies"]) == {"good", "noisy", "random"} and "spearman" in rep and "spearman_progress" in rep
    assert "spearman_replay" in rep and "world_model_replay" in rep["policies"]["good"]["episodes"][0]
    page = (out / "report.html").read_text()  # self-contained: tables, charts, GIFs, the verdicts in words
    assert page.count("<table>") == 1 and "<svg" in page and page.count("data:image/gif;base64,") == 6
    assert "Ranking by success" in page and "Replayed" in page and "src='http" not in page
    for r in rep["policies"].values():
        assert 0 <= r["sim_success"] <= 1 and len(r["episodes"]) == 2
    assert (out / rep["videos"]["good"][0]).is_file()
    assert "Spearman" in capsys.readouterr().out
    assert main(["eval", "policy", "--model", runs["full"], "--start-seed", "-1", "--out", str(res_out)]) == 2
    assert "--start-seed -1" in capsys.readouterr().err
    out = tmp_path / "actions"
    assert main(["eval", "actions", "--model", runs["full"], "--clips", "2", "--frames", "13",
                 "--sampler-steps", "2", "--device", "cpu", "--out", str(out), "--rollout-aug-sigma", "0.2"]) == 0
    res = json.loads((out / "results.json").read_text())
    assert res["settings"] == {"model": runs["full"], "sampler": "dpmpp_2m", "sampler_steps": 2, "rollout": "latent",
                               "rollout_aug_sigma": 0.2, "action_guidance": 0.0, "decode": "plain",
                               "change_threshold": 0.0}
    assert set(res["variants"]) == {"true actions", "zero actions", "copy last frame"}
    assert res["predicted_frames"] == 8 and np.isfinite(res["variants"]["true actions"]["psnr"])
    assert res["sensitivity"]["zeroed_over_true"] > 0 and len(res["sensitivity"]["x0_mse"]["true"]) == 3
    assert set(res["per_policy"]) == {"good", "noisy"}  # 2 clips: the first two policies in turn
    assert set(res["per_policy"]["good"]) == set(res["variants"])
    assert res["per_chunk"]["frames_per_chunk"] == 4
    for name in res["variants"]:  # 8 predicted frames = 2 chunks of 4
        assert len(res["per_chunk"][name]["object_iou"]) == 2 and len(res["per_chunk"][name]["psnr"]) == 2
    assert set(res["object_travel"]) == {"all", "good", "noisy"}
    for name, t in res["object_travel"]["all"].items():  # copy-last leaves the object where it was
        assert set(t) == {"along_px", "true_px", "ratio", "clips"} and (name != "copy last frame" or t["clips"] == 0
                                                                         or abs(t["along_px"]) < 1.5)
    assert "per rollout chunk" in capsys.readouterr().out
    page = (tmp_path / "actions" / "report.html").read_text()
    assert page.count("<table>") >= 3 and "object IoU per rollout chunk" in page  # all clips + per policy
    assert page.count("data:image/gif;base64,") == 2 and "zeroed actions" in page
    # the user's own clips with actions (here the post-training dataset itself; a 9-frame clip is skipped)
    generate_dataset(runs["data"] + "-short", "robot_push", num_clips=1, resolution=SIZE, frames=9, workers=1)
    for data, ok in ((runs["data"], True), (runs["data"] + "-short", False)):
        out = tmp_path / f"actions-data-{ok}"
        rc = main(["eval", "actions", "--model", runs["full"], "--data", data, "--split", "all", "--clips", "2",
                   "--frames", "13", "--sampler-steps", "2", "--device", "cpu", "--out", str(out)])
        assert rc == (0 if ok else 2)
    res = json.loads((tmp_path / "actions-data-True" / "results.json").read_text())
    assert res["source"] == runs["data"] and len(res["per_clip"]) == 2 and res["skipped"] == []
    assert np.isfinite(res["variants"]["true actions"]["object_iou"])  # sim clips carry seg masks
    assert "no usable clip" in capsys.readouterr().err


def test_action_sensitivity_tells_ignored_from_used_actions(runs):
    """A model whose action MLPs output nothing scores 1.0 exactly; one that feels its actions does not."""
    from worldsmith.eval.actions import action_sensitivity, held_out_clips
    from worldsmith.inference.action import ActionWorldModel

    wm = ActionWorldModel.from_pretrained(runs["full"], device="cpu", text_encoder=runs["enc"], steps=2)
    clips = held_out_clips(2, 9, SIZE, policies=("play",))
    emb = wm.denoiser.net.action_embedder
    with torch.no_grad():
        for mlp in (emb.emb_mlp, emb.adaln_mlp):
            mlp[-1].weight.zero_()
    res = action_sensitivity(wm, clips, sigmas=(1.0,))
    assert res["zeroed_over_true"] == 1.0 and res["shuffled_over_true"] == 1.0
    torch.manual_seed(0)
    with torch.no_grad():
        for mlp in (emb.emb_mlp, emb.adaln_mlp):
            mlp[-1].weight.normal_(0, 0.5)
    res = action_sensitivity(wm, clips, sigmas=(1.0,))
    assert abs(res["zeroed_over_true"] - 1.0) > 1e-5  # small: the 2-step base net barely opens its gates
    with pytest.raises(WorldsmithError, match="--policies"):
        held_out_clips(1, 9, SIZE, policies=("telepathy",))


def test_bad_inputs(runs, tmp_path, capsys):
    def fails(args: list[str], match: str) -> None:
        assert main(args) != 0
        err = capsys.readouterr().err
        assert match in err and len(err.strip().splitlines()) == 1, err

    fails(["eval", "policy", "--model", runs["base"], "--out", str(tmp_path / "x")], "not an action-conditioned model")
    fails(["eval", "policy", "--model", runs["full"], "--policy", "nope", "--out", str(tmp_path / "x")], "--policy")
    fails(["eval", "actions", "--model", runs["full"], "--rollout-aug-sigma", "-1", "--out", str(tmp_path / "x")],
          "--rollout-aug-sigma")
    fails(["eval", "actions", "--model", runs["full"], "--sampler-steps", "0", "--out", str(tmp_path / "x")],
          "--sampler-steps")
    fails(["train", "--task", "action2world", "--data", runs["data"], "--out", str(tmp_path / "r")], "--init")
    fails(["train", "--task", "video2world", "--lora-rank", "4", "--data", runs["data"], "--out", str(tmp_path / "r")],
          "--lora-rank")
    empty = tmp_path / "clips"
    generate_dataset(str(empty), "fall", num_clips=1, resolution=SIZE, frames=9, workers=1)
    with pytest.raises(WorldsmithError, match="actions"):
        a2w.Action2WorldTask(a2w.resolve_config(runs["base"], None, FAST, data__root=str(empty)),
                             text_encoder=runs["enc"])


def test_action_run_from_latent_cache(runs, tmp_path):
    """action2world trains from pre-encoded windows: actions are cached beside the latents,
    and the cache records that every window uses the run's fixed prompt."""
    cache = tmp_path / "cache"
    cfg = a2w.resolve_config(runs["base"], None, FAST, data__root=runs["data"], train__steps=2,
                             data__latent_cache=str(cache))
    task = a2w.Action2WorldTask(cfg, text_encoder=runs["enc"])
    trainer = Trainer(task, cfg.train, tmp_path / "run")
    trainer.fit()
    assert len(trainer.history) == 2 and all(np.isfinite(h["loss"]) for h in trainer.history)
    batch = next(iter(task.train_batches(0)))
    assert batch["latent"].shape == (2, 16, 3, 4, 4) and batch["actions"].shape == (2, 9, 7)
    _, cond = task.batch_cond(batch)
    hidden, mask = runs["enc"].encode_tokens([""])  # the run's fixed (empty) prompt, for every window
    assert cond["actions"].shape == (2, 8, 7) and torch.equal(cond["text"], hidden.expand(2, -1, -1))
    assert torch.equal(cond["text_mask"], mask.expand(2, -1))
    with open(cache / "cache.json") as f:
        assert json.load(f)["settings"]["prompt"] == "fixed:"


def test_latent_window_crops_latents_and_their_actions(runs, tmp_path):
    """latent_window n: each sample is n consecutive latent frames from a random offset j of the
    13-frame (4-latent) windows, with action rows k*j .. k*(j+n-1)-1; a run trains on them."""
    cfg = a2w.resolve_config(runs["base"], None, FAST, data__root=runs["data"], train__steps=2,
                             data__num_frames=13, latent_window=2, data__latent_cache=str(tmp_path / "cache"))
    task = a2w.Action2WorldTask(cfg, text_encoder=runs["enc"])
    trainer = Trainer(task, cfg.train, tmp_path / "run")
    trainer.fit()
    assert len(trainer.history) == 2 and all(np.isfinite(h["loss"]) for h in trainer.history)
    B, k = 64, 4
    batch = {"latent": torch.arange(4.0).view(1, 1, 4, 1, 1).repeat(B, 16, 1, 4, 4),
             "actions": torch.arange(13.0).view(1, 13, 1).repeat(B, 1, 7),
             "text": torch.zeros(B, 1, 384), "text_mask": torch.ones(B, 1, dtype=torch.bool)}
    latent, cond = task.batch_cond(batch, generator=torch.Generator().manual_seed(0))
    assert latent.shape == (B, 16, 2, 4, 4) and cond["actions"].shape == (B, k, 7)
    j = latent[:, 0, 0, 0, 0]  # each sample's offset
    assert torch.equal(latent[:, 0, 1, 0, 0], j + 1) and set(j.tolist()) == {0.0, 1.0, 2.0}
    assert torch.equal(cond["actions"][:, :, 0], k * j[:, None] + torch.arange(k))
    again, _ = task.batch_cond(batch, generator=torch.Generator().manual_seed(0))
    assert torch.equal(again, latent)  # validation passes a fixed generator: the same crops every time
    for bad, match in ((1, "expected 0"), (5, "longer than the 4 latent frames")):
        with pytest.raises(WorldsmithError, match=match):
            a2w.Action2WorldTask(a2w.resolve_config(runs["base"], None, FAST, data__root=runs["data"],
                                                    data__num_frames=13, latent_window=bad), text_encoder=runs["enc"])


def test_self_forcing_conditions_on_the_models_own_prediction(runs, tmp_path):
    """self_forcing: a chosen window's second latent frame becomes the model's one-pass mean of
    it, the same latent the rollout code (`ActionWorldModel.predict_latent`, sampler "mean")
    predicts from the first frame and its actions; the window then conditions on 2 frames.
    A run trains with it; bad settings are refused."""
    from worldsmith.inference.action import ActionWorldModel

    cfg = a2w.resolve_config(runs["base"], None, FAST, data__root=runs["data"], train__steps=2,
                             data__num_frames=13, latent_window=3, self_forcing=1.0, lora_rank=4,
                             data__latent_cache=str(tmp_path / "cache"))  # with LoRA, as README's robot path runs it
    trainer = Trainer(a2w.Action2WorldTask(cfg, text_encoder=runs["enc"]), cfg.train, tmp_path / "run")
    trainer.fit()
    assert len(trainer.history) == 2 and all(np.isfinite(h["loss"]) and h["self_forced"] == 1.0
                                             and h["cond_frames_mean"] == 2.0 for h in trainer.history)
    assert trainer.model.training  # the no-gradient prediction left the model in training mode
    wm = ActionWorldModel.from_pretrained(runs["full"], device="cpu", text_encoder=runs["enc"], sampler="mean")
    den, B, k = wm.denoiser, 4, wm.k
    g = torch.Generator().manual_seed(0)
    latent = torch.randn(B, 16, 3, 4, 4, generator=g)
    actions = torch.randn(B, 2 * k, 7, generator=g) * 0.02
    cond = {"text": wm.text_cond["text"].expand(B, -1, -1), "text_mask": wm.text_cond["text_mask"].expand(B, -1),
            "actions": actions}
    out, n_cond, chosen = a2w.self_forced(den, latent, cond, 1.0, generator=torch.Generator().manual_seed(1))
    assert chosen.all() and n_cond.tolist() == [2] * B
    assert torch.equal(out[:, :, 0], latent[:, :, 0]) and torch.equal(out[:, :, 2], latent[:, :, 2])
    rollout = wm.predict_latent(latent[:, :, :1], np.zeros((B, 0, 7), np.float32), actions[:, :k].numpy())
    assert torch.allclose(out[:, :, 1], rollout[:, :, 0], atol=1e-5)
    assert not torch.allclose(out[:, :, 1], latent[:, :, 1])
    same, n_cond, chosen = a2w.self_forced(den, latent, cond, 0.0, generator=torch.Generator().manual_seed(1))
    assert not chosen.any() and torch.equal(same, latent) and set(n_cond.tolist()) <= {1, 2}
    for bad, match in (({"self_forcing": 1.5}, "expected a share"), ({"self_forcing": 0.5, "latent_window": 2},
                                                                       "needs latent_window=3")):
        with pytest.raises(WorldsmithError, match=match):
            a2w.resolve_config(runs["base"], None, FAST, data__root=runs["data"], **bad)


def test_continuing_an_action_model_keeps_its_action_scale(runs, tmp_path):
    """A base model's run takes the data's action spread; a run from an action model keeps the scale
    that model's action MLPs learnt on (not the new data's), and refuses data of another action size;
    a LoRA adapter directory is continued from its base with the adapter merged in."""
    import shutil

    data_scale = tuple(float(s) for s in a2w.action_scale(runs["data"], "actions"))
    fresh = a2w.Action2WorldTask(a2w.resolve_config(runs["base"], None, FAST, data__root=runs["data"]),
                                 text_encoder=runs["enc"])
    assert fresh.cfg.model.action_scale == data_scale
    init = tmp_path / "action-init"
    shutil.copytree(runs["full"], init)
    with open(init / "config.json") as f:
        net = json.load(f)
    for scale, ok in (([2.0] * 7, True), ([2.0] * 3, False)):
        net["action_scale"] = scale
        with open(init / "config.json", "w") as f:
            json.dump(net, f)
        cfg = a2w.resolve_config(str(init), None, FAST, data__root=runs["data"])
        if ok:
            assert a2w.Action2WorldTask(cfg, text_encoder=runs["enc"]).cfg.model.action_scale == (2.0,) * 7
        else:
            with pytest.raises(WorldsmithError, match="takes 3-dimensional actions"):
                a2w.Action2WorldTask(cfg, text_encoder=runs["enc"])
    # a LoRA run's export (adapter + action MLPs only) is continued from its merged weights, by LoRA again;
    # the new adapter names the old one as its base and loads through the chain adapter -> adapter -> base
    import copy

    from worldsmith.models.lora import merge_lora

    cfg = a2w.resolve_config(runs["lora"], None, FAST, data__root=runs["data"], train__steps=1, lora_rank=4)
    task = a2w.Action2WorldTask(cfg, text_encoder=runs["enc"])
    merged = a2w.load_action_denoiser(runs["lora"])
    assert task.cfg.model.action_scale == merged.net.cfg.action_scale  # its action MLPs' scale, kept
    start = merge_lora(copy.deepcopy(task.build_model().net)).state_dict()
    assert start.keys() == merged.net.state_dict().keys()
    assert all(torch.equal(start[k], v) for k, v in merged.net.state_dict().items())
    Trainer(task, cfg.train, tmp_path / "lora2").fit()
    with open(tmp_path / "lora2" / "model" / "adapter_config.json") as f:
        base_rel = json.load(f)["metadata"]["base_model"]
    assert os.path.samefile(tmp_path / "lora2" / "model" / base_rel, runs["lora"])
    again = a2w.load_action_denoiser(str(tmp_path / "lora2" / "model"))
    assert all(torch.isfinite(p).all() for p in again.parameters())
    loop = tmp_path / "loop"  # an adapter that names itself as its base: refused, not recursed forever
    shutil.copytree(runs["lora"], loop)
    with open(loop / "adapter_config.json") as f:
        ac = json.load(f)
    ac["metadata"]["base_model"] = "."
    with open(loop / "adapter_config.json", "w") as f:
        json.dump(ac, f)
    with pytest.raises(WorldsmithError, match="adapters deep"):
        a2w.load_action_denoiser(str(loop))
    from worldsmith.inference.pipeline import WorldPipeline

    with pytest.raises(WorldsmithError, match="LoRA adapter of an action-conditioned model"):
        WorldPipeline.from_pretrained(runs["lora"], device="cpu")  # predict / eval physics: not "config.json"


def test_latent_rollout_is_causal_and_pixel_rollout_still_runs(runs):
    """The latent rollout's first chunk equals a single predict() (the causal decoder's frames do
    not depend on later latents), and only later chunks get the generated-context noise; the
    re-encoding rollout gives frames of the same shape."""
    from worldsmith.inference.action import ActionWorldModel

    wm = ActionWorldModel.from_pretrained(runs["full"], device="cpu", text_encoder=runs["enc"], steps=2)
    rng = np.random.default_rng(1)
    ctx = rng.integers(0, 255, (2, wm.context_frames, SIZE, SIZE, 3), dtype=np.uint8)
    past = rng.normal(0, 0.02, (2, wm.context_frames - 1, 7)).astype(np.float32)
    acts = rng.normal(0, 0.02, (2, 12, 7)).astype(np.float32)
    out = wm.rollout(ctx, past, acts, seed=4)
    first = wm.predict(ctx, past, acts[:, :4], seed=4)
    assert out.shape == (2, 12, SIZE, SIZE, 3)
    assert np.abs(out[:, :4].astype(int) - first.astype(int)).max() <= 1
    # contexts the model generated get rollout_aug_sigma; the first chunk's true context does not
    noisy = ActionWorldModel.from_pretrained(runs["full"], device="cpu", text_encoder=runs["enc"], steps=2,
                                             rollout_aug_sigma=0.9).rollout(ctx, past, acts, seed=4)
    assert np.array_equal(noisy[:, :4], out[:, :4]) and not np.array_equal(noisy[:, 4:], out[:, 4:])
    with pytest.raises(WorldsmithError, match="rollout_aug_sigma"):
        ActionWorldModel.from_pretrained(runs["full"], device="cpu", text_encoder=runs["enc"], rollout_aug_sigma=-1)
    wm.latent_rollout = False
    pix = wm.rollout(ctx, past, acts, seed=4)
    assert pix.shape == out.shape and np.array_equal(pix[:, :4], first)


def test_env_latent_history_is_reanchored(runs, monkeypatch):
    """The env keeps each episode's latents between steps (the history grows by one latent frame a
    step) and re-encodes its last frames once the history reaches MAX_LATENTS, so long episodes
    cost a bounded decode per step; a batch may mix fresh and running episodes."""
    from worldsmith.envs import world_env

    monkeypatch.setattr(world_env, "MAX_LATENTS", 4)
    env = world_env.WorldModelEnv(runs["full"], sampler_steps=2, device="cpu", max_steps=5)
    env.reset(seed=2)
    lengths = []
    for _ in range(4):
        obs, *_ , info = env.step(env.action_space.sample())
        lengths.append(env.episodes.latents[0].shape[1])
        assert obs["image"].dtype == np.uint8 and np.array_equal(obs["image"], info["frames"][-1])
    assert lengths == [3, 2, 3, 2]  # 2 -> 3 -> 4 = MAX_LATENTS -> re-anchored to the 2 context latents -> 3 ...
    eps = world_env._Episodes(env.wm, 2, max_steps=5)
    eps.start(0, 1, None), eps.start(1, 2, None)
    eps.step(np.array([0]), np.zeros((1, 4, 7), np.float32))
    new, success = eps.step(np.array([0, 1]), np.zeros((2, 4, 7), np.float32))  # one running, one fresh
    assert new.shape == (2, 4, SIZE, SIZE, 3) and success.shape == (2,)
    assert [eps.latents[i].shape[1] for i in (0, 1)] == [2, 3] and list(eps.t) == [2, 1]
