"""Causal tokenizer: shapes for every preset, causality, image path, chunking, tiling, FSQ,
save/load, bad inputs. Tiny widths on small frames so that it all runs on CPU in seconds."""

import numpy as np
import pytest
import torch

from worldsmith.tokenizer import (CausalVideoTokenizer, FSQ, TokenizerConfig, decode_video, encode_video,
                                  preset, preset_names)
from worldsmith.tokenizer.inference import _tiled
from worldsmith.utils.errors import WorldsmithError


def tiny(kind="cv", t=4, s=8, **kw):
    cfg = TokenizerConfig(kind=kind, temporal_compression=t, spatial_compression=s, channels=8,
                          channel_mult=(1, 2, 2), num_res_blocks=1, latent_channels=4,
                          fsq_levels=(3, 4, 5), **kw)
    torch.manual_seed(0)
    return CausalVideoTokenizer(cfg).eval()


@pytest.mark.parametrize("name", preset_names())
def test_every_preset_shapes_on_meta(name):
    cfg = preset(name)
    with torch.device("meta"):
        m = CausalVideoTokenizer(cfg)
        x = torch.empty(1, 3, 1 + 2 * cfg.temporal_compression, 64, 64)
        z = m.encode_latent(x)
        y = m.decode_latent(z)
    assert tuple(z.shape[1:]) == cfg.latent_shape(x.shape[2], 64, 64)
    assert y.shape == x.shape


def test_shortcuts_are_on_in_the_tiny_presets_only():
    assert preset("cv4x8x8-tiny").shortcuts and preset("dv4x4x4-tiny").shortcuts
    assert not preset("cv4x8x8-small").shortcuts and not preset("cv4x8x8-base").shortcuts


def test_cosmos_example_shapes():
    # TOK README: 1x3x9x512x512 -> CV4x8x8 latent 1x16x3x64x64, DV4x8x8 indices 1x3x64x64
    assert preset("cv4x8x8-base").latent_shape(9, 512, 512) == (16, 3, 64, 64)
    dv = preset("dv4x8x8-base")
    assert dv.latent_shape(9, 512, 512)[1:] == (3, 64, 64)
    assert FSQ(dv.fsq_levels).codebook_size == 64000


@pytest.mark.parametrize("kind,t,s,kw", [("cv", 4, 8, {}), ("cv", 8, 16, {}), ("dv", 8, 8, {}), ("cv", 4, 4, {}),
                                         ("cv", 4, 8, dict(shortcuts=True)),
                                         ("dv", 8, 16, dict(shortcuts=True))])
def test_causality_encoder_and_decoder(kind, t, s, kw):
    m = tiny(kind, t, s, **kw)
    x = torch.rand(1, 3, 1 + 3 * t, s * 2, s * 2) * 2 - 1
    z = m.encode_latent(x)
    x2 = x.clone()
    x2[:, :, 1 + t:] = torch.rand_like(x2[:, :, 1 + t:])  # change everything after latent frame 1
    z2 = m.encode_latent(x2)
    assert torch.equal(z[:, :, :2], z2[:, :, :2])
    assert not torch.allclose(z[:, :, 2:], z2[:, :, 2:])
    z3 = z.clone()
    z3[:, :, 2:] += 1.0
    y, y3 = m.decode_latent(z), m.decode_latent(z3)
    assert torch.equal(y[:, :, :1 + t], y3[:, :, :1 + t])
    assert not torch.allclose(y[:, :, 1 + t:], y3[:, :, 1 + t:])


def test_image_is_the_first_frame_of_a_video():
    m = tiny("cv", 8, 8)
    x = torch.rand(2, 3, 17, 16, 16) * 2 - 1
    z_img = m.encode(x[:, :, :1])
    assert z_img.shape[2] == 1
    torch.testing.assert_close(z_img, m.encode(x)[:, :, :1], atol=1e-5, rtol=0)
    assert m.decode(z_img).shape == (2, 3, 1, 16, 16)


@pytest.mark.parametrize("kind,t,s,kw", [("cv", 4, 8, {}), ("cv", 8, 8, {}), ("dv", 8, 16, {}),
                                         ("cv", 4, 8, dict(shortcuts=True))])
