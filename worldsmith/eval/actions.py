"""Action fidelity: does the world model follow the actions it is given?

On held-out robot_push clips simulated from fresh seeds (good, noisy and random policies in
turn), the model sees the first `context_frames` true frames and then rolls out the rest of
the clip from (a) the true actions, (b) zeroed actions, while (c) copy-last-frame repeats the
last context frame. Scores per predicted frame against the truth: PSNR, SSIM, IoU of the
pushed object's mask and the centroid error (pixels) of the robot arm's mask, an
end-effector proxy (masks from colour models calibrated on the context frames, as in the
physics benchmark, `objects.py`). The model follows its actions when (a) beats (b) and (c).

`dataset_clips` takes the clips from a clip dataset instead (the user's own robot videos,
e.g. from `worldsmith data import-bridge`): without segmentation masks only PSNR and SSIM
are scored (IoU and arm error are NaN).
"""

from __future__ import annotations

import numpy as np
import torch
from einops import rearrange

from ..utils.progress import progress
from .metrics import psnr, ssim
from .objects import centroid_error, centroids, fit_colour_model, mask_iou, masks_from_colours, masks_from_seg

HELD_OUT_SEED = 900_000  # clip seeds far from `sim generate`'s hashed per-clip seeds' usual draws
MIN_TRAVEL_PX = 2.0  # clips whose pushed object moves less than this count as "not pushed" in travel summaries


def held_out_clips(n: int, frames: int, resolution: int, seed: int = HELD_OUT_SEED,
                   policies: tuple[str, ...] = ("good", "noisy", "random")) -> list:
    """n robot_push clips from fresh seeds, `policies` in turn (default good / noisy / random)."""
    from ..sim.clip import ROBOT_POLICIES, simulate_clip
    from ..utils.errors import WorldsmithError

    bad = [p for p in policies if p not in ROBOT_POLICIES]
    if bad or not policies:
        raise WorldsmithError(f"--policies {','.join(policies)!r}: expected names from {', '.join(ROBOT_POLICIES)}")
    return [simulate_clip("robot_push", seed + i, resolution=resolution, frames=frames,
                          policy=policies[i % len(policies)])
            for i in progress(range(n), desc="simulate held-out clips", unit="clip")]


def dataset_clips(root: str, n: int, frames: int, resolution: int, *, action_key: str = "actions",
                  action_dim: int | None = None, split: str | None = "val") -> tuple[list, list[dict]]:
    """Up to `n` clips of at least `frames` frames with actions from the dataset at `root`.

    Frames are resized (cover + centre crop) to `resolution`; clips that are too short, lack
    `action_key` or have another action dimension are skipped and listed as (key, reason).
    """
    from types import SimpleNamespace

    from ..data.dataset import resize_cover_crop
    from ..data.reader import iter_clips

    clips, skipped = [], []
    for rec in iter_clips(root, split):
        if len(clips) >= n:
            break
        acts = rec["arrays"].get(action_key)
        why = None
        if acts is None:
            why = f"no {action_key!r} array"
        elif acts.ndim != 2 or (action_dim is not None and acts.shape[1] != action_dim):
            why = f"{action_key} shape {tuple(acts.shape)}, the model takes [T, {action_dim}]"
        elif len(rec["frames"]) < frames or len(acts) < frames - 1:
            why = f"{len(rec['frames'])} frames / {len(acts)} actions, need {frames} / {frames - 1}"
        if why:
            skipped.append({"key": rec["key"], "reason": why})
            continue
        rgb = rec["frames"][:frames]
        resized = rgb.shape[1:3] != (resolution, resolution)
        if resized:
            rgb = resize_cover_crop(rgb, (resolution, resolution))
        seg = rec["arrays"].get("seg")
        meta = dict(rec["meta"] or {})
        if seg is None or resized or not meta.get("objects"):
            seg = None  # no usable masks: PSNR / SSIM only
        else:
            seg = seg[:frames]
        clips.append(SimpleNamespace(key=rec["key"], rgb=np.ascontiguousarray(rgb), seg=seg, meta=meta,
                                     actions=np.asarray(acts[:frames - 1], dtype=np.float32)))
    return clips, skipped


def object_and_arm_ids(clip) -> tuple[int, int]:
    """(pushed object seg id, robot arm seg id) from the clip meta."""
    objs = clip.meta["objects"]
    arm = next(o for o in objs if o["shape"] == "robot")
    return int(objs[0]["seg_id"]), int(arm["seg_id"])


