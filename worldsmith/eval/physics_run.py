"""`worldsmith eval physics`: build/reuse the fixed-seed test set, run predictors, write results + report.

The world model (when given), the four baselines and the ceilings are scored on the same
clips in the same run; `results.json` holds every per-clip row and the aggregates, and
`report.html` shows them per scenario with the targets checked in plain words.
"""

from __future__ import annotations

import datetime
import os
import platform

import numpy as np

from ..utils.atomic import atomic_write_json, atomic_write_text
from ..utils.errors import WorldsmithError
from ..utils.progress import progress
from . import physics, report
from .model_predictors import NEUTRAL_PROMPT

PASSIVE = ("fall", "projectile", "collision", "incline", "pendulum", "stack", "dominoes", "seesaw")
BASELINES = ("copy_last", "pixel_linear", "const_velocity", "const_acceleration")
CEILINGS = ("physical_variance", "tokenizer_recon")
SUMMARY_METRICS = [("psnr/all", "PSNR", 1), ("ssim/all", "SSIM", 1), ("psnr_moving/all", "PSNR moving", 1),
                   ("mask_iou/all", "mask IoU", 1), ("centroid_error/post", "centroid err post", -1),
                   ("velocity_error/all", "velocity err", -1), ("spatial_iou", "spatial IoU", 1),
                   ("spatiotemporal_iou", "spatiotemp. IoU", 1), ("weighted_spatial_iou", "weighted IoU", 1)]


def build_cases(scenarios: list[str], clips: int, ood_clips: int, cache_dir: str, *,
                resolution: int = 64, frames: int = 33, fps: int = 15) -> tuple[list, list[dict]]:
    """Load (or simulate and cache) the fixed-seed test set; failures are recorded, not fatal."""
    from ..sim.clip import scenario_names

    known = scenario_names()
    for s in scenarios:
        if s not in known:
            raise WorldsmithError(f"--scenarios: unknown scenario {s!r} (known: {', '.join(known)})")
    jobs = [(s, known.index(s), i, ood) for s in scenarios
            for ood, count in ((False, clips), (True, ood_clips)) for i in range(count)]
    cases, failures = [], []
    with progress(total=len(jobs), desc="test set", unit="clip") as bar:
        for s, si, i, ood in jobs:
            try:
                cases.append(physics.load_or_simulate(cache_dir, s, si, i, ood, resolution=resolution,
                                                      frames=frames, fps=fps))
            except Exception as e:  # one bad clip must not sink the benchmark
                failures.append({"scenario": s, "index": i, "ood": ood, "error": f"{type(e).__name__}: {e}"})
            bar.update(1)
    return cases, failures