def test_chunked_equals_one_pass(kind, t, s, kw):
    m = tiny(kind, t, s, **kw)
    frames = np.random.default_rng(0).integers(0, 256, (1 + 5 * t, s, 2 * s, 3), dtype=np.uint8)
    z_one = encode_video(m, frames)
    z_chunk = encode_video(m, frames, chunk_frames=2 * t)
    if kind == "dv":
        assert torch.equal(z_one, z_chunk)
    else:
        torch.testing.assert_close(z_chunk, z_one, atol=1e-5, rtol=1e-5)
    # decoding: compare floats before the uint8 rounding
    m.streaming(True)
    parts = [m.decode(z_one.narrow(-3 if kind == "dv" else 2, a, n)) for a, n in ((0, 3), (3, 2), (5, 1))]
    m.streaming(False)
    torch.testing.assert_close(torch.cat(parts, 2), m.decode(z_one), atol=1e-5, rtol=1e-5)
    v = decode_video(m, z_one, chunk_frames=2 * t)
    assert v.shape == (1, 1 + 5 * t, s, 2 * s, 3)


def test_any_length_and_size_round_trip_shapes():
    m = tiny("cv", 4, 8)
    frames = np.random.default_rng(1).integers(0, 256, (11, 30, 45, 3), dtype=np.uint8)  # not 1+4k, not /8
    z = encode_video(m, frames)
    assert tuple(z.shape) == (1, 4, 4, 4, 6)  # padded to 13 frames, 32x48
    assert decode_video(m, z, frames=11, height=30, width=45).shape == (1, 11, 30, 45, 3)


def test_tiling_blend_is_exact_for_local_maps():
    x = torch.randn(1, 2, 3, 40, 56)
    torch.testing.assert_close(_tiled(lambda p: p, x, 16, 4, 1.0, 1.0), x)
    up = _tiled(lambda p: p.repeat_interleave(2, -1).repeat_interleave(2, -2), x, 16, 4, 1.0, 2.0)
    torch.testing.assert_close(up, x.repeat_interleave(2, -1).repeat_interleave(2, -2))
    m = tiny("cv", 4, 8)
    frames = np.random.default_rng(2).integers(0, 256, (1, 48, 64, 3), dtype=np.uint8)
    z_tiled = encode_video(m, frames, tile=32)
    assert z_tiled.shape == encode_video(m, frames).shape
    assert decode_video(m, z_tiled, tile=32).shape == (1, 1, 48, 64, 3)


def test_fsq_round_trip_and_gradient():
    q = FSQ((3, 4, 5))
    assert q.codebook_size == 60
    idx = torch.arange(60).view(1, 60)
    codes = q.indices_to_codes(idx)
    assert codes.shape == (1, 3, 60) and codes.abs().max() <= 1
    assert torch.equal(q.codes_to_indices(codes), idx)
    assert len({tuple(c) for c in codes[0].T.tolist()}) == 60  # every index its own code
    z = torch.randn(2, 3, 5, 7, requires_grad=True)
    out, ind = q(z)
    assert ind.shape == (2, 5, 7) and ind.min() >= 0 and ind.max() < 60
    assert torch.equal(q.indices_to_codes(ind), out.detach())
    out.sum().backward()
    assert z.grad is not None and z.grad.abs().sum() > 0
    m = tiny("dv", 4, 8)
    x = torch.rand(1, 3, 5, 16, 16) * 2 - 1
    tok = m.encode(x)
    assert tok.dtype == torch.int64 and tok.shape == (1, 2, 2, 2)
    assert m.decode(tok).shape == x.shape


def test_dcae_shortcuts_are_parameter_free_resamplings():
    from worldsmith.tokenizer.layers import channel_to_space_repeat, space_to_channel_mean

    x = torch.randn(2, 6, 3, 8, 10)
    # same width: the downsampling shortcut is a 2x2 average pool, the upsampling one nearest
    torch.testing.assert_close(space_to_channel_mean(x, 6),
                               torch.nn.functional.avg_pool3d(x, (1, 2, 2)))
    torch.testing.assert_close(channel_to_space_repeat(x, 6),
                               torch.nn.functional.interpolate(x, scale_factor=(1, 2, 2), mode="nearest"))
    # widening down / narrowing up: shapes, and a constant stays constant
    assert space_to_channel_mean(x, 12).shape == (2, 12, 3, 4, 5)
    assert channel_to_space_repeat(torch.ones(1, 12, 1, 2, 2), 6).eq(1).all()
    on, off = tiny("cv", 4, 8, shortcuts=True), tiny("cv", 4, 8)
    assert sum(p.numel() for p in on.parameters()) == sum(p.numel() for p in off.parameters())
    assert on.encoder.shortcut and on.decoder.repeat == 4 and not off.encoder.shortcut
    # and they change what the net computes (same weights, another output)
    off.load_state_dict(on.state_dict())
    x = torch.rand(1, 3, 5, 16, 16) * 2 - 1
    assert not torch.allclose(on.encode_latent(x), off.encode_latent(x))
    # a 3-code FSQ latent does not divide 16 features: only the spatial shortcuts are used there
    dv = tiny("dv", 4, 8, shortcuts=True)
    assert not dv.encoder.shortcut and not dv.decoder.repeat
    assert any(getattr(b, "shortcut", False) is True for b in dv.encoder.blocks)


