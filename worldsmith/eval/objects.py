"""Object-level physics metrics: masks from flat colours, mask IoU, centroid and velocity error.

The simulator renders flat-coloured objects and exports an instance segmentation for every
frame, so ground-truth masks are exact. A predicted frame has no segmentation, so its masks
come from colour: each object's colour model is calibrated on the conditioning frames the
model saw (the true pixels under the true mask, which carry the renderer's shading), plus the
object's declared colour; the background gets its own prototypes; every predicted pixel goes
to the nearest prototype. That is the PhyWorld recipe ("ball position parsed from a colour
mask") made robust to shading.

Shapes: frames uint8 [T, H, W, 3]; seg int [T, H, W] (0 = background, k = object k);
masks bool [T, K, H, W] for K objects (in the order of `seg_ids`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass
class ColourModel:
    """Colour prototypes per object and for the background (RGB float)."""

    seg_ids: list[int]
    object_protos: list[np.ndarray]  # per object: [P_k, 3]
    background_protos: np.ndarray  # [P_b, 3]
    max_dist: float = 60.0  # a pixel farther than this from every object prototype is background


def _kmeans(points: np.ndarray, k: int, iters: int = 10, seed: int = 0) -> np.ndarray:
    """Tiny deterministic k-means on [N, 3] points -> [<=k, 3] centres."""
    points = points.astype(np.float32)
    if len(points) == 0:
        return np.zeros((0, 3), np.float32)
    uniq = np.unique(points, axis=0)
    if len(uniq) <= k:
        return uniq
    rng = np.random.default_rng(seed)
    centres = uniq[rng.choice(len(uniq), size=k, replace=False)]
    for _ in range(iters):
        d = ((points[:, None, :] - centres[None]) ** 2).sum(-1)  # [N, k]
        assign = d.argmin(1)
        for j in range(k):
            sel = points[assign == j]
            if len(sel):
                centres[j] = sel.mean(0)
    return centres


def fit_colour_model(frames: np.ndarray, seg: np.ndarray, seg_ids: list[int],
                     declared_colours: list[tuple[int, int, int]] | None = None,
                     protos_per_object: int = 3, background_protos: int = 6,
                     max_samples: int = 4000, seed: int = 0) -> ColourModel:
    """Calibrate colour prototypes from true frames + their segmentation (the conditioning frames)."""
    if frames.shape[:3] != seg.shape:
        raise ValueError(f"frames {frames.shape} and seg {seg.shape} do not match")
    rng = np.random.default_rng(seed)
    pix = frames.reshape(-1, 3).astype(np.float32)  # [T*H*W, 3]
    lab = seg.reshape(-1)

    def sample(sel: np.ndarray) -> np.ndarray:
        idx = np.flatnonzero(sel)
        if len(idx) > max_samples:
            idx = rng.choice(idx, size=max_samples, replace=False)
        return pix[idx]

    protos = []
    for i, sid in enumerate(seg_ids):
        p = _kmeans(sample(lab == sid), protos_per_object, seed=seed)
        if declared_colours is not None:
            p = np.concatenate([p, np.asarray(declared_colours[i], np.float32)[None]], 0)
        protos.append(p)
    bg = _kmeans(sample(~np.isin(lab, seg_ids)), background_protos, seed=seed)
    return ColourModel(list(seg_ids), protos, bg)


def masks_from_colours(frames: np.ndarray, model: ColourModel) -> np.ndarray:
    """Assign each pixel to the nearest prototype -> bool masks [T, K, H, W]."""
    T, H, W, _ = frames.shape
    K = len(model.seg_ids)
    pix = frames.reshape(-1, 3).astype(np.float32)  # [N, 3]
    dists = []
    for p in model.object_protos:
        if len(p) == 0:
            dists.append(np.full(len(pix), np.inf, np.float32))
        else:
            dists.append(np.sqrt(((pix[:, None] - p[None]) ** 2).sum(-1)).min(1))
    obj_d = np.stack(dists, 1) if dists else np.zeros((len(pix), 0), np.float32)  # [N, K]
    if len(model.background_protos):
        bg_d = np.sqrt(((pix[:, None] - model.background_protos[None]) ** 2).sum(-1)).min(1)
    else:
        bg_d = np.full(len(pix), np.inf, np.float32)
    masks = np.zeros((len(pix), K), bool)
    if K:
        best = obj_d.argmin(1)
        best_d = obj_d[np.arange(len(pix)), best]
        is_obj = (best_d < bg_d) & (best_d <= model.max_dist)
        masks[np.flatnonzero(is_obj), best[is_obj]] = True
    return masks.reshape(T, H, W, K).transpose(0, 3, 1, 2)  # [T, K, H, W]


def masks_from_seg(seg: np.ndarray, seg_ids: list[int]) -> np.ndarray:
    """Ground-truth instance masks: seg [T, H, W] -> bool [T, K, H, W]."""
    return np.stack([seg == sid for sid in seg_ids], axis=1)


def mask_iou(pred: np.ndarray, true: np.ndarray, empty: float = np.nan) -> np.ndarray:
    """IoU over the last two axes; where both masks are empty, `empty` (NaN = not counted)."""
    inter = np.logical_and(pred, true).sum((-2, -1))
    union = np.logical_or(pred, true).sum((-2, -1))
    with np.errstate(invalid="ignore", divide="ignore"):
        iou = inter / union
    return np.where(union == 0, empty, iou)


def centroids(masks: np.ndarray) -> np.ndarray:
    """Centroid (y, x) in pixels of each mask over the last two axes; NaN where empty."""
    H, W = masks.shape[-2:]
    ys = np.arange(H, dtype=np.float64)[:, None]
    xs = np.arange(W, dtype=np.float64)[None, :]
    area = masks.sum((-2, -1)).astype(np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        cy = (masks * ys).sum((-2, -1)) / area
        cx = (masks * xs).sum((-2, -1)) / area
    out = np.stack([cy, cx], -1)
    out[area == 0] = np.nan
    return out


def centroid_error(pred_masks: np.ndarray, true_masks: np.ndarray, normalise: bool = True) -> np.ndarray:
    """Euclidean centroid distance per [T, K]; divided by the image width if `normalise`.

    Where the true object is visible but the prediction lost it, the error is the distance
    from the true centroid to the image centre (the object "vanished"; not NaN, or a model
    could score well by erasing objects). NaN where the true object is not visible.
    """
    H, W = true_masks.shape[-2:]
    cp = centroids(pred_masks)
    ct = centroids(true_masks)
    lost = np.isnan(cp[..., 0]) & ~np.isnan(ct[..., 0])
    cp = np.where(lost[..., None], np.array([(H - 1) / 2, (W - 1) / 2]), cp)
    err = np.sqrt(((cp - ct) ** 2).sum(-1))
    return err / W if normalise else err


def velocity_error(pred_masks: np.ndarray, true_masks: np.ndarray, normalise: bool = True) -> np.ndarray:
    """Error of per-frame centroid displacement (pixels/frame) per [T-1, K]; NaN where undefined."""
    W = true_masks.shape[-1]
    vp = np.diff(centroids(pred_masks), axis=0)
    vt = np.diff(centroids(true_masks), axis=0)
    err = np.sqrt(((vp - vt) ** 2).sum(-1))
    return err / W if normalise else err


def moving_region(true_frames_seg: np.ndarray, last_cond_seg: np.ndarray, moving_ids: list[int]) -> np.ndarray:
    """Union of the moving objects' masks in the true frames and the last conditioning frame.

    true_frames_seg [T, H, W], last_cond_seg [H, W] -> bool [T, H, W]; the region where
    copy-last is weak and physics shows.
    """
    m_true = np.isin(true_frames_seg, moving_ids)
    m_last = np.isin(last_cond_seg, moving_ids)[None]
    return m_true | m_last


def moving_ids_from_seg(seg: np.ndarray, seg_ids: list[int], min_pixels: int = 2) -> list[int]:
    """Objects whose mask changes over the clip by at least `min_pixels` pixels in some frame."""
    out = []
    for sid in seg_ids:
        m = seg == sid
        if m.any() and np.abs(np.diff(m.astype(np.int8), axis=0)).sum((1, 2)).max(initial=0) >= min_pixels:
            out.append(sid)
    return out
