"""LLM guard adapter: reply parsing, and a real (tiny, randomly initialised) local causal LM end to end."""

import pytest

from worldsmith.guardrails import GuardrailConfig, Guardrails
from worldsmith.guardrails.llm_guard import LLMGuard, parse_guard_reply
from worldsmith.text import default_model_dir
from worldsmith.utils.errors import WorldsmithError


@pytest.mark.parametrize("reply,want", [
    ("safe", (False, None)),
    ("\n\nunsafe\nS1", (True, "violence")),
    ("unsafe\nS11,S1", (True, "self_harm")),
    ("unsafe\nS4", (True, "minors")),
    ("Safety: Unsafe\nCategories: Sexual Content or Sexual Acts", (True, "sexual")),
    ("Safety: Safe\nCategories: None", (False, None)),
    ("unsafe", (True, "other")),
    ("I cannot help with that", (None, None)),
])
def test_parse_guard_reply(reply, want):
    assert parse_guard_reply(reply) == want


@pytest.fixture(scope="module")
def tiny_lm(tmp_path_factory):
    transformers = pytest.importorskip("transformers")
    import torch

    d = tmp_path_factory.mktemp("tiny_guard")
    torch.manual_seed(0)
    cfg = transformers.LlamaConfig(vocab_size=30522, hidden_size=32, intermediate_size=64, num_hidden_layers=2,
                                   num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=1024)
    transformers.LlamaForCausalLM(cfg).save_pretrained(d)
    transformers.AutoTokenizer.from_pretrained(default_model_dir(), local_files_only=True).save_pretrained(d)
    return str(d)


def test_local_llm_guard_runs_and_fails_closed(tiny_lm, encoder):
    g = LLMGuard(tiny_lm, max_new_tokens=4)
    unsafe, cat, reply = g.check("a robot stacks cubes")
    assert isinstance(reply, str)
    assert unsafe == parse_guard_reply(reply)[0]
    # wired into Guardrails: an untrained model's reply is not a verdict -> refused when fail_closed
    cfg = GuardrailConfig()
    cfg.llm_guard.enabled, cfg.llm_guard.path, cfg.llm_guard.max_new_tokens = True, tiny_lm, 4
    d = Guardrails(cfg, encoder=encoder).check_prompt("a robot stacks cubes")
    llm = [c for c in d.checks if c["check"] == "llm_guard"][0]
    assert "reply" in llm
    if llm["parsed"] is None:
        assert not d.allowed and d.category == "unparsed_guard_reply"
        cfg.llm_guard.fail_closed = False
        assert Guardrails(cfg, encoder=encoder).check_prompt("a robot stacks cubes").allowed


def test_bad_llm_path(tmp_path, encoder):
    with pytest.raises(WorldsmithError, match="llm_guard.path"):
        LLMGuard(str(tmp_path / "missing"))
    cfg = GuardrailConfig()
    cfg.llm_guard.enabled = True
    with pytest.raises(WorldsmithError, match="llm_guard.path: required"):
        Guardrails(cfg, encoder=encoder).check_prompt("a robot stacks cubes")
