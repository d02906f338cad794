"""Prompt upsampler: caption index stored with a model, retrieval + composition, switches, LLM path."""

import json

import pytest
import torch

from worldsmith.cli import main
from worldsmith.text import PromptUpsampler, TextEncoder, UpsamplerConfig, build_caption_index, load_caption_index
from worldsmith.utils.errors import WorldsmithError

CAPTIONS = [
    "A red ball rolls down a wooden ramp in a bright laboratory. The ball gains speed as it descends and "
    "bounces once on the grey floor. The camera is static and the lighting is even and soft.",
    "A robot arm with a two-finger gripper picks up a blue cube from a white table and places it on top of a "
    "green cube. The motion is slow and precise. The camera looks down at the table from a fixed angle.",
    "A white delivery van drives through a rainy city intersection at dusk. Headlights reflect on the wet "
    "asphalt while pedestrians wait at the crossing. The camera follows the van from behind.",
    "Two robotic arms hand a coffee cup to a woman across an office counter. She reaches out and takes the "
    "cup from the gripper. The camera remains static throughout, focusing on the exchange.",
]


@pytest.fixture(scope="module")
def enc():
    return TextEncoder()


@pytest.fixture(scope="module")
def model_dir(enc, tmp_path_factory):
    d = tmp_path_factory.mktemp("model")
    build_caption_index(CAPTIONS + [CAPTIONS[0], "  "], str(d), enc)  # duplicates and blanks dropped
    return str(d)


def test_index_roundtrip(model_dir, enc):
    caps, emb, name = load_caption_index(model_dir)
    assert caps == CAPTIONS and name == enc.name
    assert emb.shape == (4, enc.dim)
    assert torch.allclose(emb, enc.embed(CAPTIONS), atol=2e-3)  # stored as float16


def test_retrieval_upsampling(model_dir, enc):
    up = PromptUpsampler(index_dir=model_dir, encoder=enc)
    r = up.upsample("a robot gives a cup to a woman")
    assert r.method == "retrieval"
    assert r.upsampled.startswith("A robot gives a cup to a woman.")
    assert len(r.upsampled.split()) > 2 * len(r.prompt.split())
    assert r.neighbours[0]["caption"] == CAPTIONS[3]  # the hand-over caption is the nearest
    sims = [n["similarity"] for n in r.neighbours]
    assert sims == sorted(sims, reverse=True)
    json.dumps(r.to_dict())


def test_composition_avoids_contradictions(model_dir, enc):
    r = PromptUpsampler(index_dir=model_dir, encoder=enc).upsample("a green ball rolls down a ramp")
    added = r.upsampled[len("A green ball rolls down a ramp."):]
    assert added.strip()
    assert "red" not in added and "blue" not in added and "white" not in added


def test_switches(model_dir, enc):
    off = PromptUpsampler(UpsamplerConfig(enabled=False), index_dir=model_dir, encoder=enc).upsample("a cube")
    assert (off.method, off.upsampled) == ("off", "a cube")
    long = " ".join(["word"] * 50)
    assert PromptUpsampler(index_dir=model_dir, encoder=enc).upsample(long).method == "kept"


def test_llm_method_with_a_local_model(model_dir, enc, tmp_path):
    transformers = pytest.importorskip("transformers")
    from worldsmith.text import default_model_dir

    torch.manual_seed(0)
    cfg = transformers.LlamaConfig(vocab_size=30522, hidden_size=32, intermediate_size=64, num_hidden_layers=1,
                                   num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=1024)
    transformers.LlamaForCausalLM(cfg).save_pretrained(tmp_path)
    transformers.AutoTokenizer.from_pretrained(default_model_dir(), local_files_only=True).save_pretrained(tmp_path)
    up = PromptUpsampler(UpsamplerConfig(method="llm", llm_path=str(tmp_path), max_new_tokens=6),
                         index_dir=model_dir, encoder=enc)
    r = up.upsample("a robot gives a cup to a woman")
    # an untrained model writes nonsense, but the path runs; an empty reply falls back to retrieval
    assert r.method in ("llm", "retrieval") and r.upsampled


def test_bad_inputs(tmp_path, enc, model_dir):
    with pytest.raises(WorldsmithError, match="caption index not found"):
        PromptUpsampler(index_dir=str(tmp_path), encoder=enc)
    with pytest.raises(WorldsmithError, match="no non-empty captions"):
        build_caption_index(["", " "], str(tmp_path), enc)
    with pytest.raises(WorldsmithError, match="upsampler.method"):
        PromptUpsampler(UpsamplerConfig(method="magic"), index_dir=model_dir, encoder=enc)
    with pytest.raises(WorldsmithError, match="llm_path: required"):
        PromptUpsampler(UpsamplerConfig(method="llm"), index_dir=model_dir, encoder=enc).upsample("a cube")


def test_cli_index_and_upsample(tmp_path, capsys):
    caps = tmp_path / "caps.txt"
    caps.write_text("\n".join(CAPTIONS) + "\n")
    assert main(["text", "index", str(caps), "--out", str(tmp_path / "m")]) == 0
    assert main(["text", "upsample", "a van drives in the rain", "--index", str(tmp_path / "m"),
                 "--json", str(tmp_path / "u.json")]) == 0
    assert "upsampled (retrieval): A van drives in the rain." in capsys.readouterr().out
    assert json.loads((tmp_path / "u.json").read_text())["neighbours"][0]["caption"] == CAPTIONS[2]
