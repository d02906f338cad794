"""Metrics and baselines on hand-made cases with known answers."""

import json

import numpy as np
import pytest

from worldsmith.eval import baselines, motion, objects


def square_clip(T=6, H=32, W=32, size=6, start=(4, 2), vel=(0, 3), acc=(0, 0), colour=(30, 200, 30)):
    """A flat square on a grey background moving with constant acceleration; returns frames, seg."""
    frames = np.full((T, H, W, 3), 90, np.uint8)
    seg = np.zeros((T, H, W), np.int16)
    for t in range(T):
        y = int(round(start[0] + vel[0] * t + 0.5 * acc[0] * t * t))
        x = int(round(start[1] + vel[1] * t + 0.5 * acc[1] * t * t))
        frames[t, y:y + size, x:x + size] = colour
        seg[t, y:y + size, x:x + size] = 1
    return frames, seg


def test_mask_iou_known():
    a = np.zeros((4, 4), bool); a[:2, :2] = True   # 4 px
    b = np.zeros((4, 4), bool); b[:2, :] = True    # 8 px, overlap 4
    assert objects.mask_iou(a, b) == pytest.approx(0.5)
    assert np.isnan(objects.mask_iou(np.zeros((4, 4), bool), np.zeros((4, 4), bool)))


def test_centroid_and_errors():
    m = np.zeros((1, 1, 10, 10), bool); m[0, 0, 2:4, 6:8] = True
    assert objects.centroids(m)[0, 0] == pytest.approx([2.5, 6.5])
    shifted = np.roll(m, 2, axis=-1)
    assert objects.centroid_error(shifted, m, normalise=False)[0, 0] == pytest.approx(2.0)
    assert objects.centroid_error(shifted, m)[0, 0] == pytest.approx(0.2)
    # a vanished object is penalised, not ignored
    assert objects.centroid_error(np.zeros_like(m), m, normalise=False)[0, 0] > 0


def test_velocity_error_known():
    _, seg = square_clip(vel=(0, 2))
    _, seg2 = square_clip(vel=(0, 3))
    t = objects.masks_from_seg(seg, [1])
    p = objects.masks_from_seg(seg2, [1])
    err = objects.velocity_error(p, t, normalise=False)
    assert np.allclose(err, 1.0)


def test_colour_masks_recover_seg_under_shading():
    frames, seg = square_clip()
    shaded = frames.astype(np.int16)
    shaded[..., :] += np.random.default_rng(0).integers(-12, 12, shaded.shape[:3])[..., None]
    shaded = np.clip(shaded, 0, 255).astype(np.uint8)
    model = objects.fit_colour_model(shaded[:3], seg[:3], [1], declared_colours=[(30, 200, 30)])
    masks = objects.masks_from_colours(shaded, model)
    iou = objects.mask_iou(masks[:, 0], seg == 1)
    assert np.nanmean(iou) == 1.0


def test_motion_masks_and_ious():
    frames, _ = square_clip()
    still = np.repeat(frames[:1], len(frames), 0)
    m = motion.motion_masks(frames)
    assert m[0].sum() == 0 and m[1:].any()
    assert motion.spatial_iou(m, m) == 1.0
    assert motion.spatiotemporal_iou(m, m) == 1.0
    assert motion.weighted_spatial_iou(m, m) == 1.0
    s = motion.motion_scores(still, frames)
    assert s["spatial_iou"] == 0.0 and s["mse"] > 0
    # identical frames: perfect, zero error
    assert motion.motion_scores(frames, frames)["mse"] == 0.0


def test_copy_last_and_pixel_linear():
    frames, _ = square_clip()
    out = baselines.copy_last(frames[:3], 4)
    assert out.shape == (4, 32, 32, 3) and (out == frames[2]).all()
    ramp = np.stack([np.full((2, 2, 3), v, np.uint8) for v in (10, 20, 30)])
    lin = baselines.pixel_linear(ramp, 2)
    assert lin[:, 0, 0, 0].tolist() == [40, 50]
    assert (baselines.pixel_linear(ramp[:1], 2) == ramp[0]).all()  # K = 1: copy-last


