"""What the decode + re-encode rollout loop costs: object IoU per chunk of a "nothing moves" oracle.

A robot rollout that decodes every 4-frame chunk and re-encodes the last `context` frames as
the next context sends each frame through the tokenizer once per chunk. This benchmark runs
that loop with an oracle in place of the world model (each new chunk = the last context
frame, i.e. "nothing moves", exactly) on the `eval actions` held-out clips, and scores the
pushed object's colour-mask IoU per chunk beside copy-last-frame (the same oracle without the
round trips) and the tokenizer's one-pass reconstruction of the true frames. The IoU lost
between the oracle and copy-last is what the round trips alone cost
(BENCHMARKS.md, "Sixth robot model").

    .venv/bin/python benchmarks/bench_rollout_roundtrip.py --clips 12 \
        [--tokenizer worldsmith/pretrained/tokenizer-cv4x8x8-tiny-sim64]
"""

from __future__ import annotations

import argparse

import numpy as np
import torch


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--tokenizer", default="worldsmith/pretrained/tokenizer-cv4x8x8-tiny-sim64")
    ap.add_argument("--clips", type=int, default=12)
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()
    from worldsmith.eval.actions import object_and_arm_ids, held_out_clips
    from worldsmith.eval.objects import fit_colour_model, mask_iou, masks_from_colours, masks_from_seg
    from worldsmith.tokenizer.model import CausalVideoTokenizer

    torch.set_num_threads(args.threads)
    tok = CausalVideoTokenizer.from_pretrained(args.tokenizer).eval()
    k = tok.cfg.temporal_compression
    C, T = 1 + k, 33
    chunks = (T - C) // k
    clips = held_out_clips(args.clips, T, 64)

    @torch.no_grad()
    def round_trip(frames: np.ndarray) -> np.ndarray:
        x = torch.from_numpy(frames).float().div(127.5).sub(1).permute(0, 4, 1, 2, 3)
        r = tok.decode(tok.encode(x)).clamp(-1, 1)
        return ((r.permute(0, 2, 3, 4, 1).numpy() + 1) * 127.5).round().astype(np.uint8)

    frames = np.stack([c.rgb[:C] for c in clips])
    for _ in range(chunks):  # the re-encoding loop, with "nothing moves" as the model
        window = np.concatenate([frames[:, -C:], np.repeat(frames[:, -1:], k, axis=1)], axis=1)
        frames = np.concatenate([frames, round_trip(window)[:, -k:]], axis=1)
    variants = {"oracle, re-encoded every chunk": frames[:, C:],
                "tokenizer reconstruction (one pass)": round_trip(np.stack([c.rgb for c in clips]))[:, C:],
                "copy last frame": np.stack([np.repeat(c.rgb[C - 1:C], T - C, axis=0) for c in clips])}
    N = chunks * k
    print(f"object IoU per chunk of {k} frames, {len(clips)} held-out clips (good / noisy / random in turn)")
    for name, pred in variants.items():
        iou = np.zeros((len(clips), N))
        for i, c in enumerate(clips):
            obj, arm = object_and_arm_ids(c)
            colours = {o["seg_id"]: o["color"] for o in c.meta["objects"]}
            model = fit_colour_model(c.rgb[:C], c.seg[:C], [obj, arm], [colours[obj], colours[arm]])
            iou[i] = mask_iou(masks_from_colours(pred[i, :N], model)[:, 0], masks_from_seg(c.seg[C:C + N], [obj])[:, 0])
        per_chunk = np.nanmean(iou.reshape(len(clips), chunks, k), axis=(0, 2))
        static = [i for i, c in enumerate(clips) if c.meta["params"]["policy"] == "random"]
        print(f"  {name:<38} " + " ".join(f"{v:.3f}" for v in per_chunk)
              + f"   (random policy: {np.nanmean(iou[static, :k]):.3f} -> {np.nanmean(iou[static, -k:]):.3f})")


if __name__ == "__main__":
    main()
