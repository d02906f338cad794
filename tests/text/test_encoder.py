"""TextEncoder on the real shipped MiniLM model (no mocks, no network)."""

import numpy as np
import pytest
import torch

from worldsmith.text import TextEncoder, default_model_dir
from worldsmith.utils.errors import WorldsmithError


@pytest.fixture(scope="module")
def enc():
    return TextEncoder(max_length=32)


def test_shapes_mask_and_dim(enc):
    hidden, mask = enc.encode_tokens(["a red ball rolls off a table", "hi"])
    assert hidden.shape == (2, 32, enc.dim) and enc.dim == 384
    assert mask.dtype == torch.bool and mask.shape == (2, 32)
    # "hi" is [CLS] hi [SEP] = 3 tokens; padding positions are zero
    assert mask[1].sum().item() == 3
    assert torch.all(hidden[1, 3:] == 0)
    assert mask[0].sum() > mask[1].sum()


def test_embed_normalised_and_semantic(enc):
    e = enc.embed(["a cat sits on a mat", "a kitten is sitting on a rug", "the stock market fell sharply"])
    assert e.shape == (3, 384)
    assert torch.allclose(e.norm(dim=-1), torch.ones(3), atol=1e-5)
    sims = e @ e.T
    assert sims[0, 1] > sims[0, 2] + 0.3


def test_matches_sentence_transformers(enc):
    # the reference implementation of all-MiniLM-L6-v2 pooling, loaded from the same folder
    st = pytest.importorskip("sentence_transformers")
    ref = st.SentenceTransformer(default_model_dir(), device="cpu", local_files_only=True)
    texts = ["a robot arm picks up a blue cube", "waves crash on the shore at sunset"]
    want = ref.encode(texts, normalize_embeddings=True)
    got = enc.embed(texts).numpy()
    assert np.allclose(got, want, atol=1e-4)


def test_cache_is_used_and_consistent(enc):
    enc.clear_cache()
    a = enc.embed(["one caption", "another caption"])
    assert len(enc._cache) == 2
    b = enc.embed(["another caption", "one caption", "one caption"])
    assert len(enc._cache) == 2
    assert torch.allclose(a[0], b[1]) and torch.allclose(a[0], b[2]) and torch.allclose(a[1], b[0])
    # batched and single encodes agree (padding does not leak into the result)
    enc.clear_cache()
    single = enc.embed(["another caption"])
    assert torch.allclose(single[0], a[1], atol=1e-5)


def test_to_device_roundtrip(enc):
    enc.to("cpu")
    assert next(enc.model.parameters()).device.type == "cpu"
    assert enc.embed([]).shape == (0, 384)


def test_bad_inputs(tmp_path):
    with pytest.raises(WorldsmithError, match="not found.*nope"):
        TextEncoder(str(tmp_path / "nope"))
    with pytest.raises(WorldsmithError, match="no config.json"):
        TextEncoder(str(tmp_path))
    (tmp_path / "config.json").write_text("{not json")
    with pytest.raises(WorldsmithError, match=str(tmp_path)):
        TextEncoder(str(tmp_path))
    enc = TextEncoder.__new__(TextEncoder)
    with pytest.raises(WorldsmithError, match="list of strings"):
        TextEncoder._check_texts(enc, "a string")


def test_local_t5_style_encoder_dir(tmp_path):
    """A local encoder-decoder checkpoint (T5-style) loads by path and only its encoder runs."""
    transformers = pytest.importorskip("transformers")
    cfg = transformers.T5Config(vocab_size=30522, d_model=32, d_kv=8, d_ff=64, num_layers=2,
                                num_decoder_layers=1, num_heads=4)
    torch.manual_seed(0)
    transformers.T5ForConditionalGeneration(cfg).save_pretrained(tmp_path)
    # reuse the shipped WordPiece tokenizer so the test needs no sentencepiece model download
    transformers.AutoTokenizer.from_pretrained(default_model_dir(), local_files_only=True).save_pretrained(tmp_path)
    enc = TextEncoder(str(tmp_path), max_length=16)
    assert enc.dim == 32 and enc.name == tmp_path.name
    hidden, mask = enc.encode_tokens(["a box slides down a ramp"])
    assert hidden.shape == (1, 16, 32) and mask[0].sum() > 2
    assert type(enc.model).__name__ == "T5EncoderModel"
