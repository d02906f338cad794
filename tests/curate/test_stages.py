"""Stages 2-5 on real frames: transcode, filter scores, captions, embeddings and SemDeDup."""

from __future__ import annotations

import json
import os

import cv2
import numpy as np
import pytest

from worldsmith.curate.captions import (MetadataCaptioner, VLMCaptioner, caption_batches, filename_caption)
from worldsmith.curate.config import CaptionConfig, FilterConfig, TranscodeConfig
from worldsmith.curate.dedup import kmeans, semdedup
from worldsmith.curate.embed import BuiltinEmbedder
from worldsmith.curate.filters import ClipAnalyzer, drop_reasons, quality_scores, text_mask
from worldsmith.curate.transcode import transcode_clip
from worldsmith.io import iter_frames, probe_video, read_video
from worldsmith.utils.errors import WorldsmithError


def _scores(path, start, end, size=256):
    info = probe_video(path)
    a = ClipAnalyzer(info.fps)
    for _, _, f in iter_frames(path, start_s=start, end_s=end, size=size):
        a.add(f)
    return a.scores()


# ---------------------------------------------------------------- transcode
def test_transcode_single_keyframe_source_is_frame_accurate(videos, tmp_path):
    # test_video_30s has ONE keyframe: a stream copy could not start at 12 s; a re-encode must
    src = os.path.join(videos, "cosmos-curate/test_video_30s.mp4")
    seen = []
    out = transcode_clip(src, 12.0, 13.0, tmp_path / "c.mp4", TranscodeConfig(size=160, preset="ultrafast"),
                         src_fps=24.0, src_hw=(480, 854), on_frame=seen.append)
    assert out == {"frames": 24, "fps": 24.0, "height": 160, "width": 284} and len(seen) == 24
    ref = read_video(src, start_s=12.0, end_s=13.0, size=160).frames
    got = read_video(tmp_path / "c.mp4").frames
    assert got.shape == ref.shape
    psnr = 10 * np.log10(255 ** 2 / np.mean((got.astype(float) - ref.astype(float)) ** 2))
    assert psnr > 30, psnr
    assert probe_video(tmp_path / "c.mp4").codec == "h264"


def test_transcode_fps_and_hevc_input(videos, tmp_path):
    src = os.path.join(videos, "cosmos-transfer1/example1_input_video.mp4")  # HEVC, 30 fps
    out = transcode_clip(src, 0.0, 2.0, tmp_path / "r.mp4", TranscodeConfig(size=120, fps=10, preset="ultrafast"),
                         src_fps=30.0, src_hw=(480, 640))
    assert out["fps"] == 10 and out["frames"] == 20 and (out["height"], out["width"]) == (120, 160)
    info = probe_video(tmp_path / "r.mp4")
    assert info.num_frames == 20 and abs(info.fps - 10) < 1e-6


# ---------------------------------------------------------------- filters
def test_motion_separates_still_photo_from_action(videos):
    still = _scores(os.path.join(videos, "pyscenedetect/testvideo.mp4"), 8.0, 11.0)
    action = _scores(os.path.join(videos, "cosmos-curate/test_clip_10s.mp4"), 0.0, 3.0)
    robot = _scores(os.path.join(videos, "cosmos-transfer1/example1_input_video.mp4"), 0.0, 3.0)
    assert still["motion"] < 1e-4 < 2e-4 < robot["motion"] < action["motion"]
    cfg = FilterConfig()
    assert any(r.startswith("motion") for r in drop_reasons(still, {"height": 480, "width": 854}, cfg))
    assert drop_reasons(robot, {"height": 480, "width": 640}, cfg) == []
    shaky = drop_reasons({**robot, "motion": 0.2}, {"height": 480, "width": 640}, cfg)
    assert shaky == ["motion: 0.2 > 0.05"]


def test_quality_scores_respond_to_blur_exposure_and_noise(videos):
    frame = read_video(os.path.join(videos, "cosmos-transfer1/example1_input_video.mp4"), frame_indices=[30],
                       size=256).frames[0]
    gray = cv2.cvtColor(frame, cv2.COLOR_RGB2GRAY)
    base = quality_scores(gray)
    blurred = quality_scores(cv2.GaussianBlur(gray, (0, 0), 3))
    dark = quality_scores((gray * 0.05).astype(np.uint8))
    noisy = quality_scores(np.clip(gray + np.random.default_rng(0).normal(0, 15, gray.shape), 0, 255).astype(np.uint8))
    assert blurred["sharpness"] < base["sharpness"] / 5
    assert dark["brightness"] < 0.03 < base["brightness"] and dark["contrast"] < base["contrast"]
    assert 10 < noisy["noise"] < 20 and base["noise"] < 5  # sigma 15 added
    reasons = drop_reasons({**dark, "motion": 0.001}, {"height": 256, "width": 341}, FilterConfig())
    assert any(r.startswith("brightness") for r in reasons)


