"""`worldsmith train --task video2world --init DIR`: fine-tuning a world model on new clips, from
its own weights, settings and tokenizer."""

from __future__ import annotations

import json
import os
import shutil
import sys

import pytest
import torch

from worldsmith.cli import main
from worldsmith.diffusion import Denoiser
from worldsmith.train.video2world import Video2WorldTask, resolve_config

sys.path.insert(0, os.path.dirname(os.path.dirname(__file__)))
from tiny_world import tiny_world_fixture  # noqa: E402

SIZE, FRAMES = 32, 9

pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    """A tiny real world model with settings a fresh preset does not have, and a recommendation."""
    w = tiny_world_fixture(tmp_path_factory, "v2w-init", clips=6, frames=FRAMES, size=SIZE,
                           overrides=("diffusion.anchor=still", "diffusion.high_sigma_fraction=0.5",
                                      "diffusion.cond_frame_choices=[1,2]", "text_max_length=12"))
    meta_path = os.path.join(w["model"], "world_model.json")
    with open(meta_path) as f:
        meta = json.load(f)
    meta["inference"] = {"video2world": {"sampler": "mean", "guidance": 0.0}}
    with open(meta_path, "w") as f:
        json.dump(meta, f)
    return w


def _argv(world, out, *extra):
    return ["train", "--task", "video2world", "--init", world["model"], "--data", world["data"], "--out", str(out),
            "--steps", "2", "--device", "cpu", "--set", "train.batch_size=2", "--set", "train.eval_every=0",
            "--set", "train.ckpt_every=0", "--set", "train.tensorboard=false", "--set", "data.shuffle_buffer=4",
            "--set", "data.val_clips=1", "--set", "train.optim.warmup_steps=1", *extra]


def test_init_takes_the_models_shape_settings_tokenizer_and_weights(world):
    cfg = resolve_config("tiny", None, ["train.steps=1"], init=world["model"])
    base = Denoiser.from_pretrained(world["model"])
    assert cfg.model == base.net.cfg and cfg.model.width == 32  # not the tiny preset's 192
    assert (cfg.diffusion.anchor, cfg.diffusion.high_sigma_fraction, cfg.diffusion.cond_frame_choices) == \
        ("still", 0.5, (1, 2))
    assert (cfg.data.num_frames, cfg.data.size, cfg.text_max_length) == (FRAMES, SIZE, 12)
    assert os.path.samefile(cfg.tokenizer, os.path.join(world["model"], "tokenizer"))
    net = Video2WorldTask(cfg, text_encoder=world["enc"]).build_model().net
    for k, v in base.net.state_dict().items():
        assert torch.equal(net.state_dict()[k], v), k
    fresh = resolve_config("tiny", None, [])
    assert fresh.init == "" and fresh.model.width == 192 and fresh.diffusion.anchor != "still"


def test_fine_tuning_from_the_cli_starts_where_the_model_is(world, tmp_path, capsys):
    """At a vanishing learning rate the fine-tuned export is the init model; at a real one it moves,
    and it keeps the model's tokenizer, recommendations and provenance."""
    assert main(_argv(world, tmp_path / "still", "--set", "train.optim.lr=1e-12")) == 0
    base = Denoiser.from_pretrained(world["model"]).net.state_dict()
    still = Denoiser.from_pretrained(tmp_path / "still" / "model").net.state_dict()
    assert all(torch.allclose(still[k], v, atol=1e-6) for k, v in base.items())
    assert main(_argv(world, tmp_path / "moved", "--set", "train.optim.lr=1e-2")) == 0
    moved = Denoiser.from_pretrained(tmp_path / "moved" / "model").net.state_dict()
    assert max((moved[k] - v).abs().max().item() for k, v in base.items()) > 1e-3
    with open(tmp_path / "moved" / "model" / "world_model.json") as f:
        meta = json.load(f)
    with open(os.path.join(world["model"], "world_model.json")) as f:
        base_meta = json.load(f)
    assert meta["tokenizer_fingerprint"] == base_meta["tokenizer_fingerprint"]
    import hashlib

    with open(os.path.join(world["model"], "model.safetensors"), "rb") as f:
        sha = hashlib.sha256(f.read()).hexdigest()[:16]
    assert meta["inference"] == base_meta["inference"]
    assert meta["fine_tuned_from"] == {"path": world["model"], "weights_sha256": sha}
    assert Denoiser.from_pretrained(tmp_path / "moved" / "model").cfg.anchor == "still"


@pytest.mark.parametrize("extra,msg", [
    (["--tokenizer", "tok"], "--tokenizer: with --init"),
    (["--preset", "dit-small"], "--preset: with --init"),
    (["--formulation", "rf"], "--formulation: with --init"),
    (["--set", "model.width=64"], "do not fit"),
])
def test_init_refuses_what_would_not_be_the_model(world, tmp_path, capsys, extra, msg):
    assert main(_argv(world, tmp_path / "run", *extra)) == 2
    err = capsys.readouterr().err.strip()
    assert msg in err and len(err.splitlines()) == 1


