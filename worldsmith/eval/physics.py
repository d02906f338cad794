"""PhysAlign-64: score predicted continuations of simulator clips against the ground truth.

A *case* is one simulator clip (RGB, instance segmentation, meta with first-contact frames)
plus its 1%-perturbed re-simulation (the physical-variance ceiling). A *predictor* is any
callable `(case, K, n) -> uint8 [n, H, W, 3]` that sees the first K frames and predicts the
next n; the world model, the baselines and the ceilings are all predictors, scored by the
same code on the same clips in the same run.

Metrics per predicted clip (frames K..T-1), also split before/after the first contact:
PSNR and SSIM on the whole frame, PSNR on the moving-object region alone, object mask IoU
(masks in predicted frames from colour, see `objects.py`), centroid and velocity error
(normalised by the image width), and the Physics-IQ motion-mask scores (`motion.py`).
"""

from __future__ import annotations

import logging
import math
import os
from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from ..utils.errors import WorldsmithError
from . import baselines, motion, objects
from .metrics import ssim_per_frame

log = logging.getLogger(__name__)

Predictor = Callable[["PhysicsCase", int, int], np.ndarray]
PER_FRAME = ("psnr", "ssim", "psnr_moving", "mask_iou", "centroid_error", "velocity_error")
PER_CLIP = ("spatial_iou", "spatiotemporal_iou", "weighted_spatial_iou", "mse")


@dataclass
class PhysicsCase:
    """One test clip with everything the metrics need."""

    key: str
    scenario: str
    split: str  # "test" (in distribution) or "ood"
    rgb: np.ndarray  # uint8 [T, H, W, 3]
    seg: np.ndarray  # int [T, H, W]
    meta: dict
    caption: str = ""
    perturbed_rgb: np.ndarray | None = None  # the 1%-perturbed re-simulation
    actions: np.ndarray | None = None
    extra: dict = field(default_factory=dict)

    @property
    def object_ids(self) -> list[int]:
        return [int(o["seg_id"]) for o in self.meta.get("objects", [])]

    @property
    def moving_ids(self) -> list[int]:
        return objects.moving_ids_from_seg(self.seg, self.object_ids)

    def first_contact(self) -> int:
        """Earliest first-contact frame of any moving object; -1 if none."""
        fc = self.meta.get("first_contact", {}) or {}
        moving = set(self.moving_ids)
        frames = [int(v) for k, v in fc.items() if int(v) >= 0 and (not moving or int(k) in moving)]
        return min(frames) if frames else -1


def _psnr(mse: float) -> float:
    return float("inf") if mse <= 0 else 10.0 * math.log10(255.0 ** 2 / mse)


def score_prediction(pred: np.ndarray, case: PhysicsCase, K: int) -> dict:
    """All metrics for one prediction of frames K.. of `case`; per-frame arrays + clip scores."""
    truth = case.rgb[K:K + len(pred)]
    if pred.shape != truth.shape:
        raise ValueError(f"{case.key}: prediction {pred.shape} does not match truth {truth.shape}")
    seg_t = case.seg[K:K + len(pred)]
    ids = case.moving_ids
    diff2 = (pred.astype(np.float64) - truth.astype(np.float64)) ** 2  # [n, H, W, 3]
    per = {"psnr": np.array([_psnr(d.mean()) for d in diff2]),
           "ssim": np.array(ssim_per_frame(pred, truth))}
    region = objects.moving_region(seg_t, case.seg[K - 1], ids)  # [n, H, W]
    per["psnr_moving"] = np.array([
        _psnr(d[r].mean()) if r.any() else np.nan for d, r in zip(diff2, region)])
    if ids:
        cm = objects.fit_colour_model(case.rgb[:K], case.seg[:K], ids, _declared(case, ids))
        pm = objects.masks_from_colours(pred, cm)  # [n, k, H, W]
        tm = objects.masks_from_seg(seg_t, ids)
        per["mask_iou"] = _nanmean_axis(objects.mask_iou(pm, tm), 1)
        per["centroid_error"] = _nanmean_axis(objects.centroid_error(pm, tm), 1)
        # velocity from frame K-1 (true, known to the model) through the predictions
        pm_v = np.concatenate([objects.masks_from_seg(case.seg[K - 1:K], ids), pm])
        tm_v = np.concatenate([objects.masks_from_seg(case.seg[K - 1:K], ids), tm])
        per["velocity_error"] = _nanmean_axis(objects.velocity_error(pm_v, tm_v), 1)
    else:
        for k in ("mask_iou", "centroid_error", "velocity_error"):
            per[k] = np.full(len(pred), np.nan)
    clip = motion.motion_scores(pred, truth, last_cond=case.rgb[K - 1])
    return {"per_frame": per, "clip": clip}


