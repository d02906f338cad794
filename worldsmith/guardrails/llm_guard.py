"""Adapter for a local LLM safety guard (Llama Guard 3, Qwen3Guard, ...) loaded by path with transformers.

Cosmos runs Llama-Guard-3-8B (Predict2) or Qwen3Guard-Gen-0.6B (Predict2.5) after the
blocklist. Nothing is downloaded: `path` must be a local Hugging Face directory. The model's
own chat template formats the conversation when it has one; otherwise the Llama Guard prompt
below is used. The reply is parsed for "safe"/"unsafe" and category codes.
"""

from __future__ import annotations

import os
import re

from ..utils.errors import WorldsmithError

# Llama Guard 3 hazard codes -> worldsmith categories (others map to "other")
LLAMA_GUARD_CODES = {"S1": "violence", "S2": "weapons_illegal", "S3": "sexual", "S4": "minors",
                     "S5": "hate", "S6": "weapons_illegal", "S9": "weapons_illegal", "S10": "hate",
                     "S11": "self_harm", "S12": "sexual"}
# Qwen3Guard category names -> worldsmith categories
NAMED = {"violent": "violence", "sexual content": "sexual", "sexual": "sexual", "suicide": "self_harm",
         "self-harm": "self_harm", "non-violent illegal acts": "weapons_illegal", "weapons": "weapons_illegal",
         "hate": "hate", "discrimination": "hate", "child": "minors", "minors": "minors"}

FALLBACK_TEMPLATE = (
    "Task: Check if there is unsafe content in 'User' messages in conversations according to our safety "
    "policy with the below categories.\n<BEGIN UNSAFE CONTENT CATEGORIES>\nS1: Violent Crimes.\n"
    "S2: Non-Violent Crimes.\nS3: Sex Crimes.\nS4: Child Exploitation.\nS9: Indiscriminate Weapons.\n"
    "S10: Hate.\nS11: Self-Harm.\nS12: Sexual Content.\n<END UNSAFE CONTENT CATEGORIES>\n\n"
    "<BEGIN CONVERSATION>\n\nUser: {prompt}\n\n<END CONVERSATION>\n\nProvide your safety assessment for "
    "ONLY THE LAST User message in the above conversation:\n- First line must read 'safe' or 'unsafe'.\n"
    "- If unsafe, a second line must include a comma-separated list of violated categories.\n")


def parse_guard_reply(text: str) -> tuple[bool | None, str | None]:
    """("unsafe\\nS1,S10" -> (True, "violence")); None verdict when the reply says neither."""
    low = text.strip().lower()
    m = re.search(r"safety:\s*(safe|unsafe|controversial)", low)
    verdict = m.group(1) if m else (low.split()[0].strip(".,:") if low.split() else "")
    if verdict == "safe":
        return False, None
    if verdict not in ("unsafe", "controversial"):
        return None, None
    code = re.search(r"\bs(\d{1,2})\b", low)
    if code and f"S{code.group(1)}" in LLAMA_GUARD_CODES:
        return True, LLAMA_GUARD_CODES[f"S{code.group(1)}"]
    for name, cat in NAMED.items():
        if name in low:
            return True, cat
    return True, "other"


class LLMGuard:
    """A local causal-LM guard. `check(prompt) -> (unsafe | None, category | None, raw reply)`."""

    def __init__(self, path: str, device: str = "cpu", max_new_tokens: int = 24):
        from transformers import AutoModelForCausalLM, AutoTokenizer

        if not path or not os.path.isdir(path):
            raise WorldsmithError(f"llm_guard.path: not a local model directory: {path}")
        try:
            self.tokenizer = AutoTokenizer.from_pretrained(path, local_files_only=True)
            self.model = AutoModelForCausalLM.from_pretrained(path, local_files_only=True)
        except (OSError, ValueError, KeyError) as e:
            raise WorldsmithError(f"llm_guard.path {path}: cannot load ({str(e).strip().splitlines()[0]})") from None
        self.model.eval().requires_grad_(False)
        self.path, self.max_new_tokens = path, max_new_tokens
        self.to(device)

    def to(self, device) -> LLMGuard:
        """Move the model (offload to CPU between uses)."""
        from ..utils.device import resolve_device

        self.device = resolve_device(device)
        self.model.to(self.device)
        return self

    def _inputs(self, prompt: str):
        if getattr(self.tokenizer, "chat_template", None):
            ids = self.tokenizer.apply_chat_template([{"role": "user", "content": prompt}],
                                                     add_generation_prompt=True, return_tensors="pt",
                                                     return_dict=True)
            return {k: v.to(self.device) for k, v in ids.items()}
        enc = self.tokenizer(FALLBACK_TEMPLATE.format(prompt=prompt), return_tensors="pt")
        return {k: v.to(self.device) for k, v in enc.items() if k in ("input_ids", "attention_mask")}

    def check(self, prompt: str) -> tuple[bool | None, str | None, str]:
        """Greedy-decode the guard's verdict for one user prompt."""
        import torch

        inputs = self._inputs(prompt)
        with torch.no_grad():
            out = self.model.generate(**inputs, max_new_tokens=self.max_new_tokens, do_sample=False,
                                      pad_token_id=self.tokenizer.pad_token_id or self.tokenizer.eos_token_id)
        reply = self.tokenizer.decode(out[0, inputs["input_ids"].shape[1]:], skip_special_tokens=True)
        unsafe, cat = parse_guard_reply(reply)
        return unsafe, cat, reply