def run(out_dir: str, predictors: dict | None = None, *, scenarios: list[str] | None = None,
        clips: int = 50, ood_clips: int = 25, cond_frames=(1, 9), resolution: int = 64, frames: int = 33,
        fps: int = 15, cache_dir: str | None = None, videos_per_scenario: int = 2,
        model_name: str | None = None, settings: dict | None = None) -> dict:
    """Score `predictors` (name -> fn(case, K, n)) plus baselines and physical variance; write outputs."""
    from ..sim.clip import scenario_names

    scenarios = list(scenarios or scenario_names())
    if max(cond_frames) >= frames:
        raise WorldsmithError(f"--cond-frames {max(cond_frames)} must be smaller than --frames {frames}")
    os.makedirs(out_dir, exist_ok=True)
    cache_dir = cache_dir or os.path.join(out_dir, "testset")
    cases, failures = build_cases(scenarios, clips, ood_clips, cache_dir, resolution=resolution,
                                  frames=frames, fps=fps)
    if not cases:
        raise WorldsmithError(f"no test clip could be built ({len(failures)} failed; see {out_dir}/results.json)")
    preds = dict(predictors or {})
    preds.update(physics.baseline_predictors())
    preds["physical_variance"] = physics.physical_variance
    with progress(total=len(cases), desc="scoring", unit="clip") as bar:
        res = physics.evaluate(cases, preds, cond_frames=tuple(cond_frames), progress=bar)
    results = {
        "benchmark": "PhysAlign-64", "model": model_name, "date": datetime.datetime.now().isoformat(timespec="seconds"),
        "machine": f"{platform.node()} {platform.machine()} {os.cpu_count()} cores",
        "settings": {"scenarios": scenarios, "clips": clips, "ood_clips": ood_clips,
                     "cond_frames": list(cond_frames), "resolution": resolution, "frames": frames, "fps": fps,
                     **(settings or {})},
        "methods": list(preds), "failures": failures, "aggregate": res["aggregate"], "rows": res["rows"],
    }
    results["targets"] = check_targets(results["aggregate"], model_name)
    if model_name and f"{model_name}_mean" in preds:  # the same milestones for the posterior mean
        results["targets"] += [dict(t, target=f"{t['target']} [one-step posterior mean]", method=f"{model_name}_mean")
                               for t in check_targets(results["aggregate"], f"{model_name}_mean")]
    results["dynamics_check"] = dynamics_check(results["aggregate"], model_name, max(cond_frames))
    results["caption_check"] = caption_check(results["aggregate"], model_name, max(cond_frames))
    atomic_write_json(os.path.join(out_dir, "results.json"), results)
    videos = sample_videos(cases, preds, results, model_name, videos_per_scenario, max(cond_frames))
    atomic_write_text(os.path.join(out_dir, "report.html"), render_report(results, videos))
    return results


def _get(agg, split, scen, K, method, metric):
    try:
        return agg[split][scen][str(K)][method][metric]
    except KeyError:
        return None


def _share_removed(agg: dict, model: str | None, K: int, ablated: str, keys: tuple[str, str, str]) -> dict | None:
    """Per scenario (in distribution, K frames), the MSE of the model's posterior mean and of
    `<model><ablated>` (the same read with one input taken away), and the share of the latter's
    error that the input removes: 1 - MSE(full) / MSE(ablated). `keys`: (full, ablated, share) names."""
    if not model:
        return None
    test = agg.get("test", {})
    some = test.get("all", {}).get(str(K), {})
    other = f"{model}{ablated}"
    full = f"{model}_mean" if f"{model}_mean" in some else model
    if other not in some or full not in some:
        return None
    k_full, k_other, k_share = keys
    out = {k_full: full, k_other: other, "K": K, "scenarios": {}}
    for scen, byk in test.items():
        a, b = (byk.get(str(K), {}).get(m, {}).get("mse") for m in (full, other))
        if a is not None and b:
            out["scenarios"][scen] = {f"mse_{k_full}": a, f"mse_{k_other}": b, k_share: 1 - a / b}
    return out


def dynamics_check(agg: dict, model: str | None, K: int) -> dict | None:
    """Does the model use the motion it is shown? Its posterior mean from the true past against the
    same from a past that stands still (`<model>_static_past`): "uses_the_past" = 1 - MSE(true) /
    MSE(static). About 0 means its edge over copy-last is hedging, not dynamics."""
    return _share_removed(agg, model, K, "_static_past", ("true_past", "static_past", "uses_the_past"))


def caption_check(agg: dict, model: str | None, K: int) -> dict | None:
    """How much does the model lean on the caption? Its posterior mean with the clip's caption against
    the same with a neutral one (`<model>_no_caption`, the prompt a clip without caption gets):
    "uses_the_caption" = 1 - MSE(caption) / MSE(neutral). Large next to a small "uses_the_past":
    the model predicts from the text more than from the motion it is shown."""
    return _share_removed(agg, model, K, "_no_caption", ("caption", "no_caption", "uses_the_caption"))