def test_text_overlay_found_on_burned_in_text(videos):
    counter = _scores(os.path.join(videos, "pyscenedetect/counter.mp4"), 0.0, 3.0, size=360)
    robot = _scores(os.path.join(videos, "cosmos-transfer1/example1_input_video.mp4"), 0.0, 3.0, size=360)
    assert counter["text"] > 0.01 > robot["text"]
    f = read_video(os.path.join(videos, "pyscenedetect/counter.mp4"), frame_indices=[5], size=360).frames[0]
    m = text_mask(cv2.cvtColor(f, cv2.COLOR_RGB2GRAY))
    assert m[m.shape[0] // 2:, m.shape[1] // 2:].mean() > m[: m.shape[0] // 2, : m.shape[1] // 2].mean()
    assert drop_reasons(counter, {"height": 1080, "width": 1920}, FilterConfig(text_max=0.01, motion_min=None))[0] \
        .startswith("text")


def test_min_resolution():
    why = drop_reasons({}, {"height": 48, "width": 64}, FilterConfig())
    assert why == ["resolution: 64x48 below 64x64"]


# ---------------------------------------------------------------- captions
def test_metadata_captions(videos, tmp_path):
    (tmp_path / "kitchen_robotArm02.mp4").write_bytes(b"x")
    (tmp_path / "with_side.mp4").write_bytes(b"x")
    (tmp_path / "with_side.txt").write_text("  a red ball\n rolls  ")
    cap = MetadataCaptioner()
    batch = [{"source": str(tmp_path / n), "frames": []} for n in ("kitchen_robotArm02.mp4", "with_side.mp4")]
    batch.append({"source": os.path.join(videos, "cosmos-transfer1/example1_input_video.mp4"), "frames": []})
    got = caption_batches(cap, batch, batch_size=2)
    # the prompt files beside the robot clip name it (input_video_path); the first by name is used
    ref = " ".join(json.load(open(os.path.join(videos, "cosmos-transfer1/example1_prompt_long.json")))["prompt"].split())
    assert got == [("kitchen robot arm 02", "metadata"), ("a red ball rolls", "metadata"), (ref, "metadata")]
    assert filename_caption("/x/clip-007_take2.MOV") == "clip 007 take 2"


def test_caption_batches_calls_in_batches():
    class Counting:
        name = "counting"
        sizes: list[int] = []

        def caption(self, batch):
            self.sizes.append(len(batch))
            return [f"clip {i}" for i in range(len(batch))]

    c = Counting()
    out = caption_batches(c, [{"source": "a"}] * 7, batch_size=3)
    assert c.sizes == [3, 3, 1] and out[-1] == ("clip 0", "counting")


def test_vlm_captioner_needs_a_local_model(tmp_path):
    with pytest.raises(WorldsmithError, match="captions.model_path"):
        VLMCaptioner(CaptionConfig(captioner="vlm", model_path=str(tmp_path / "missing")))


# ---------------------------------------------------------------- embeddings + dedup
def test_builtin_embedding_finds_the_same_footage(videos):
    emb = BuiltinEmbedder()
    full = os.path.join(videos, "cosmos-curate/test_video_30s.mp4")
    part = os.path.join(videos, "cosmos-curate/test_clip_10s.mp4")  # frames 72-311 of `full`, re-encoded

    def e(path, a, b):
        return emb.embed([f for _, _, f in iter_frames(path, start_s=a, end_s=b, fps=2, size=128)])

    same = float(e(full, 4.0, 8.0) @ e(part, 1.0, 5.0))      # the same 4 s in both files
    other_shot = float(e(full, 4.0, 8.0) @ e(full, 22.0, 26.0))
    assert same > 0.99 and other_shot < 0.95


def test_kmeans_and_semdedup():
    rng = np.random.default_rng(0)
    centres = rng.normal(size=(3, 16))
    x = np.concatenate([c + 0.05 * rng.normal(size=(5, 16)) for c in centres])
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    labels, _ = kmeans(x, 3, seed=0)
    assert len(set(labels[:5])) == len(set(labels[5:10])) == len(set(labels[10:])) == 1
    assert len(set(labels)) == 3
    # 4 clips: b is a near copy of a (shorter: a is kept), c and d are different
    e = rng.normal(size=(4, 32))
    e[1] = e[0] + 0.01 * rng.normal(size=32)
    keys, durs = ["a", "b", "c", "d"], [5.0, 3.0, 4.0, 4.0]
    out = semdedup(e, keys, durs, n_clusters=2, eps=0.01)
    assert [k for k in keys if out[k]["keep"]] == ["a", "c", "d"] and out["b"]["duplicate_of"] == "a"
    perm = [3, 1, 0, 2]  # input order does not matter
    out2 = semdedup(e[perm], [keys[i] for i in perm], [durs[i] for i in perm], n_clusters=2, eps=0.01)
    assert out2 == out


@pytest.mark.slow  # importing transformers takes ~10-20 s on a loaded machine
def test_local_hf_vision_model_as_embedder(tmp_path, videos):
    # a tiny randomly initialised CLIP vision tower saved locally: the "any local model by path" route
    transformers = pytest.importorskip("transformers")
    from worldsmith.curate.embed import get_embedder

    cfg = transformers.CLIPVisionConfig(hidden_size=32, intermediate_size=64, num_hidden_layers=1,
                                        num_attention_heads=2, image_size=32, patch_size=8)
    transformers.CLIPVisionModel(cfg).save_pretrained(tmp_path / "m")
    transformers.CLIPImageProcessor(size={"shortest_edge": 32}, crop_size={"height": 32, "width": 32}) \
        .save_pretrained(tmp_path / "m")
    emb = get_embedder(str(tmp_path / "m"))
    frames = [f for _, _, f in iter_frames(os.path.join(videos, "pyscenedetect/counter.mp4"), fps=2, size=64)]
    a, b = emb.embed(frames[:3]), emb.embed(frames[:3])
    assert a.shape == (32,) and abs(float(np.linalg.norm(a)) - 1) < 1e-5 and np.allclose(a, b)
    with pytest.raises(WorldsmithError, match="dedup.embedder"):
        get_embedder(str(tmp_path / "missing"))


def _tiny_vlm(path) -> None:
    """A randomly initialised 2-layer LLaVA with a word-level tokenizer, saved to `path` (offline)."""
    from tokenizers import Tokenizer, models, pre_tokenizers
    from transformers import (CLIPImageProcessor, CLIPVisionConfig, LlamaConfig, LlavaConfig,
                              LlavaForConditionalGeneration, LlavaProcessor, PreTrainedTokenizerFast)

    words = ["<pad>", "<s>", "</s>", "<unk>", "<image>", "USER:", "ASSISTANT:", "describe", "this", "video", "clip",
             "in", "one", "sentence.", "a", "robot", "arm", "cup"]
    tok = Tokenizer(models.WordLevel({w: i for i, w in enumerate(words)}, unk_token="<unk>"))
    tok.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
    ft = PreTrainedTokenizerFast(tokenizer_object=tok, pad_token="<pad>", bos_token="<s>", eos_token="</s>",
                                 unk_token="<unk>", additional_special_tokens=["<image>"])
    template = ("{% for m in messages %}USER: {% for c in m['content'] %}{% if c['type'] == 'image' %}<image> "
                "{% else %}{{ c['text'] }} {% endif %}{% endfor %}{% endfor %}"
                "{% if add_generation_prompt %}ASSISTANT:{% endif %}")
    proc = LlavaProcessor(image_processor=CLIPImageProcessor(size={"shortest_edge": 16},
                                                             crop_size={"height": 16, "width": 16}),
                          tokenizer=ft, patch_size=8, chat_template=template, num_additional_image_tokens=1,
                          vision_feature_select_strategy="default")
    cfg = LlavaConfig(
        vision_config=CLIPVisionConfig(hidden_size=16, intermediate_size=32, num_hidden_layers=2,
                                       num_attention_heads=2, image_size=16, patch_size=8),
        text_config=LlamaConfig(vocab_size=len(words), hidden_size=16, intermediate_size=32, num_hidden_layers=1,
                                num_attention_heads=2, num_key_value_heads=2, max_position_embeddings=64,
                                pad_token_id=0, bos_token_id=1, eos_token_id=2),
        image_token_index=4, vision_feature_layer=-1)
    import torch

    torch.manual_seed(0)  # deterministic random weights, hence a deterministic caption
    LlavaForConditionalGeneration(cfg).save_pretrained(path)
    proc.save_pretrained(path)


@pytest.mark.slow  # importing transformers takes ~10-20 s on a loaded machine
def test_local_vlm_captioner_in_the_pipeline(tmp_path, input_dir, make_config):
    pytest.importorskip("transformers")
    pytest.importorskip("tokenizers")
    from worldsmith.curate.pipeline import curate
    from worldsmith.data import read_manifest

    _tiny_vlm(tmp_path / "tinyvlm")
    cfg = make_config(captions={"captioner": "vlm", "model_path": str(tmp_path / "tinyvlm"), "max_new_tokens": 4,
                                "prompt": "describe this video clip in one sentence."})
    curate([os.path.join(input_dir, "robot.mp4")], str(tmp_path / "out"), cfg)
    rows = read_manifest(tmp_path / "out")
    assert len(rows) == 1
    words = rows[0]["caption"].split()
    vocab = {"USER:", "ASSISTANT:", "describe", "this", "video", "clip", "in", "one", "sentence.", "a", "robot",
             "arm", "cup"}
    assert 1 <= len(words) <= 4 and set(words) <= vocab  # random weights: words of the tiny vocabulary
    assert json.loads(rows[0]["meta_json"])["captioner"] == "vlm:tinyvlm"