def test_init_refuses_a_missing_model_and_another_tokenizer(world, tmp_path, capsys):
    argv = _argv(world, tmp_path / "run")
    argv[argv.index("--init") + 1] = str(tmp_path / "nowhere")
    assert main(argv) == 2
    assert "nowhere" in capsys.readouterr().err
    other = tmp_path / "other"
    shutil.copytree(world["model"], other)
    with open(other / "world_model.json") as f:
        meta = json.load(f)
    base_fp, meta["tokenizer_fingerprint"] = meta["tokenizer_fingerprint"], "0123456789abcdef"
    with open(other / "world_model.json", "w") as f:
        json.dump(meta, f)
    argv[argv.index("--init") + 1] = str(other)
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert "not the one this model was trained on" in err and len(err.splitlines()) == 1
    meta["tokenizer_fingerprint"], meta["task"] = base_fp, "action2world"  # a robot model is not fine-tuned here
    with open(other / "world_model.json", "w") as f:
        json.dump(meta, f)
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert "an action2world model" in err and "--task action2world" in err and len(err.splitlines()) == 1


def _average_module():
    import importlib.util

    path = os.path.join(os.path.dirname(__file__), "..", "..", "scripts", "average_models.py")
    spec = importlib.util.spec_from_file_location("average_models", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_average_models_gives_the_mean_weights_and_refuses_another_network(world, tmp_path):
    from safetensors.torch import load_file, save_file

    avg = _average_module()
    a, b = world["model"], tmp_path / "b"
    shutil.copytree(a, b)
    wa = load_file(os.path.join(a, "model.safetensors"))
    save_file({k: v + 1.0 for k, v in wa.items()}, str(b / "model.safetensors"))
    # a field a newer version writes at its default (a fine-tune of an older model) is the same network
    diff = json.loads((b / "diffusion.json").read_text())
    diff.pop("read_loss", None)
    diff["read_fraction"] = 0.0
    (b / "diffusion.json").write_text(json.dumps(diff))
    meta = avg.average([a, str(b)], str(tmp_path / "soup"), [0.25, 0.75])
    soup = load_file(str(tmp_path / "soup" / "model.safetensors"))
    assert soup.keys() == wa.keys()
    for k, v in wa.items():
        torch.testing.assert_close(soup[k], v.float() + 0.75, atol=1e-6, rtol=0)
    assert [e["weight"] for e in meta["weights_average_of"]] == [0.25, 0.75]
    assert len({e["weights_sha256"] for e in meta["weights_average_of"]}) == 2
    assert meta["tokenizer_fingerprint"] == json.load(open(os.path.join(a, "world_model.json")))["tokenizer_fingerprint"]
    net = Denoiser.from_pretrained(tmp_path / "soup").net.state_dict()  # a model directory like any other
    assert net.keys() == soup.keys()
    for k, v in net.items():
        torch.testing.assert_close(v.float(), soup[k], atol=1e-6, rtol=0)
    # a shipped-style last source: tokenizer beside it ("../tok"), a mean decoder of its own
    shipped = tmp_path / "pre" / "wm"
    shutil.copytree(a, shipped)
    shutil.move(str(shipped / "tokenizer"), str(tmp_path / "pre" / "tok"))
    smeta = json.loads((shipped / "world_model.json").read_text())
    smeta.update(tokenizer="../tok", mean_decoder="mean_decoder.safetensors")
    (shipped / "world_model.json").write_text(json.dumps(smeta))
    (shipped / "mean_decoder.safetensors").write_bytes(b"x")
    out = tmp_path / "elsewhere" / "deeper" / "soup"
    os.makedirs(out.parent)
    meta2 = avg.average([str(b), str(shipped)], str(out))
    assert os.path.samefile(out / meta2["tokenizer"], tmp_path / "pre" / "tok")
    assert "mean_decoder" not in meta2 and not (out / "mean_decoder.safetensors").exists()
    # another network, an existing output, bad weights: one-line refusals, nothing written
    c = tmp_path / "c"
    shutil.copytree(a, c)
    cfg = json.loads((c / "config.json").read_text())
    cfg["depth"] = cfg.get("depth", 2) + 1
    (c / "config.json").write_text(json.dumps(cfg))
    with pytest.raises(SystemExit, match="config.json differs"):
        avg.average([a, str(c)], str(tmp_path / "soup2"))
    d = tmp_path / "d2"  # another diffusion setting than the default: another model
    shutil.copytree(b, d)
    (d / "diffusion.json").write_text(json.dumps(dict(diff, read_fraction=0.5)))
    with pytest.raises(SystemExit, match="diffusion.json differs"):
        avg.average([a, str(d)], str(tmp_path / "soup2"))
    assert not (tmp_path / "soup2").exists() and not (tmp_path / "soup2.tmp").exists()
    with pytest.raises(SystemExit, match="already exists"):
        avg.average([a, str(b)], str(tmp_path / "soup"))
    with pytest.raises(SystemExit, match="summing to 1"):
        avg.average([a, str(b)], str(tmp_path / "soup3"), [0.5, 0.6])
    with pytest.raises(SystemExit, match="comma-separated numbers"):
        avg.main([a, str(b), "--out", str(tmp_path / "soup3"), "--weights", "half,half"])
    d = tmp_path / "d"  # same network, another text-encoder length: another model
    shutil.copytree(a, d)
    dmeta = json.loads((d / "world_model.json").read_text())
    dmeta["text_max_length"] = 99
    (d / "world_model.json").write_text(json.dumps(dmeta))
    with pytest.raises(SystemExit, match="text_max_length"):
        avg.average([a, str(d)], str(tmp_path / "soup3"))
    assert not (tmp_path / "soup3").exists()
