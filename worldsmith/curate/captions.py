"""Stage 4: captions from a pluggable captioner.

A captioner has a `name` and `caption(batch) -> list[str]`, where each item of the batch
is a dict with `source` (the video path), `start_s`, `end_s` and `frames` (a few uint8 RGB
frames sampled from the clip). The pipeline batches clips (`caption_batches`) and
records `captioner` next to every caption.

Built in:
- `MetadataCaptioner`: a sidecar next to the video (`VIDEO.txt`, `VIDEO.caption.txt`, or
  `VIDEO.json` / any `*.json` prompt file naming the video, with a `caption`, `prompt`
  or `text` field), else words from the file name.
- `VLMCaptioner`: a local transformers vision-language model directory (never downloaded).
"""

from __future__ import annotations

import functools
import json
import os
import re

from ..utils.errors import WorldsmithError
from .config import CaptionConfig


@functools.lru_cache(maxsize=256)
def _sidecar_caption(source: str) -> str | None:
    stem, _ = os.path.splitext(source)
    for p in (stem + ".caption.txt", stem + ".txt", source + ".txt"):
        if os.path.isfile(p):
            with open(p, encoding="utf-8", errors="replace") as f:
                text = f.read().strip()
            if text:
                return " ".join(text.split())
    folder, base = os.path.dirname(source), os.path.basename(source)
    candidates = [stem + ".json", source + ".json"]
    try:  # prompt files that name the video (e.g. cosmos `*_prompt_*.json` with input_video_path)
        candidates += sorted(os.path.join(folder, n) for n in os.listdir(folder)
                             if n.endswith(".json") and n.startswith(os.path.splitext(base)[0].split("_input")[0]))
    except OSError:
        pass
    for p in candidates:
        text = _json_caption(p, base)
        if text:
            return text
    return None


def _json_caption(path: str, video_name: str) -> str | None:
    if not os.path.isfile(path) or os.path.getsize(path) > 1_000_000:
        return None
    try:
        with open(path, encoding="utf-8") as f:
            d = json.load(f)
    except (OSError, ValueError):
        return None
    if not isinstance(d, dict):
        return None
    named = str(d.get("input_video_path", d.get("video", "")))
    if named and os.path.basename(named) != video_name:
        return None
    for k in ("caption", "prompt", "text", "description"):
        if isinstance(d.get(k), str) and d[k].strip():
            return " ".join(d[k].split())
    return None


def filename_caption(source: str) -> str:
    """Words from a file name: 'kitchen_robot-arm02.mp4' -> 'kitchen robot arm 02'."""
    stem = os.path.splitext(os.path.basename(source))[0]
    words = re.sub(r"([a-z])([A-Z])", r"\1 \2", stem)
    words = re.sub(r"(?<=[A-Za-z])(?=\d)|(?<=\d)(?=[A-Za-z])", " ", words)
    return " ".join(re.split(r"[\s_\-.]+", words)).strip().lower()


class MetadataCaptioner:
    """Captions from sidecar text/JSON next to the video, else from its file name."""

    name = "metadata"

    def caption(self, batch: list[dict]) -> list[str]:
        """One caption per clip of the batch."""
        return [_sidecar_caption(os.path.abspath(c["source"])) or filename_caption(c["source"]) for c in batch]


class VLMCaptioner:
    """A local transformers vision-language model (image-text-to-text) captions each clip."""

    def __init__(self, cfg: CaptionConfig):
        path = cfg.model_path
        if not path or not os.path.isdir(path):
            raise WorldsmithError(f"captions.model_path: {path!r} is not a local model directory "
                                  "(captioner=vlm needs one; nothing is downloaded)")
        from transformers import AutoModelForImageTextToText, AutoProcessor

        self.cfg = cfg
        self.name = f"vlm:{os.path.basename(os.path.normpath(path))}"
        self.processor = AutoProcessor.from_pretrained(path, local_files_only=True)
        self.model = AutoModelForImageTextToText.from_pretrained(path, local_files_only=True).eval()

    def caption(self, batch: list[dict]) -> list[str]:
        """One caption per clip: the middle sampled frame and the prompt go to the model."""
        import torch
        from PIL import Image

        images = [Image.fromarray(c["frames"][len(c["frames"]) // 2]) for c in batch]
        msgs = [[{"role": "user", "content": [{"type": "image"}, {"type": "text", "text": self.cfg.prompt}]}]
                for _ in batch]
        texts = [self.processor.apply_chat_template(m, add_generation_prompt=True) for m in msgs]
        inputs = self.processor(images=images, text=texts, return_tensors="pt", padding=True)
        with torch.no_grad():
            out = self.model.generate(**inputs, max_new_tokens=self.cfg.max_new_tokens, do_sample=False)
        new = out[:, inputs["input_ids"].shape[1]:]
        return [" ".join(t.split()) for t in self.processor.batch_decode(new, skip_special_tokens=True)]


class NoCaptioner:
    """Leaves captions empty."""

    name = "none"

    def caption(self, batch: list[dict]) -> list[str]:
        """Empty captions."""
        return ["" for _ in batch]


def get_captioner(cfg: CaptionConfig):
    """The captioner named by `cfg.captioner`."""
    if cfg.captioner == "metadata":
        return MetadataCaptioner()
    if cfg.captioner == "vlm":
        return VLMCaptioner(cfg)
    if cfg.captioner == "none":
        return NoCaptioner()
    raise WorldsmithError(f"captions.captioner: unknown {cfg.captioner!r} (metadata, vlm, none)")


def caption_batches(captioner, items: list[dict], batch_size: int) -> list[tuple[str, str]]:
    """Caption `items` in batches -> [(caption, captioner name)] in order."""
    out: list[tuple[str, str]] = []
    for i in range(0, len(items), max(1, batch_size)):
        batch = items[i:i + batch_size]
        caps = captioner.caption(batch)
        if len(caps) != len(batch):
            raise WorldsmithError(f"captioner {captioner.name}: returned {len(caps)} captions for {len(batch)} clips")
        out += [(str(c), captioner.name) for c in caps]
    return out