def test_checkpoint_without_the_new_fields_loads_as_before(tmp_path):
    import json

    m = tiny("cv", 4, 8)
    m.save_pretrained(tmp_path / "tok")
    cfg_path = tmp_path / "tok" / "config.json"
    data = json.loads(cfg_path.read_text())
    data.pop("shortcuts")
    cfg_path.write_text(json.dumps(data))
    m2 = CausalVideoTokenizer.from_pretrained(tmp_path / "tok")
    assert not m2.cfg.shortcuts
    x = torch.rand(1, 3, 5, 16, 16) * 2 - 1
    torch.testing.assert_close(m2.encode(x), m.encode(x))


def test_save_load_round_trip(tmp_path):
    m = tiny("cv", 4, 8)
    m.latent_mean.fill_(0.5)
    m.latent_std.fill_(2.0)
    m.save_pretrained(tmp_path / "tok")
    m2 = CausalVideoTokenizer.from_pretrained(tmp_path / "tok")
    assert m2.cfg == m.cfg
    x = torch.rand(1, 3, 5, 16, 16) * 2 - 1
    torch.testing.assert_close(m2.encode(x), m.encode(x))
    assert float(m2.latent_std[0]) == 2.0


def test_bad_inputs(tmp_path):
    m = tiny("cv", 4, 8)
    with pytest.raises(WorldsmithError, match="1 \\+ k\\*4"):
        m.encode(torch.zeros(1, 3, 4, 16, 16))
    with pytest.raises(WorldsmithError, match="multiples of 8"):
        m.encode(torch.zeros(1, 3, 5, 12, 16))
    with pytest.raises(WorldsmithError, match="channels"):
        m.encode(torch.zeros(1, 1, 5, 16, 16))
    with pytest.raises(WorldsmithError, match="latent"):
        m.decode(torch.zeros(1, 3, 2, 2, 2))
    d = tiny("dv", 4, 8)
    with pytest.raises(WorldsmithError, match="indices"):
        d.decode(torch.zeros(1, 2, 2, 2))
    with pytest.raises(WorldsmithError, match="indices must lie"):
        d.decode(torch.full((1, 2, 2, 2), 60))
    with pytest.raises(WorldsmithError, match="preset"):
        preset("cv4x9x8-tiny")
    with pytest.raises(WorldsmithError, match="size"):
        preset("cv4x8x8-huge")
    with pytest.raises(WorldsmithError, match="not found"):
        CausalVideoTokenizer.from_pretrained(tmp_path / "missing")
    (tmp_path / "empty").mkdir()
    with pytest.raises(WorldsmithError, match="missing config.json"):
        CausalVideoTokenizer.from_pretrained(tmp_path / "empty")
    with pytest.raises(WorldsmithError, match="frames"):
        encode_video(m, np.zeros((5, 16, 16), np.uint8))
    with pytest.raises(WorldsmithError, match="--tile"):
        encode_video(m, np.zeros((5, 16, 16, 3), np.uint8), tile=12)
    with pytest.raises(WorldsmithError, match="--chunk-frames"):
        encode_video(m, np.zeros((5, 16, 16, 3), np.uint8), chunk_frames=2)


def _square_video(t=9, size=16):
    x = torch.full((1, 3, t, size, size), -0.6)
    for i in range(t):  # a bright square moving right, 1 px per frame
        x[:, :, i, 4:10, 2 + i:8 + i] = 0.8
    return x


@pytest.mark.parametrize("kw", [{}, dict(shortcuts=True)])
def test_refined_latent_is_better_causal_and_leaves_the_model_as_it_was(kw):
    from worldsmith.tokenizer.refine import refine_latent

    m = tiny("cv", 4, 8, **kw)
    x = _square_video()
    with torch.no_grad():
        z0 = m.encode_latent(x)
        err0 = (m.decode_latent(z0).clamp(-1, 1) - x).pow(2).mean().item()
    z = refine_latent(m, x, z0, steps=8)
    assert z.shape == z0.shape and not torch.equal(z, z0)
    with torch.no_grad():
        err = (m.decode_latent(z).clamp(-1, 1) - x).pow(2).mean().item()
    assert err < 0.9 * err0  # a clearly better fit to the same frozen decoder
    assert not m._stream and all(p.grad is None for p in m.parameters())  # no state or gradients left
    with torch.no_grad():
        assert torch.equal(m.encode_latent(x), z0)
    # causal: change every frame after latent frame 1 -> latent frames 0 and 1 refine the same
    x2 = x.clone()
    x2[:, :, 5:] = torch.rand_like(x2[:, :, 5:]) * 2 - 1
    with torch.no_grad():
        z02 = m.encode_latent(x2)
    z2 = refine_latent(m, x2, z02, steps=8)
    torch.testing.assert_close(z2[:, :, :2], z[:, :, :2], atol=1e-5, rtol=0)
    assert not torch.allclose(z2[:, :, 2:], z[:, :, 2:])
    # a batch refines each clip as it would alone
    zb = refine_latent(m, torch.cat([x, x2]), torch.cat([z0, z02]), steps=8)
    torch.testing.assert_close(zb, torch.cat([z, z2]), atol=1e-4, rtol=0)
    assert torch.equal(refine_latent(m, x, z0, steps=0), z0)