def _declared(case: PhysicsCase, ids: list[int]) -> list:
    by_id = {int(o["seg_id"]): o.get("color") for o in case.meta.get("objects", [])}
    cols = [by_id.get(i) for i in ids]
    return cols if all(c is not None for c in cols) else None


def _nanmean_axis(a: np.ndarray, axis: int) -> np.ndarray:
    with np.errstate(invalid="ignore"):
        cnt = (~np.isnan(a)).sum(axis)
        s = np.nansum(a, axis)
        return np.where(cnt > 0, s / np.maximum(cnt, 1), np.nan)


def summarise(score: dict, K: int, contact: int) -> dict:
    """Mean of each per-frame metric over all / pre-contact / post-contact predicted frames."""
    out = {}
    n = len(score["per_frame"]["psnr"])
    frame_idx = np.arange(K, K + n)
    parts = {"all": np.ones(n, bool)}
    if contact >= 0:
        parts["pre"] = frame_idx < contact
        parts["post"] = frame_idx >= contact
    else:
        parts["pre"] = np.ones(n, bool)
        parts["post"] = np.zeros(n, bool)
    for part, sel in parts.items():
        for m in PER_FRAME:
            v = score["per_frame"][m][sel]
            v = v[np.isfinite(v)] if m.startswith("psnr") else v[~np.isnan(v)]
            out[f"{m}/{part}"] = float(v.mean()) if len(v) else None
    for m in PER_CLIP:
        out[m] = score["clip"][m]
    return out


def clip_means(pred: np.ndarray, case: PhysicsCase, K: int) -> dict[str, float]:
    """Whole-clip PSNR / SSIM / mask IoU of one prediction, as the benchmark's rows score it
    (`summarise`'s "/all": exactly predicted frames left out of PSNR); nan where undefined."""
    s = summarise(score_prediction(pred, case, K), K, -1)
    return {k: float("nan") if s[f"{m}/all"] is None else s[f"{m}/all"]
            for k, m in (("psnr", "psnr"), ("ssim", "ssim"), ("iou", "mask_iou"))}


def scenario_means(per: dict[str, list[dict[str, float]]]) -> dict[str, dict[str, float]]:
    """{scenario: [clip_means, ...]} -> {scenario: mean of each metric, "all": over every clip}."""
    def mean(rows: list[dict], k: str) -> float:
        v = np.array([r[k] for r in rows], float)
        return float(np.nanmean(v)) if np.isfinite(v).any() else float("nan")

    out = {s: {k: mean(rows, k) for k in ("psnr", "ssim", "iou")} for s, rows in per.items()}
    every = [r for rows in per.values() for r in rows]
    out["all"] = {k: mean(every, k) for k in ("psnr", "ssim", "iou")}
    return out


def validation_cases(cache: str, first_clip: int, clips: int) -> tuple[list[str], list[PhysicsCase]]:
    """(scenario names, cases): test-seed clips first_clip.. of every scenario, in distribution,
    cached in `cache`. With first_clip >= the benchmark's --clips these are clips `eval physics`
    does not score: the validation set on which inference settings are chosen."""
    from ..sim.clip import scenario_names
    from ..utils.progress import progress

    names = scenario_names()
    jobs = [(s, si, i) for si, s in enumerate(names) for i in range(first_clip, first_clip + clips)]
    return names, [load_or_simulate(cache, s, si, i, False) for s, si, i in progress(jobs, desc="clips")]


