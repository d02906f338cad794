"""Copy a trained world-model (or tokenizer) directory into worldsmith/pretrained/ the way the shipped ones are stored.

    python scripts/ship_model.py runs/cv4x8x8-full/model worldsmith/pretrained/tokenizer-cv4x8x8-tiny-sim64
    python scripts/ship_model.py runs/wm3/model worldsmith/pretrained/world-model-dit-tiny-sim64 \
        --tokenizer ../tokenizer-cv4x8x8-tiny-sim64 \
        --inference '{"video2world": {"sampler": "mean", "guidance": 0, "decode": "residual", "change_threshold": 0.3}}'

- weights in float16 safetensors (half the size; `from_pretrained` loads them into float32);
- the tokenizer referenced by a path relative to the model directory instead of a copy, so
  several shipped models share one tokenizer;
- everything else (config.json, diffusion.json, training.json, captions/) copied as is;
- `--inference JSON`: the settings the model recommends (world_model.json "inference", checked
  as `from_pretrained` checks it), chosen on validation clips after training; without it, the
  run's own block (if any) is kept;
- world_model.json records the fingerprint of the tokenizer the model was trained with
  (`CausalVideoTokenizer.fingerprint`), and the tokenizer it will reference must have it;
- `--mean-decoder DIR`: a decoder fine-tuned on this world model's posterior means
  (`worldsmith train --task mean-decoder`, its `model/`), stored beside the weights in float16
  and named in world_model.json ("mean_decoder"); it must be for the model's tokenizer;
- a tokenizer is not shipped over one that shipped models reference with another fingerprint
  (they would silently read the wrong latents: retrain them first).
The destination is written beside and swapped in at the end: a failed run leaves the old
model in place.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys

import torch
from safetensors.torch import load_file, save_file


KEEP_FP32 = ("latent_mean", "latent_std")  # tokenizer statistics: tiny, and they scale every latent


def is_tokenizer(src: str) -> bool:
    try:
        with open(os.path.join(src, "config.json"), encoding="utf-8") as f:
            return json.load(f).get("model_type") == "worldsmith-causal-video-tokenizer"
    except (OSError, json.JSONDecodeError):
        return False


def fingerprint(tokenizer_dir: str) -> str:
    from worldsmith.tokenizer.model import CausalVideoTokenizer

    return CausalVideoTokenizer.from_pretrained(tokenizer_dir).fingerprint()


def users_of(tokenizer_dst: str) -> list[tuple[str, str | None]]:
    """(model dir, recorded fingerprint or None) of the models beside `tokenizer_dst` that reference it."""
    parent, out = os.path.dirname(os.path.abspath(tokenizer_dst)), []
    for name in sorted(os.listdir(parent)) if os.path.isdir(parent) else []:
        path = os.path.join(parent, name, "world_model.json")
        if os.path.isfile(path):
            with open(path, encoding="utf-8") as f:
                meta = json.load(f)
            ref = os.path.normpath(os.path.join(parent, name, meta.get("tokenizer") or "tokenizer"))
            if ref == os.path.normpath(os.path.abspath(tokenizer_dst)):
                out.append((os.path.join(parent, name), meta.get("tokenizer_fingerprint")))
    return out


def parse_inference(text: str) -> dict:
    """The --inference value: a JSON object that `model_recommendations` accepts, or exit naming it."""
    from worldsmith.inference.pipeline import model_recommendations
    from worldsmith.utils.errors import WorldsmithError

    try:
        block = json.loads(text)
    except json.JSONDecodeError as e:
        raise SystemExit(f"--inference: not JSON ({e})")
    if not isinstance(block, dict) or not block:
        raise SystemExit(f"--inference {text!r}: expected an object such as {{\"video2world\": {{\"sampler\": \"mean\"}}}}")
    try:
        model_recommendations({"inference": block}, "--inference")
    except WorldsmithError as e:
        raise SystemExit(str(e))
    return block


def check(src: str, dst: str, tokenizer: str | None) -> dict | None:
    """The world model's meta with its tokenizer fingerprint (None for a tokenizer); exits on a mismatch."""
    meta_path = os.path.join(src, "world_model.json")
    if not os.path.isfile(meta_path):
        if not is_tokenizer(src):
            raise SystemExit(f"{src}: neither a world-model directory (world_model.json) nor a tokenizer directory")
        new = fingerprint(src)
        stale = [d for d, fp in users_of(dst) if fp != new]
        if stale:
            raise SystemExit(f"{dst}: referenced by {', '.join(stale)}, trained on another tokenizer (or recording "
                             "no fingerprint); retrain and ship them with this tokenizer first")
        return None
    with open(meta_path, encoding="utf-8") as f:
        meta = json.load(f)
    own = meta.get("tokenizer_fingerprint") or fingerprint(os.path.join(src, meta.get("tokenizer") or "tokenizer"))
    meta["tokenizer_fingerprint"] = own
    if tokenizer:
        ref = os.path.normpath(os.path.join(dst, tokenizer))
        if not os.path.isdir(ref):
            raise SystemExit(f"--tokenizer {tokenizer}: no such directory relative to {dst}")
        if fingerprint(ref) != own:
            raise SystemExit(f"--tokenizer {tokenizer}: not the tokenizer {src} was trained on "
                             f"(fingerprint {fingerprint(ref)}, expected {own})")
        meta["tokenizer"] = tokenizer
    return meta


