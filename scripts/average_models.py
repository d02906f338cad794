"""Average the weights of world models fine-tuned from one another (a "model soup").

    python scripts/average_models.py runs/wm16/model runs/wm17/model --out runs/soup1617

Two runs of the same network from a shared start (a model and the same model fine-tuned further)
usually sit in one basin of the loss; their weight average often scores between or above both,
for the price of one file write (BENCHMARKS.md, "The seventeenth model"). The sources must be
the same network on the same tokenizer: config.json, diffusion.json (as the loader reads them, so a
field a newer version writes with its default value is no difference), the tokenizer fingerprint
and every tensor's name and shape must agree, or it stops with a one-line error naming what
differs. The output is the last source's directory with the averaged weights (float32), and its
world_model.json records what was averaged ("weights_average_of": path, weights_sha256, weight).
A tokenizer the last source references outside itself (a shipped model's "../tokenizer-...") is
re-pointed from the new directory; a mean decoder is dropped (it learnt one source's means,
not the average's). It is written beside and renamed into place at the end: a failed run
leaves nothing behind.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import sys
from dataclasses import asdict

from safetensors.torch import load_file, save_file

from worldsmith.diffusion.denoiser import DiffusionConfig
from worldsmith.models.dit import DiTConfig
from worldsmith.utils.config import from_dict
from worldsmith.utils.errors import WorldsmithError

WEIGHTS = "model.safetensors"
SAME = (("config.json", DiTConfig), ("diffusion.json", DiffusionConfig))
SAME_META = ("tokenizer_fingerprint", "text_encoder", "text_max_length", "latent_shape", "num_frames", "size")


def _json(path: str) -> dict:
    try:
        with open(path, encoding="utf-8") as f:
            return json.load(f)
    except (OSError, json.JSONDecodeError) as e:
        raise SystemExit(f"{path}: unreadable ({e})") from None


def _config(path: str, cls) -> dict:
    """A config file as the loader reads it: unknown fields refused, missing ones at their defaults."""
    try:
        return asdict(from_dict(cls, _json(path), where=path))
    except WorldsmithError as e:  # names the file and the field
        raise SystemExit(str(e)) from None


def _sha(path: str) -> str:
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()[:16]


def average(sources: list[str], out: str, weights: list[float] | None = None) -> dict:
    """Write the weighted average of `sources` (world-model directories) to `out`; its world_model.json."""
    if len(sources) < 2:
        raise SystemExit("average_models: give at least two model directories")
    weights = [1.0 / len(sources)] * len(sources) if weights is None else weights
    if len(weights) != len(sources) or any(w < 0 for w in weights) or abs(sum(weights) - 1) > 1e-6:
        raise SystemExit(f"--weights {weights}: expected {len(sources)} non-negative numbers summing to 1")
    if os.path.exists(out):
        raise SystemExit(f"--out {out}: already exists (choose a new directory)")
    for src in sources:
        if not os.path.isfile(os.path.join(src, WEIGHTS)) or not os.path.isfile(os.path.join(src, "world_model.json")):
            raise SystemExit(f"{src}: not a world-model directory (no {WEIGHTS} or world_model.json)")
    first, metas = sources[0], [_json(os.path.join(s, "world_model.json")) for s in sources]
    for src, meta in zip(sources[1:], metas[1:]):
        for name, cls in SAME:
            a, b = os.path.join(first, name), os.path.join(src, name)
            if os.path.isfile(a) != os.path.isfile(b) or (os.path.isfile(a) and _config(a, cls) != _config(b, cls)):
                raise SystemExit(f"{src}: its {name} differs from {first}'s (not the same network)")
        for key in SAME_META:
            if meta.get(key) != metas[0].get(key):
                raise SystemExit(f"{src}: world_model.json {key} is {meta.get(key)!r}, {first}'s is "
                                 f"{metas[0].get(key)!r} (not the same model)")
    total = None
    for src, w in zip(sources, weights):
        sd = load_file(os.path.join(src, WEIGHTS))
        if total is None:
            total = {k: v.float() * w for k, v in sd.items()}
            continue
        if sd.keys() != total.keys() or any(sd[k].shape != total[k].shape for k in sd):
            raise SystemExit(f"{src}/{WEIGHTS}: its tensors' names or shapes differ from {first}'s")
        for k, v in sd.items():
            total[k] += v.float() * w
    tmp = out.rstrip("/") + ".tmp"
    shutil.rmtree(tmp, ignore_errors=True)
    meta = dict(metas[-1])
    try:
        shutil.copytree(sources[-1], tmp)
        save_file({k: v.contiguous() for k, v in total.items()}, os.path.join(tmp, WEIGHTS), metadata={"format": "pt"})
        tok = meta.get("tokenizer") or "tokenizer"
        if not os.path.isabs(tok) and not os.path.isdir(os.path.join(tmp, tok)):  # outside the source: re-point
            meta["tokenizer"] = os.path.relpath(os.path.abspath(os.path.join(sources[-1], tok)), os.path.abspath(out))
        dec = meta.pop("mean_decoder", None)
        if dec:
            if os.path.isfile(os.path.join(tmp, dec)):
                os.remove(os.path.join(tmp, dec))
            print(f"average_models: {sources[-1]}'s mean decoder is not carried over (it learnt that model's means)",
                  file=sys.stderr)
        meta["weights_average_of"] = [{"path": s, "weights_sha256": _sha(os.path.join(s, WEIGHTS)), "weight": w}
                                      for s, w in zip(sources, weights)]
        with open(os.path.join(tmp, "world_model.json"), "w", encoding="utf-8") as f:
            json.dump(meta, f, indent=2)
        os.replace(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return meta


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("sources", nargs="+", help="world-model directories (the same network, the same tokenizer)")
    ap.add_argument("--out", required=True, help="new directory for the averaged model")
    ap.add_argument("--weights", help="comma-separated weights summing to 1 (default: equal)")
    args = ap.parse_args(argv)
    weights = None
    if args.weights:
        try:
            weights = [float(w) for w in args.weights.split(",")]
        except ValueError:
            raise SystemExit(f"--weights {args.weights!r}: expected comma-separated numbers") from None
    meta = average(args.sources, args.out, weights)
    print(json.dumps({"out": args.out, "weights_average_of": meta["weights_average_of"]}), file=sys.stdout)


if __name__ == "__main__":
    main()