@pytest.mark.parametrize("degree,acc", [(1, (0, 0)), (2, (0, 2))])
def test_object_extrapolation_exact_on_its_own_motion(degree, acc):
    T, K = 9, 5
    frames, seg = square_clip(T=T, H=48, W=64, vel=(0, 2), acc=acc)
    pred = baselines.object_extrapolation(frames[:K], seg[:K], [1], T - K, degree=degree)
    assert pred.shape == (T - K, 48, 64, 3)
    # the square lands where it truly is (integer positions): pixel-exact
    assert (pred == frames[K:]).all()


def test_constant_velocity_misses_acceleration():
    T, K = 9, 5
    frames, seg = square_clip(T=T, H=48, W=64, vel=(0, 1), acc=(0, 2))
    cv = baselines.constant_velocity(frames[:K], seg[:K], [1], T - K)
    ca = baselines.constant_acceleration(frames[:K], seg[:K], [1], T - K)
    truth = objects.masks_from_seg(seg[K:], [1])
    model = objects.fit_colour_model(frames[:K], seg[:K], [1])
    err_cv = np.nanmean(objects.centroid_error(objects.masks_from_colours(cv, model), truth))
    err_ca = np.nanmean(objects.centroid_error(objects.masks_from_colours(ca, model), truth))
    assert err_ca < 1e-9 < err_cv


def test_moving_ids_and_region():
    frames, seg = square_clip()
    seg = seg.copy()
    seg[:, 28:30, 28:30] = 2  # a static object
    assert objects.moving_ids_from_seg(seg, [1, 2]) == [1]
    region = objects.moving_region(seg[3:], seg[2], [1])
    assert region.shape == (3, 32, 32) and region[0][seg[2] == 1].all()


def test_physics_benchmark_on_a_real_sim_clip(tmp_path):
    """Baselines and the physical-variance ceiling scored on a real simulator clip, cached for reuse."""
    from worldsmith.eval import physics

    case = physics.load_or_simulate(str(tmp_path), "collision", 2, 0, False, resolution=48, frames=21)
    again = physics.load_or_simulate(str(tmp_path), "collision", 2, 0, False, resolution=48, frames=21)
    assert (again.rgb == case.rgb).all() and (again.seg == case.seg).all() and again.meta == case.meta
    assert again.caption == case.caption
    # a cache written by an older captioner gets today's caption, written again from its meta
    path = next(tmp_path.glob("collision-test-*.npz"))
    with np.load(path) as z:
        arrays = {k: z[k] for k in z.files}
    arrays["caption"] = np.array("an out-of-date caption")
    np.savez_compressed(path, **arrays)
    assert physics.load_or_simulate(str(tmp_path), "collision", 2, 0, False, resolution=48, frames=21).caption == case.caption
    # a cache whose meta cannot give a caption any more is simulated again (and rewritten), not fatal
    meta = json.loads(str(arrays["meta"]))
    del meta["outcome"]
    arrays["meta"] = np.array(json.dumps(meta))
    np.savez_compressed(path, **arrays)
    rebuilt = physics.load_or_simulate(str(tmp_path), "collision", 2, 0, False, resolution=48, frames=21)
    assert rebuilt.caption == case.caption and (rebuilt.rgb == case.rgb).all()
    with np.load(path) as z:
        assert "outcome" in json.loads(str(z["meta"]))
    preds = {**physics.baseline_predictors(), "physical_variance": physics.physical_variance,
             "truth": lambda c, K, n: c.rgb[K:K + n]}
    res = physics.evaluate([case], preds, cond_frames=(1, 9))
    rows = {(r["K"], r["method"]): r for r in res["rows"]}
    assert (1, "const_velocity") not in rows  # undefined from one frame
    assert all("error" not in r for r in rows.values())
    truth = rows[(9, "truth")]
    assert truth["mask_iou/all"] > 0.9 and truth["psnr/all"] == truth["psnr/all"]  # finite-or-inf, not NaN
    assert truth["spatial_iou"] == 1.0 and truth["mse"] == 0.0
    assert rows[(9, "physical_variance")]["mask_iou/all"] > rows[(9, "copy_last")]["mask_iou/all"]
    agg = res["aggregate"]["test"]["collision"]["9"]
    assert set(agg) == set(preds) and agg["copy_last"]["clips"] == 1
    # the benchmarks' per-clip means are the rows' "/all" scores; exact frames leave PSNR undefined
    n = case.rgb.shape[0] - 9
    copy = physics.clip_means(preds["copy_last"](case, 9, n), case, 9)
    cl = rows[(9, "copy_last")]
    assert copy == pytest.approx({"psnr": cl["psnr/all"], "ssim": cl["ssim/all"], "iou": cl["mask_iou/all"]})
    exact = physics.clip_means(case.rgb[9:], case, 9)
    assert np.isnan(exact["psnr"]) and exact["ssim"] == pytest.approx(1.0) and exact["iou"] > 0.9
    table = physics.scenario_means({"collision": [copy, exact]})
    assert table["collision"]["psnr"] == pytest.approx(copy["psnr"])  # the undefined clip is left out
    assert table["all"]["ssim"] == pytest.approx((copy["ssim"] + 1.0) / 2, rel=1e-6)
    # the validation benchmarks' copy-last row is the same baseline, scored the same way
    assert physics.copy_last_means([case], 9)["collision"] == pytest.approx(copy)