def frame_scores(pred: np.ndarray, clip, C: int) -> dict:
    """Per-frame squared error [N] and, where the clip has segmentation, object IoU and arm error [N]."""
    N = len(pred)
    true = clip.rgb[C:C + N]
    out = {"mse": ((pred.astype(np.float64) - true.astype(np.float64)) ** 2).reshape(N, -1).mean(1)}
    if getattr(clip, "seg", None) is None:
        out["object_iou"] = out["arm_centroid_px"] = np.full(N, np.nan)
        out["object_travel_px"] = np.full(2, np.nan)
        return out
    obj, arm = object_and_arm_ids(clip)
    colours = {o["seg_id"]: o["color"] for o in clip.meta["objects"]}
    model = fit_colour_model(clip.rgb[:C], clip.seg[:C], [obj, arm], [colours[obj], colours[arm]])
    pm = masks_from_colours(pred, model)  # [N, 2, H, W]
    tm = masks_from_seg(clip.seg[C:C + N], [obj, arm])
    out["object_iou"] = np.asarray(mask_iou(pm[:, 0], tm[:, 0]), dtype=float)
    out["arm_centroid_px"] = np.asarray(centroid_error(pm[:, 1:2], tm[:, 1:2], normalise=False), dtype=float).reshape(N)
    out["object_travel_px"] = object_travel(pm[-1, 0], masks_from_seg(clip.seg[C - 1:C], [obj])[0, 0], tm[-1, 0])
    return out


def object_travel(pred_end: np.ndarray, true_start: np.ndarray, true_end: np.ndarray) -> np.ndarray:
    """[along, true]: how far (px) the pushed object got along its true path, and that path's length.

    `true` is the centroid distance from the last context frame (`true_start`) to the truth's last
    frame; `along` projects the predicted last-frame centroid's displacement on that path (a model
    that leaves the object in place scores 0, one that moves it as far as reality `true`). A
    prediction that lost the object scores 0. Masks are bool [H, W]; NaN when the truth has no object.
    """
    c0, c1, cp = centroids(np.stack([true_start, true_end, pred_end]))
    if np.isnan(c0).any() or np.isnan(c1).any():
        return np.full(2, np.nan)
    path = c1 - c0
    length = float(np.hypot(*path))
    if np.isnan(cp).any() or length == 0:
        return np.array([0.0, length])
    return np.array([float((cp - c0) @ path) / length, length])


def travel_summary(per_clip_travel: dict[str, list[np.ndarray]], min_px: float = MIN_TRAVEL_PX) -> dict:
    """Per variant, over clips whose object truly moved >= `min_px`: mean `along` / `true` (px) and their ratio."""
    out = {}
    for name, rows in per_clip_travel.items():
        t = np.array(rows, dtype=float).reshape(-1, 2)
        moved = t[:, 1] >= min_px
        along, true = (float(t[moved, 0].mean()), float(t[moved, 1].mean())) if moved.any() else (np.nan, np.nan)
        out[name] = {"along_px": along, "true_px": true, "ratio": along / true if moved.any() else np.nan,
                     "clips": int(moved.sum())}
    return out


def score(pred: np.ndarray, clip, C: int, f: dict) -> dict:
    """Metrics of predicted frames [N, H, W, 3] against the clip's frames C..C+N-1 (`f`: their frame_scores)."""
    true = clip.rgb[C:C + len(pred)]
    return {"psnr": psnr(pred, true), "ssim": ssim(pred, true), "object_iou": _nanmean(f["object_iou"]),
            "arm_centroid_px": _nanmean(f["arm_centroid_px"])}


def _nanmean(v: np.ndarray) -> float:
    return float(np.nanmean(v)) if np.isfinite(v).any() else float("nan")