def test_refine_through_encode_video_and_its_errors():
    m = tiny("cv", 4, 8)
    frames = ((_square_video(t=7)[0].permute(1, 2, 3, 0) + 1) * 127.5).round().to(torch.uint8).numpy()
    z0 = encode_video(m, frames)
    z = encode_video(m, frames, refine_steps=5)
    assert z.shape == z0.shape  # normalised like the plain encode: decode reads it unchanged
    err = lambda zz: np.abs(decode_video(m, zz, frames=7).astype(int) - frames).mean()  # noqa: E731
    assert err(z) < err(z0)
    big = np.concatenate([frames, frames, frames], axis=2)  # 48 px wide: three 32 px tiles
    zt = encode_video(m, big, tile=32, refine_steps=2)
    assert zt.shape == encode_video(m, big).shape
    with pytest.raises(WorldsmithError, match="--refine.*--chunk-frames"):
        encode_video(m, frames, refine_steps=5, chunk_frames=4)
    with pytest.raises(WorldsmithError, match="--refine -1"):
        encode_video(m, frames, refine_steps=-1)
    with pytest.raises(WorldsmithError, match="only continuous"):
        encode_video(tiny("dv", 4, 8), frames, refine_steps=5)


def test_fingerprint_survives_fp16_shipping_and_tells_tokenizers_apart(tmp_path):
    from worldsmith.tokenizer.model import check_fingerprint

    m = tiny("cv", 4, 8)
    m.latent_std.fill_(1.5)
    fp = m.fingerprint()
    assert len(fp) == 16 and fp == m.fingerprint()
    m.save_pretrained(tmp_path / "tok")
    assert CausalVideoTokenizer.from_pretrained(tmp_path / "tok").fingerprint() == fp
    # the shipped copy: float16 weights, float32 statistics (scripts/ship_model.py)
    shipped = tiny("cv", 4, 8)
    shipped.load_state_dict({k: (v.half().float() if k not in ("latent_mean", "latent_std") else v)
                             for k, v in m.state_dict().items()})
    assert shipped.fingerprint() == fp
    other = tiny("cv", 4, 8)
    other.load_state_dict(m.state_dict())
    other.latent_mean.fill_(0.25)  # same weights, other statistics: another tokenizer
    assert other.fingerprint() != fp
    retrained = tiny("cv", 4, 8)
    retrained.load_state_dict(m.state_dict())
    with torch.no_grad():
        next(retrained.parameters()).add_(0.01)
    assert retrained.fingerprint() != fp

    check_fingerprint(m, {"tokenizer_fingerprint": fp}, "wm", "tok")
    check_fingerprint(m, {}, "wm", "tok")  # older models record none: not checked
    with pytest.raises(WorldsmithError, match=r"--model wm: the tokenizer at tok is not the one .*expected " + fp):
        check_fingerprint(other, {"tokenizer_fingerprint": fp}, "wm", "tok")


def test_shipped_models_reference_the_tokenizer_they_were_trained_on():
    """The shipped world and robot models share a tokenizer by relative path; shipping a new
    tokenizer without retraining them would silently change what their latents mean."""
    import json
    import os

    from worldsmith.quickstart import PRETRAINED

    models = [d for d in sorted(os.listdir(PRETRAINED)) if os.path.isfile(os.path.join(PRETRAINED, d, "world_model.json"))]
    assert {"world-model-dit-tiny-sim64", "robot-push-dit-tiny-sim64"} <= set(models)
    for name in models:
        meta = json.loads(open(os.path.join(PRETRAINED, name, "world_model.json"), encoding="utf-8").read())
        tok = CausalVideoTokenizer.from_pretrained(os.path.join(PRETRAINED, name, meta["tokenizer"]))
        assert meta.get("tokenizer_fingerprint") == tok.fingerprint(), name