def check_targets(agg: dict, model: str | None) -> list[dict]:
    """The issue's milestones, each with pass/fail and the numbers behind it (None if not scored)."""
    if not model or "test" not in agg:
        return []
    out = []
    scen = [s for s in agg["test"] if s != "all"]
    for metric, label in (("psnr/all", "PSNR"), ("ssim/all", "SSIM"), ("mask_iou/all", "mask IoU")):
        losers = [s for s in scen if (_get(agg, "test", s, 9, model, metric) or -1e9)
                  <= (_get(agg, "test", s, 9, "copy_last", metric) or 1e9)]
        out.append({"target": f"K=9: better {label} than copy-last in every scenario",
                    "passed": not losers, "detail": f"not in: {', '.join(losers)}" if losers else "all scenarios"})
    passive = [s for s in scen if s in PASSIVE]
    wins = [s for s in passive if (_get(agg, "test", s, 9, model, "centroid_error/post") or 1e9)
            < (_get(agg, "test", s, 9, "const_acceleration", "centroid_error/post") or -1e9)]
    need = min(6, len(passive))
    out.append({"target": f"K=9: lower post-contact centroid error than constant acceleration in >= {need} "
                f"of {len(passive)} passive scenarios", "passed": len(wins) >= need,
                "detail": f"{len(wins)} wins: {', '.join(wins) or 'none'}"})
    i1, i9 = _get(agg, "test", "all", 1, model, "mask_iou/all"), _get(agg, "test", "all", 9, model, "mask_iou/all")
    out.append({"target": "clearly better mask IoU with 9 conditioning frames than with 1 (+0.05)",
                "passed": i1 is not None and i9 is not None and i9 >= i1 + 0.05,
                "detail": f"K=1 {report.fmt(i1)} vs K=9 {report.fmt(i9)}"})
    return out


def sample_videos(cases, preds, results, model, per_scenario: int, K: int) -> dict:
    """{scenario: [(caption, frames)]}: truth | model | best baseline for a few clips, K conditioning."""
    agg = results["aggregate"].get("test", {})
    out: dict = {}
    for case in cases:
        if case.split != "test" or len(out.get(case.scenario, [])) >= per_scenario:
            continue
        n = case.rgb.shape[0] - K
        best = max(BASELINES, key=lambda b: _get(results["aggregate"], "test", case.scenario, K, b, "psnr_moving/all")
                   or -1e9) if agg else "copy_last"
        names = ["truth"] + ([model] if model else []) + [best]
        vids = []
        for name in names:
            if name == "truth":
                vids.append(case.rgb)
                continue
            try:
                pred = np.asarray(preds[name](case, K, n))
            except Exception:
                pred = np.zeros_like(case.rgb[K:])
            vids.append(np.concatenate([case.rgb[:K], pred], 0))
        out.setdefault(case.scenario, []).append(
            (f"{case.key}: {' | '.join(names)} (first {K} frames given). {case.caption}", report.side_by_side(vids)))
    return out


def _summary_table(agg: dict, split: str, scen: str, K: int, methods: list[str]) -> str:
    rows, classes = [], []
    present = [m for m in methods if _get(agg, split, scen, K, m, "clips")]
    for m in present:
        rows.append([m] + [_get(agg, split, scen, K, m, key) for key, _, _ in SUMMARY_METRICS])
    for r, m in zip(rows, present):
        classes.append(["ceiling" if m in CEILINGS else "" for _ in r])
    for j, (_, _, sign) in enumerate(SUMMARY_METRICS, start=1):
        cand = [(r[j], i) for i, (r, m) in enumerate(zip(rows, present)) if m not in CEILINGS and r[j] is not None]
        if cand:
            _, best = max(cand) if sign > 0 else min(cand)
            classes[best][j] = "best"
    return report.table(["method"] + [lab for _, lab, _ in SUMMARY_METRICS], rows, classes)


