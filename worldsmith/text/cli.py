"""`worldsmith text ...`: build a model's caption index and upsample prompts."""

from __future__ import annotations

import json
import os

from ..cli import add_group


def register(sub) -> None:
    g = add_group(sub, "text", "text encoders and the prompt upsampler")

    p = g.add_parser("index", help="embed training captions and store them with a model (for upsampling)")
    p.add_argument("captions", help="captions file: .txt (one per line) or .json (list of strings or {'caption'})")
    p.add_argument("--out", required=True, help="model directory to write caption_index.* into")
    p.set_defaults(func=cmd_index)

    p = g.add_parser("upsample", help="rewrite a short prompt in the style of the model's training captions")
    p.add_argument("prompt")
    p.add_argument("--index", required=True, metavar="DIR", help="model directory holding caption_index.*")
    p.add_argument("--llm", metavar="DIR", help="local instruct LLM directory (method llm)")
    p.add_argument("--top-k", type=int, default=3)
    p.add_argument("--json", metavar="FILE", help="also write the result as JSON")
    p.set_defaults(func=cmd_upsample)


def read_captions(path: str) -> list[str]:
    """Captions from a .txt (one per line) or .json (list of str / {"caption": str}) file."""
    from ..utils.errors import WorldsmithError, require_file

    require_file(path, "captions file")
    with open(path, encoding="utf-8") as f:
        text = f.read()
    if not path.endswith(".json"):
        return [ln.strip() for ln in text.splitlines() if ln.strip()]
    try:
        data = json.loads(text)
    except json.JSONDecodeError as e:
        raise WorldsmithError(f"captions file {path}: not valid JSON ({e})") from None
    if not isinstance(data, list):
        raise WorldsmithError(f"captions file {path}: expected a JSON list")
    return [d["caption"] if isinstance(d, dict) and "caption" in d else d for d in data if isinstance(d, (str, dict))]


def cmd_index(args) -> int:
    """Write caption_index.json + caption_index.safetensors into --out."""
    from .upsampler import build_caption_index

    caps = read_captions(args.captions)
    build_caption_index(caps, args.out)
    print(f"indexed {len(caps)} captions into {os.path.join(args.out, 'caption_index.*')}")
    return 0


def cmd_upsample(args) -> int:
    """Print the upsampled prompt and the captions it came from."""
    from ..utils.atomic import atomic_write_json
    from .upsampler import PromptUpsampler, UpsamplerConfig

    cfg = UpsamplerConfig(top_k=args.top_k, method="llm" if args.llm else "retrieval", llm_path=args.llm)
    r = PromptUpsampler(cfg, index_dir=args.index).upsample(args.prompt)
    print(f"prompt:    {r.prompt}\nupsampled ({r.method}): {r.upsampled}")
    for n in r.neighbours:
        print(f"  [{n['similarity']:.2f}] {n['caption'][:100]}")
    if args.json:
        atomic_write_json(args.json, r.to_dict())
    return 0