def _agg(**scenarios) -> dict:
    """An aggregate with one K = 9 cell {"mse", "clips"} per (scenario, method): _agg(fall={"m": 1.0})."""
    return {"test": {s: {"9": {m: {"mse": v, "clips": 1} for m, v in cells.items()}} for s, cells in scenarios.items()}}


def test_dynamics_check_is_the_share_of_the_still_past_error_the_true_past_removes():
    from worldsmith.eval.physics_run import dynamics_check

    agg = _agg(fall={"m_mean": 30.0, "m_static_past": 40.0, "m": 50.0},
               all={"m_mean": 20.0, "m_static_past": 20.0, "m": 50.0})
    dyn = dynamics_check(agg, "m", 9)
    assert dyn["true_past"] == "m_mean" and dyn["static_past"] == "m_static_past"
    assert dyn["scenarios"]["fall"]["uses_the_past"] == pytest.approx(0.25)  # 1 - 30 / 40
    assert dyn["scenarios"]["all"]["uses_the_past"] == 0.0  # no better from the true past: hedging only
    del agg["test"]["all"]["9"]["m_mean"], agg["test"]["fall"]["9"]["m_mean"]  # sampler "mean": the model is the mean
    assert dynamics_check(agg, "m", 9)["scenarios"]["fall"]["uses_the_past"] == pytest.approx(-0.25)
    assert dynamics_check(agg, None, 9) is None and dynamics_check(agg, "m", 1) is None


def test_caption_check_is_the_share_of_the_neutral_prompt_error_the_caption_removes():
    from worldsmith.eval.physics_run import caption_check

    agg = _agg(projectile={"m_mean": 10.0, "m_no_caption": 40.0, "m_static_past": 12.0},
               fall={"m_mean": 30.0, "m_no_caption": 25.0, "m_static_past": 40.0},
               all={"m_mean": 20.0, "m_no_caption": 32.5, "m_static_past": 26.0})
    cap = caption_check(agg, "m", 9)
    assert cap["caption"] == "m_mean" and cap["no_caption"] == "m_no_caption" and cap["K"] == 9
    assert cap["scenarios"]["projectile"]["uses_the_caption"] == pytest.approx(0.75)  # 1 - 10 / 40
    assert cap["scenarios"]["fall"]["uses_the_caption"] == pytest.approx(-0.2)  # the caption misleads here
    assert cap["scenarios"]["all"]["mse_caption"] == 20.0 and cap["scenarios"]["all"]["mse_no_caption"] == 32.5
    del agg["test"]["all"]["9"]["m_no_caption"]  # not scored (e.g. a sampler without the mean): no check
    assert caption_check(agg, "m", 9) is None and caption_check(agg, None, 9) is None