def per_chunk(frames: list[dict], k: int) -> dict:
    """Per rollout chunk of k frames, over all clips: PSNR (of the pooled squared error) and mean
    object IoU, so a report shows where a rollout degrades."""
    def chunked(m: str) -> np.ndarray:
        a = np.stack([f[m] for f in frames])  # [B, N]
        return a[:, : a.shape[1] // k * k].reshape(len(a), -1, k)  # [B, chunks, k]

    mse = chunked("mse").mean(axis=(0, 2))
    iou = chunked("object_iou")
    with np.errstate(all="ignore"):
        psnr_c = np.where(mse > 0, 10 * np.log10(255.0 ** 2 / np.maximum(mse, 1e-12)), np.inf)
        iou_c = [float(np.nanmean(iou[:, j])) if np.isfinite(iou[:, j]).any() else float("nan")
                 for j in range(iou.shape[1])]
    return {"psnr": [float(v) for v in psnr_c], "object_iou": iou_c}


def action_fidelity(wm, clips: list, seed: int = 0) -> dict:
    """Roll out `wm` (an ActionWorldModel) on `clips` with true and zeroed actions; score vs copy-last.

    Returns {"variants": {name: mean metrics}, "per_policy": {policy: {name: mean metrics}} (clips
    that record their policy), "per_chunk": {"frames_per_chunk": k, name: {"psnr": [...],
    "object_iou": [...]}} (one value per rollout chunk), "per_clip": [...], "context_frames",
    "predicted_frames"}.
    """
    C, k = wm.context_frames, wm.k
    T = len(clips[0].rgb)
    N = ((T - C) // k) * k
    context = np.stack([c.rgb[:C] for c in clips])  # [B, C, H, W, 3]
    past = np.stack([c.actions[:C - 1] for c in clips])  # [B, C-1, 7]
    future = np.stack([c.actions[C - 1:C - 1 + N] for c in clips])  # [B, N, 7]: moves frame C-1 -> C ...
    preds = {"true actions": wm.rollout(context, past, future, seed=seed),
             "zero actions": wm.rollout(context, np.zeros_like(past), np.zeros_like(future), seed=seed),
             "copy last frame": np.repeat(context[:, -1:], N, axis=1)}
    per_clip, frames = [], {name: [] for name in preds}
    for i, clip in enumerate(clips):
        row = {"clip": getattr(clip, "key", None) or f"seed-{clip.meta.get('seed')}",
               "policy": (clip.meta.get("params") or {}).get("policy")}
        for name, p in preds.items():
            frames[name].append(frame_scores(p[i], clip, C))
            row[name] = score(p[i], clip, C, frames[name][-1])
        per_clip.append(row)
    def mean(vals: list[float]) -> float:
        vals = [v for v in vals if np.isfinite(v)]
        return float(np.mean(vals)) if vals else float("nan")

    variants = {name: {m: mean([r[name][m] for r in per_clip]) for m in per_clip[0][name]} for name in preds}
    groups = sorted({r["policy"] for r in per_clip if r["policy"]})
    per_policy = {pol: {name: {m: mean([r[name][m] for r in per_clip if r["policy"] == pol]) for m in per_clip[0][name]}
                        for name in preds} for pol in groups}
    chunks = {"frames_per_chunk": k, **{name: per_chunk(f, k) for name, f in frames.items()}}
    travel = {name: [f["object_travel_px"] for f in fs] for name, fs in frames.items()}
    policies = [r["policy"] for r in per_clip]
    travel_by_policy = {pol: travel_summary({name: [t for t, p in zip(rows, policies) if p == pol]
                                             for name, rows in travel.items()}) for pol in groups}
    return {"variants": variants, "per_policy": per_policy, "per_chunk": chunks, "per_clip": per_clip,
            "object_travel": {"all": travel_summary(travel), **travel_by_policy},
            "context_frames": C, "predicted_frames": N, "predictions": preds}


def action_sensitivity(wm, clips: list, sigmas: tuple[float, ...] = (0.2, 1.0, 3.0), seed: int = 0) -> dict:
    """Does the model use its actions? The denoiser's error with true, zeroed and shuffled actions.

    For windows of `1 + 2k` frames of each clip, the first latent frame conditions, noise of
    each level in `sigmas` (the same draw for every variant) is added to the rest, and the
    denoised estimate's mean squared error against the clean latent is measured with the
    clip's true actions, with zeros, and with another clip's actions. Unlike rollouts this has
    no sampling noise: a model that ignores its actions scores the three alike to 3-4 digits.
    Returns {"sigmas", "x0_mse": {variant: [per sigma]}, "zeroed_over_true", "shuffled_over_true"}.
    """
    from ..diffusion.conditioning import VideoCondition

    den, tok, k = wm.denoiser, wm.tokenizer, wm.k
    W = 1 + 2 * k
    g = torch.Generator().manual_seed(seed)
    errs: dict[str, list[list[float]]] = {"true": [], "zeroed": [], "shuffled": []}
    for ci, clip in enumerate(clips):
        other = clips[(ci + 1) % len(clips)] if len(clips) > 1 else None
        for start in range(0, len(clip.rgb) - W + 1, 2 * k):
            x = torch.from_numpy(clip.rgb[start:start + W]).float().div(127.5).sub(1)
            with torch.no_grad():
                z = tok.encode(rearrange(x, "t h w c -> 1 c t h w").to(wm.device)).float()
            acts = torch.from_numpy(np.asarray(clip.actions[start:start + W - 1], np.float32))[None].to(wm.device)
            shuf = (torch.from_numpy(np.asarray(other.actions[start:start + W - 1], np.float32))[None].to(wm.device)
                    if other is not None else torch.flip(acts, dims=[1]))
            vc = VideoCondition.build(z[:, :, :1], 1, z.shape[2], aug_sigma=0.001,
                                      generator=torch.Generator().manual_seed(seed))
            row = {name: [] for name in errs}
            for sig in sigmas:
                noise = torch.randn(z.shape, generator=g).to(wm.device)
                for name, a in (("true", acts), ("zeroed", torch.zeros_like(acts)), ("shuffled", shuf)):
                    with torch.no_grad():
                        out = den(z + sig * noise, torch.tensor([sig], device=wm.device),
                                  {**wm.text_cond, "actions": a}, video_cond=vc)
                    row[name].append(float((out - z)[:, :, 1:].float().pow(2).mean()))
            for name in errs:
                errs[name].append(row[name])
    mse = {name: np.mean(np.array(v), axis=0).tolist() for name, v in errs.items()}
    total = {name: float(np.sum(v)) for name, v in mse.items()}
    return {"sigmas": list(sigmas), "x0_mse": mse, "zeroed_over_true": total["zeroed"] / total["true"],
            "shuffled_over_true": total["shuffled"] / total["true"]}
