"""Prompt upsampler: rewrite a short prompt in the detailed style of the model's training captions.

Two methods, both local:
- "retrieval" (built in): the model directory holds a caption index, the training captions
  and their MiniLM embeddings (`caption_index.json` + `caption_index.safetensors`, written by
  `build_caption_index` when the model is trained). The prompt is embedded, its nearest
  captions are found, and the result is composed: the user's prompt first (so every object
  and action the user asked for stays), then the neighbours' sentences most similar to the
  prompt (setting, motion, camera, lighting), skipping near-duplicates, until the result
  is about as long as a typical training caption.
- "llm": any local instruct LLM directory (transformers), prompted with the nearest
  captions as style examples; falls back to retrieval when the reply is empty.

Cosmos-Predict1 upsamples text-only prompts by default with a 12B model; here it is on by
default for text-only prompts too, shown to the user, and switchable off (`enabled=False`).
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass, field

import torch

from ..utils.errors import WorldsmithError

INDEX_JSON = "caption_index.json"
INDEX_WEIGHTS = "caption_index.safetensors"


@dataclass
class UpsamplerConfig:
    """Prompt upsampling switches."""

    enabled: bool = True
    method: str = "retrieval"  # retrieval | llm
    llm_path: str | None = None
    top_k: int = 3  # neighbour captions used
    max_sentences: int = 5  # sentences in the composed prompt (retrieval)
    keep_if_words: int = 40  # prompts at least this long are already detailed: kept as they are
    max_new_tokens: int = 160  # llm


@dataclass
class UpsampleResult:
    """What the user typed, what the model will get, how, and from which captions."""

    prompt: str
    upsampled: str
    method: str  # retrieval | llm | kept | off
    neighbours: list[dict] = field(default_factory=list)

    def to_dict(self) -> dict:
        return {"prompt": self.prompt, "upsampled": self.upsampled, "method": self.method,
                "neighbours": self.neighbours}


def build_caption_index(captions: list[str], out_dir: str, encoder=None) -> str:
    """Embed the training captions and store them with the model (atomic writes); returns out_dir."""
    from safetensors.torch import save_file

    from ..utils.atomic import atomic_path, atomic_write_json
    from .encoder import TextEncoder

    captions = [c.strip() for c in captions if isinstance(c, str) and c.strip()]
    if not captions:
        raise WorldsmithError("caption index: no non-empty captions given")
    captions = list(dict.fromkeys(captions))
    encoder = encoder or TextEncoder()
    emb = encoder.embed(captions).cpu().to(torch.float16)  # [N, D]
    os.makedirs(out_dir, exist_ok=True)
    with atomic_path(os.path.join(out_dir, INDEX_WEIGHTS)) as tmp:
        save_file({"embeddings": emb.contiguous()}, tmp)
    atomic_write_json(os.path.join(out_dir, INDEX_JSON), {"encoder": encoder.name, "dim": encoder.dim,
                                                          "captions": captions})
    return out_dir


def load_caption_index(model_dir: str) -> tuple[list[str], torch.Tensor, str]:
    """(captions, embeddings [N, D] float32, encoder name) from a model directory."""
    from safetensors.torch import load_file

    from ..utils.errors import require_file

    meta_path = require_file(os.path.join(model_dir, INDEX_JSON), "caption index")
    w_path = require_file(os.path.join(model_dir, INDEX_WEIGHTS), "caption index embeddings")
    try:
        with open(meta_path, encoding="utf-8") as f:
            meta = json.load(f)
        emb = load_file(w_path)["embeddings"].float()
    except (json.JSONDecodeError, KeyError, OSError) as e:
        raise WorldsmithError(f"caption index in {model_dir}: cannot read ({e})") from None
    if emb.shape[0] != len(meta.get("captions", [])):
        raise WorldsmithError(f"caption index in {model_dir}: {emb.shape[0]} embeddings for "
                              f"{len(meta.get('captions', []))} captions")
    return meta["captions"], emb, meta.get("encoder", "?")


def _sentences(text: str) -> list[str]:
    return [s.strip() for s in re.split(r"(?<=[.!?])\s+", text.strip()) if len(s.split()) >= 3]


COLOURS = {"red", "green", "blue", "yellow", "orange", "purple", "pink", "brown", "black", "white", "grey", "gray",
           "cyan", "magenta", "violet", "golden", "silver", "beige", "teal"}
FEMALE = {"woman", "women", "she", "her", "hers", "girl", "girls", "lady", "female"}
MALE = {"man", "men", "he", "his", "him", "boy", "boys", "gentleman", "male"}


def _conflicts(sentence: str, prompt_words: set[str]) -> bool:
    """True when a neighbour sentence would contradict the prompt (other colours, other gender)."""
    words = set(re.findall(r"[a-z]+", sentence.lower()))
    p_col = prompt_words & COLOURS
    if p_col and (words & COLOURS) - p_col:
        return True
    if prompt_words & MALE and words & FEMALE and not prompt_words & FEMALE:
        return True
    return bool(prompt_words & FEMALE and words & MALE and not prompt_words & MALE)


def _as_sentence(prompt: str) -> str:
    p = prompt.strip().rstrip(".!?")
    return p[:1].upper() + p[1:] + "."


class PromptUpsampler:
    """`upsample(prompt) -> UpsampleResult` by retrieval over a caption index, or by a local LLM."""

    def __init__(self, config: UpsamplerConfig | None = None, index_dir: str | None = None,
                 captions: list[str] | None = None, encoder=None):
        from .encoder import TextEncoder

        self.config = config or UpsamplerConfig()
        if self.config.method not in ("retrieval", "llm"):
            raise WorldsmithError(f"upsampler.method: unknown {self.config.method!r} (use retrieval or llm)")
        self.encoder = encoder or TextEncoder()
        if index_dir is not None:
            self.captions, self.emb, name = load_caption_index(index_dir)
            if name != self.encoder.name or self.emb.shape[1] != self.encoder.dim:
                raise WorldsmithError(f"caption index in {index_dir} was built with {name}, "
                                      f"not with the text encoder {self.encoder.name}")
        elif captions:
            self.captions = list(dict.fromkeys(c.strip() for c in captions if c.strip()))
            self.emb = self.encoder.embed(self.captions).float().cpu()
        else:
            raise WorldsmithError("prompt upsampler: give the model directory with its caption index "
                                  "(or a list of captions)")
        self._lens = sorted(len(c.split()) for c in self.captions)
        self._llm = None

    def neighbours(self, prompt: str, k: int) -> list[dict]:
        """The k training captions closest to the prompt (cosine similarity)."""
        q = self.encoder.embed([prompt]).float().cpu()[0]  # [D]
        sims = self.emb @ q  # [N]
        top = torch.topk(sims, min(k, len(self.captions)))
        return [{"caption": self.captions[i], "similarity": round(float(s), 4)}
                for s, i in zip(top.values.tolist(), top.indices.tolist())]

    def upsample(self, prompt: str) -> UpsampleResult:
        """Rewrite `prompt` (unchanged when off or already detailed)."""
        if not isinstance(prompt, str) or not prompt.strip():
            raise WorldsmithError("prompt: expected a non-empty string")
        cfg = self.config
        if not cfg.enabled:
            return UpsampleResult(prompt, prompt, "off")
        if len(prompt.split()) >= cfg.keep_if_words:
            return UpsampleResult(prompt, prompt, "kept")
        nbrs = self.neighbours(prompt, cfg.top_k)
        if cfg.method == "llm":
            text = self._llm_rewrite(prompt, nbrs)
            if text:
                return UpsampleResult(prompt, text, "llm", nbrs)
        return UpsampleResult(prompt, self._compose(prompt, nbrs), "retrieval", nbrs)

    def _compose(self, prompt: str, nbrs: list[dict]) -> str:
        """The prompt, then the neighbours' sentences most similar to it, without near-duplicates."""
        chosen = [_as_sentence(prompt)]
        pw = set(re.findall(r"[a-z]+", prompt.lower()))
        cands = list(dict.fromkeys(s for n in nbrs for s in _sentences(n["caption"]) if not _conflicts(s, pw)))
        if not cands:
            return chosen[0]
        emb = self.encoder.embed(chosen + cands).float().cpu()  # [1 + S, D]
        order = torch.argsort(emb[1:] @ emb[0], descending=True).tolist()
        picked = [emb[0]]
        target = self._lens[len(self._lens) // 2]  # a typical training caption's length in words
        for j in order:
            if len(chosen) >= self.config.max_sentences or sum(len(s.split()) for s in chosen) >= target:
                break
            e = emb[1 + j]
            if max(float(e @ p) for p in picked) > 0.85:  # says what is already said
                continue
            chosen.append(cands[j])
            picked.append(e)
        return " ".join(chosen)

    def _llm_rewrite(self, prompt: str, nbrs: list[dict]) -> str:
        if not self.config.llm_path:
            raise WorldsmithError("upsampler.llm_path: required when upsampler.method is llm")
        if self._llm is None:
            self._llm = _load_llm(self.config.llm_path)
        tok, model = self._llm
        examples = "\n".join(f"- {n['caption']}" for n in nbrs)
        instruction = ("Rewrite the user's short video prompt as one detailed caption in the style of these "
                       f"example captions:\n{examples}\nKeep every object and action of the prompt; describe "
                       f"the setting, motion, lighting and camera.\nPrompt: {prompt}\nCaption:")
        if getattr(tok, "chat_template", None):
            inputs = tok.apply_chat_template([{"role": "user", "content": instruction}], add_generation_prompt=True,
                                             return_tensors="pt", return_dict=True)
        else:
            inputs = tok(instruction, return_tensors="pt")
        inputs = {k: v for k, v in inputs.items() if k in ("input_ids", "attention_mask")}
        with torch.no_grad():
            out = model.generate(**inputs, max_new_tokens=self.config.max_new_tokens, do_sample=False,
                                 pad_token_id=tok.pad_token_id or tok.eos_token_id)
        reply = tok.decode(out[0, inputs["input_ids"].shape[1]:], skip_special_tokens=True)
        return " ".join(reply.strip().split())


def _load_llm(path: str):
    from transformers import AutoModelForCausalLM, AutoTokenizer

    if not os.path.isdir(path):
        raise WorldsmithError(f"upsampler.llm_path: not a local model directory: {path}")
    try:
        tok = AutoTokenizer.from_pretrained(path, local_files_only=True)
        model = AutoModelForCausalLM.from_pretrained(path, local_files_only=True).eval()
    except (OSError, ValueError, KeyError) as e:
        raise WorldsmithError(f"upsampler.llm_path {path}: cannot load ({str(e).strip().splitlines()[0]})") from None
    return tok, model