def render_report(results: dict, videos: dict) -> str:
    agg, st = results["aggregate"], results["settings"]
    methods = results["methods"]
    model = results.get("model")
    body = [f"<p class='note'>{report.esc(results['date'])} · {report.esc(results['machine'])} · "
            f"{len(st['scenarios'])} scenarios × {st['clips']} clips (+{st['ood_clips']} out-of-distribution) · "
            f"{st['frames']} frames at {st['resolution']} px, {st['fps']} fps · K = {st['cond_frames']} "
            f"conditioning frames. Ceilings (italic) are not beatable: <i>physical_variance</i> is the simulator's "
            f"own 1%-perturbed re-run; best non-ceiling value in bold green.</p>"]
    if not model:
        body.append("<p class='warn'>No world model given: baselines and ceilings only.</p>")
    if results["targets"]:
        body.append("<h2>Targets</h2>" + report.table(
            ["target", "result", "detail"],
            [[t["target"], "PASS" if t["passed"] else "FAIL — we fall short here", t["detail"]]
             for t in results["targets"]]))
    for key, title, what, cols in (
            ("dynamics_check", "Does the model use the motion it is shown?",
             "against the same from a past that stands still (the last given frame repeated): the share of the "
             "static-past error that the true past removes. Near 0, the model's edge over copy-last is hedging "
             "(blurring where something might move), not dynamics.",
             ("true_past", "static_past", "uses_the_past", "MSE x 1000, true past", "MSE x 1000, static past",
              "uses the past")),
            ("caption_check", "How much does the model lean on the caption?",
             f"against the same with a neutral prompt (\"{NEUTRAL_PROMPT}\", what a clip without a caption gets): "
             "the share of the neutral-prompt error that the caption removes. Large next to a small share above, "
             "the model predicts from the text more than from the frames.",
             ("caption", "no_caption", "uses_the_caption", "MSE x 1000, caption", "MSE x 1000, neutral prompt",
              "uses the caption"))):
        chk = results.get(key)
        if not chk or not chk["scenarios"]:
            continue
        a, b, share_key, col_a, col_b, col_share = cols
        scen = ["all"] + [s for s in chk["scenarios"] if s != "all"]
        share = chk["scenarios"].get("all", {}).get(share_key)
        body.append(f"<h2>{title}</h2><p class='note'>Its posterior mean from {chk['K']} frames {what} Over all "
                    f"scenarios: <b>{report.fmt(None if share is None else 100 * share, 1)}%</b>.</p>" + report.table(
                        ["scenario", col_a, col_b, col_share],
                        [[s, f"{1000 * chk['scenarios'][s][f'mse_{a}']:.3f}", f"{1000 * chk['scenarios'][s][f'mse_{b}']:.3f}",
                          f"{100 * chk['scenarios'][s][share_key]:+.1f}%"] for s in scen if s in chk["scenarios"]]))
    if results["failures"]:
        body.append(f"<p class='warn'>{len(results['failures'])} test clips could not be built; see results.json.</p>")
    for split, title in (("test", "In distribution"), ("ood", "Out of distribution (speed, size or mass outside the training range)")):
        if split not in agg:
            continue
        body.append(f"<h2>{title}: all scenarios</h2>")
        for K in st["cond_frames"]:
            body.append(f"<h3>K = {K}</h3>" + _summary_table(agg, split, "all", K, methods))
    body.append("<h2>Per scenario (in distribution)</h2>")
    K = max(st["cond_frames"])
    for scen in [s for s in st["scenarios"] if s in agg.get("test", {})]:
        body.append(f"<h3>{report.esc(scen)}</h3>")
        for k in st["cond_frames"]:
            body.append(f"<p class='note'>K = {k}</p>" + _summary_table(agg, "test", scen, k, methods))
        shown = [m for m in methods if _get(agg, "test", scen, K, m, "clips")]
        charts = [report.bar_chart(f"{lab} (K = {K})", [scen], {m: [_get(agg, "test", scen, K, m, key)] for m in shown},
                                   width=300, height=180)
                  for key, lab in (("mask_iou/all", "mask IoU"), ("psnr_moving/all", "PSNR moving region"),
                                   ("centroid_error/post", "centroid error after contact"))]
        body.append("<div class='row'>" + "".join(charts) + "</div>")
        if videos.get(scen):
            body.append("<div class='row'>" + "".join(
                report.video_figure(v, st["fps"], cap) for cap, v in videos[scen]) + "</div>")
    return report.page(f"Physics alignment: {model or 'baselines only'}", "".join(body))