def copy_last_means(cases: list[PhysicsCase], K: int) -> dict[str, dict[str, float]]:
    """`scenario_means` of the copy-last-frame baseline on `cases` (K conditioning frames)."""
    per: dict[str, list] = {}
    for case in cases:
        pred = np.repeat(case.rgb[K - 1:K], case.rgb.shape[0] - K, axis=0)
        per.setdefault(case.scenario, []).append(clip_means(pred, case, K))
    return scenario_means(per)


def scenario_means_markdown(table: dict[str, dict], label: str, scenarios: list[str], iou: bool = True) -> str:
    """A markdown table of {row label: scenario_means(...)}: "PSNR / SSIM / IoU" per scenario and
    over all (`iou=False`: IoU only over all)."""
    cols = ["all"] + list(scenarios)
    lines = [f"| {label} | " + " | ".join(cols) + " |", "|---|" + "---|" * len(cols)]
    for name, rows in table.items():
        cells = [f"{rows[c]['psnr']:.2f} / {rows[c]['ssim']:.3f}" + (f" / {rows[c]['iou']:.3f}" if iou or c == "all" else "")
                 for c in cols]
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def baseline_predictors() -> dict[str, Predictor]:
    """copy-last, pixel-linear, constant-velocity, constant-acceleration (see baselines.py)."""
    def wrap(fn):
        return lambda case, K, n: fn(case.rgb[:K], case.seg[:K], case.moving_ids, n)
    return {name: wrap(fn) for name, fn in baselines.BASELINES.items()}


def physical_variance(case: PhysicsCase, K: int, n: int) -> np.ndarray:
    """Ceiling: the simulator's own 1%-perturbed re-run of the same clip."""
    if case.perturbed_rgb is None:
        raise ValueError(f"{case.key}: test set has no perturbed re-run")
    return case.perturbed_rgb[K:K + n]


def evaluate(cases: list[PhysicsCase], predictors: dict[str, Predictor], cond_frames=(1, 9),
             progress=None) -> dict:
    """Score every predictor on every case for every K; returns per-clip rows and aggregates."""
    rows = []
    for case in cases:
        contact = case.first_contact()
        for K in cond_frames:
            n = case.rgb.shape[0] - K
            if n <= 0:
                continue
            for name, pred_fn in predictors.items():
                if K < 2 and name in ("pixel_linear", "const_velocity", "const_acceleration"):
                    continue  # undefined from one frame: copy-last is the only K = 1 baseline
                row = {"key": case.key, "scenario": case.scenario, "split": case.split, "K": K,
                       "method": name, "contact": contact}
                try:
                    pred = np.asarray(pred_fn(case, K, n))
                    row.update(summarise(score_prediction(pred, case, K), K, contact))
                except Exception as e:  # a failing predictor is recorded, the run goes on
                    row["error"] = f"{type(e).__name__}: {e}"
                rows.append(row)
            if progress is not None:
                progress.update(1)
    return {"rows": rows, "aggregate": aggregate(rows)}


def aggregate(rows: list[dict]) -> dict:
    """{split: {scenario: {K: {method: {metric: mean}}}}} plus an 'all' scenario."""
    out: dict = {}
    metrics = [f"{m}/{p}" for m in PER_FRAME for p in ("all", "pre", "post")] + list(PER_CLIP)
    groups: dict = {}
    for r in rows:
        if "error" in r:
            continue
        for scen in (r["scenario"], "all"):
            groups.setdefault((r["split"], scen, r["K"], r["method"]), []).append(r)
    for (split, scen, K, method), rs in sorted(groups.items(), key=lambda x: str(x[0])):
        agg = {"clips": len(rs)}
        for m in metrics:
            vals = [r[m] for r in rs if r.get(m) is not None and np.isfinite(r[m])]
            agg[m] = float(np.mean(vals)) if vals else None
        out.setdefault(split, {}).setdefault(scen, {}).setdefault(str(K), {})[method] = agg
    return out