def add_mean_decoder(tmp: str, meta: dict | None, mean_decoder: str) -> None:
    """Copy a mean decoder (weights in float16, its JSON) into `tmp` and name it in `meta`."""
    from worldsmith.train.mean_decoder import META, WEIGHTS

    if meta is None:
        raise SystemExit("--mean-decoder: only a world model takes a mean decoder")
    weights, info = os.path.join(mean_decoder, WEIGHTS), os.path.join(mean_decoder, META)
    if not (os.path.isfile(weights) and os.path.isfile(info)):
        raise SystemExit(f"--mean-decoder {mean_decoder}: expected {WEIGHTS} and {META} (a mean-decoder run's model/)")
    with open(info, encoding="utf-8") as f:
        made_for = json.load(f).get("tokenizer_fingerprint")
    if made_for != meta["tokenizer_fingerprint"]:
        raise SystemExit(f"--mean-decoder {mean_decoder}: made for tokenizer {made_for}, the model's is "
                         f"{meta['tokenizer_fingerprint']}")
    save_file({k: v.half() if v.is_floating_point() else v for k, v in load_file(weights).items()},
              os.path.join(tmp, WEIGHTS))
    shutil.copy2(info, os.path.join(tmp, META))
    meta["mean_decoder"] = WEIGHTS


def ship(src: str, dst: str, tokenizer: str | None, inference: dict | None = None,
         mean_decoder: str | None = None) -> None:
    meta = check(src, dst, tokenizer)
    if inference is not None:
        if meta is None:
            raise SystemExit(f"--inference: {src} is a tokenizer; only a world model recommends settings")
        meta["inference"] = inference
    tmp = dst.rstrip("/") + ".tmp"
    shutil.rmtree(tmp, ignore_errors=True)
    os.makedirs(tmp)
    for name in os.listdir(src):
        path = os.path.join(src, name)
        if name == "tokenizer" and tokenizer:
            continue
        if name == "model.safetensors":
            weights = {k: (v.half() if v.is_floating_point() and k not in KEEP_FP32 else v)
                       for k, v in load_file(path).items()}
            save_file(weights, os.path.join(tmp, name))
        elif os.path.isdir(path):
            shutil.copytree(path, os.path.join(tmp, name))
        else:
            shutil.copy2(path, os.path.join(tmp, name))
    if mean_decoder:
        add_mean_decoder(tmp, meta, mean_decoder)
    if meta is not None:
        with open(os.path.join(tmp, "world_model.json"), "w", encoding="utf-8") as f:
            json.dump(meta, f, indent=2)
            f.write("\n")
    shutil.rmtree(dst, ignore_errors=True)
    os.replace(tmp, dst)
    size = sum(os.path.getsize(os.path.join(r, n)) for r, _, ns in os.walk(dst) for n in ns)
    print(f"{dst}: {size / 1e6:.1f} MB")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("src", help="trained model directory (RUN/model)")
    p.add_argument("dst", help="destination under worldsmith/pretrained/")
    p.add_argument("--tokenizer", help="tokenizer path relative to DST to use instead of the copy in SRC")
    p.add_argument("--inference", help="JSON: the settings the model recommends (world_model.json \"inference\")")
    p.add_argument("--mean-decoder", help="a mean-decoder run's model/ to ship with the world model")
    args = p.parse_args(argv)
    torch.set_num_threads(1)
    inference = parse_inference(args.inference) if args.inference is not None else None
    ship(args.src, args.dst, args.tokenizer, inference, args.mean_decoder)
    return 0


if __name__ == "__main__":
    sys.exit(main())