def make_case(clip, split: str, perturbed=None, key: str | None = None) -> PhysicsCase:
    """A PhysicsCase from a `worldsmith.sim.SimClip` (and its perturbed twin)."""
    return PhysicsCase(key=key or f"{clip.meta['scenario']}-{clip.meta['seed']}", scenario=clip.meta["scenario"],
                       split=split, rgb=clip.rgb, seg=clip.seg.astype(np.int16), meta=clip.meta,
                       caption=clip.caption, perturbed_rgb=None if perturbed is None else perturbed.rgb,
                       actions=clip.actions)


TEST_SEED_BASE = 10_000_000  # test seeds are far from any training seed a user picks by hand


def test_seed(scenario_index: int, i: int, ood: bool) -> int:
    """The fixed seed of test clip i (in-distribution or ood) of a scenario."""
    return TEST_SEED_BASE + scenario_index * 100_000 + (50_000 if ood else 0) + i


def _cache_path(root: str, scenario: str, seed: int, ood: bool, res: int, frames: int, fps: int) -> str:
    return os.path.join(root, f"{scenario}-{'ood' if ood else 'test'}-{seed}-r{res}-f{frames}-fps{fps}.npz")


def load_or_simulate(root: str, scenario: str, scenario_index: int, i: int, ood: bool, *,
                     resolution: int = 64, frames: int = 33, fps: int = 15, perturb: float = 0.01) -> PhysicsCase:
    """One test case, cached in `root` as a compressed .npz (reused on the next run)."""
    import json

    from ..sim.clip import caption_from_meta, simulate_clip
    from ..utils.atomic import atomic_path

    seed = test_seed(scenario_index, i, ood)
    path = _cache_path(root, scenario, seed, ood, resolution, frames, fps)
    split = "ood" if ood else "test"
    if os.path.exists(path):
        z = np.load(path, allow_pickle=False)
        meta = json.loads(str(z["meta"]))
        try:  # the caption is written again: a cache outlives captioner fixes
            caption = caption_from_meta(meta)
        except WorldsmithError as e:
            log.warning("%s: %s; simulating the clip again", path, e)
        else:
            return PhysicsCase(key=f"{scenario}-{split}-{seed}", scenario=scenario, split=split, rgb=z["rgb"],
                               seg=z["seg"].astype(np.int16), meta=meta, caption=caption,
                               perturbed_rgb=z["perturbed_rgb"], actions=z["actions"] if "actions" in z else None)
    clip = simulate_clip(scenario, seed, resolution=resolution, frames=frames, fps=fps, ood=ood)
    pert = simulate_clip(scenario, seed, resolution=resolution, frames=frames, fps=fps, ood=ood, perturb=perturb)
    case = make_case(clip, split, pert, key=f"{scenario}-{split}-{seed}")
    meta_json = json.dumps(clip.meta, default=_json_default)
    case.meta = json.loads(meta_json)  # the same (JSON) form whether fresh or from the cache
    arrays = dict(rgb=clip.rgb, seg=clip.seg, perturbed_rgb=pert.rgb, caption=np.array(clip.caption),
                  meta=np.array(meta_json))
    if clip.actions is not None:
        arrays["actions"] = clip.actions
    os.makedirs(root, exist_ok=True)
    with atomic_path(path) as tmp:
        with open(tmp, "wb") as f:
            np.savez_compressed(f, **arrays)
    return case


def _json_default(o):
    if isinstance(o, np.generic):
        return o.item()
    if isinstance(o, np.ndarray):
        return o.tolist()
    raise TypeError(type(o).__name__)
