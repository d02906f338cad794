"""Camera-only perception for the robot pushing task: find the pushed object in an RGB frame.

A learned video world model gives a policy only what a real robot would have: the predicted
64x64 RGB frame and its own proprioception (`ee_pos`). The scripted pushers in
`sim/policies.py` act on the object's true position, so to run them inside the world model
(and, for a fair comparison, inside the simulator from its rendered frames) they must
*perceive* the object from the image, as a camera pipeline would, and the world-model env
must judge success from the image too. This module is that pipeline, numpy only:

    task_from_sim(sim)              what a policy and a judge may know: target, object colour/size, camera
    project / floor_ray_point       world <-> pixel with the renderer's own camera matrices
    object_pixels(image, colour)    colour mask of the object (shading-invariant), largest blob
    estimate_object_xy(image, task) the object's known shape fitted to the mask, seen through the camera
    success_from_image(image, task) the estimated centre is inside the target region
    VisualPolicy(base, task)        a state policy fed with ee_pos + the perceived object

Conventions: pixel coordinates are (u, v) = (column, row) as floats, with the centre of
pixel [row i, column j] at (j + 0.5, i + 0.5). pybullet's TinyRenderer samples pixel column
j at screen x = j and writes screen row y to image row H - 1 - y, so (checked against the
segmentation, exactly) u = (x_ndc + 1) W / 2 + 0.5 and v = (1 - y_ndc) H / 2 - 0.5.

Why a shape fit and not just the mask centroid: at 64 px one pixel is ~2 cm on the floor, the
centroid is biased by perspective (~1.5 cm) and, worse, the arm hides part of the object when
it is about to push; a centroid then jumps by 5-7 cm, and the stateless scripted pusher
oscillates (lift, see all, descend, see half, ...). Fitting the rendered silhouette of the
known box/cylinder, with pixels under the dark arm counted as "may be hidden", brings the
mean error to ~0.7 cm (max ~3 cm, when the arm hides most of the object) in the simulator,
and the camera-driven pusher then succeeds as often as the state-driven one
(tests/envs/test_vision.py measures both).
"""

from __future__ import annotations

from typing import Callable

import numpy as np

from ..utils.errors import WorldsmithError

DEFAULT_PUSH_SPEED = 0.0225  # m/frame at 15 fps: the middle of the simulator's sampled push speeds
ROBOT_COLOUR = (35, 35, 40)  # sim.robot.ROBOT_COLOUR (repeated here: importing sim.robot loads pybullet)
MIN_PIXELS = 3  # a colour blob smaller than this: the object is not visible
SEARCH_SPAN = 0.08  # m: the shape fit looks this far around the centroid guess
MAYBE_COST = 0.1  # cost of the fitted silhouette covering a pixel that may hide the object (arm, blurred edge)
LOOK_UP = np.array([0.0, 0.0, 0.02, 0, 0, 0, 0], np.float32)  # object never seen yet: lift the arm out of view


# ---- the task a policy may know ----------------------------------------------------------------
def task_from_sim(sim) -> dict:
    """The task of a reset `RobotPushSim` as plain JSON: target, object colour/size, camera, speed."""
    if sim.params is None:
        raise WorldsmithError("task_from_sim: call sim.reset(seed) first")
    from ..sim import robot

    params, thing = sim.params, sim.params["objects"][0]
    view, proj = sim.world.camera.matrices()
    return dict(target_pos=[float(params["target"][0]), float(params["target"][1]), 0.0],
                target_radius=float(params["target_radius"]),
                object_color=[int(c) for c in thing["color"]],
                object_size=[float(s) for s in thing["size"]], object_shape=str(thing["shape"]),
                camera=dict(view_matrix=[float(v) for v in view], projection_matrix=[float(v) for v in proj]),
                resolution=int(sim.resolution), robot_color=[int(c) for c in robot.ROBOT_COLOUR],
                push_speed=float(params["push_speed"]) * 15 / sim.fps, fps=int(sim.fps))


def _check_task(task: dict) -> None:
    missing = {"target_pos", "target_radius", "object_color", "object_size", "camera"} - set(task)
    if missing:
        raise WorldsmithError(f"task is missing {sorted(missing)} (build it with task_from_sim)")


def _check_image(image: np.ndarray, square: bool = False) -> np.ndarray:
    image = np.asarray(image)
    if image.ndim != 3 or image.shape[2] != 3 or image.dtype != np.uint8:
        raise WorldsmithError(f"image must be uint8 [H, W, 3], got {image.dtype} {list(image.shape)}")
    if square and image.shape[0] != image.shape[1]:
        raise WorldsmithError(f"image must be square like the simulator's camera, got {list(image.shape)}")
    return image


# ---- camera geometry ---------------------------------------------------------------------------
def _clip_matrix(camera: dict) -> np.ndarray:
    """Projection @ view as a row-major [4, 4] (pybullet stores both column-major)."""
    try:
        view = np.asarray(camera["view_matrix"], np.float64).reshape(4, 4).T
        proj = np.asarray(camera["projection_matrix"], np.float64).reshape(4, 4).T
    except (KeyError, ValueError) as e:
        raise WorldsmithError(f"camera needs view_matrix and projection_matrix (16 floats each): {e}") from None
    return proj @ view


def project(xyz: np.ndarray, camera: dict, resolution: int) -> np.ndarray:
    """World points [N, 3] -> pixel (column, row) [N, 2] floats; NaN for points behind the camera."""
    pts = np.asarray(xyz, np.float64).reshape(-1, 3)
    h = np.concatenate([pts, np.ones((len(pts), 1))], 1) @ _clip_matrix(camera).T  # [N, 4] clip coords
    w = np.where(h[:, 3] > 1e-9, h[:, 3], np.nan)
    ndc = h[:, :2] / w[:, None]  # [N, 2]
    u = (ndc[:, 0] + 1) * resolution / 2 + 0.5
    v = (1 - ndc[:, 1]) * resolution / 2 - 0.5
    return np.stack([u, v], 1)


def pixel_rays(uv: np.ndarray, camera: dict, resolution: int) -> tuple[np.ndarray, np.ndarray]:
    """Pixels (column, row) [N, 2] -> rays (origin on the near plane [N, 3], direction to the far plane [N, 3])."""
    uv = np.asarray(uv, np.float64).reshape(-1, 2)
    x_ndc = 2 * (uv[:, 0] - 0.5) / resolution - 1
    y_ndc = 1 - 2 * (uv[:, 1] + 0.5) / resolution
    inv = np.linalg.inv(_clip_matrix(camera))

    def unproject(z_ndc: float) -> np.ndarray:
        h = np.stack([x_ndc, y_ndc, np.full_like(x_ndc, z_ndc), np.ones_like(x_ndc)], 1) @ inv.T  # [N, 4]
        return h[:, :3] / h[:, 3:]

    near = unproject(-1.0)
    return near, unproject(1.0) - near


def floor_ray_point(uv: np.ndarray, camera: dict, resolution: int, z: float = 0.0) -> np.ndarray:
    """Pixels (column, row) [N, 2] -> where their rays meet the plane at height z, [N, 3] (NaN if never)."""
    origin, d = pixel_rays(uv, camera, resolution)
    with np.errstate(divide="ignore", invalid="ignore"):
        t = (z - origin[:, 2]) / d[:, 2]
    t = np.where((t >= 0) & np.isfinite(t), t, np.nan)  # the plane must lie in front of the camera
    return origin + t[:, None] * d


# ---- the object in the image -------------------------------------------------------------------
def object_pixels(image: np.ndarray, colour, tol: float = 0.15, brightness: tuple[float, float] = (0.45, 1.5),
                  largest: bool = True) -> np.ndarray:
    """bool [H, W]: pixels whose colour is `colour` under some shading, largest 8-connected blob.

    Shading scales a flat colour (ambient + diffuse light), so a pixel p belongs to colour c
    when p ~ k c: the brightness ratio k = p.c / c.c lies in `brightness` and the part of p
    off the c direction is below `tol` of |p| (sine of the angle between them). The object
    palette's colours are >= 0.22 apart in that measure, greys and the dark arm much more.
    """
    px = _check_image(image).astype(np.float32)  # [H, W, 3]
    c = np.asarray(colour, np.float32).reshape(3)
    k = (px @ c) / max(float(c @ c), 1.0)  # [H, W] brightness ratio
    off = np.linalg.norm(px - k[..., None] * c, axis=-1)  # [H, W] distance from the colour's ray
    mask = (k >= brightness[0]) & (k <= brightness[1]) & (off <= tol * np.linalg.norm(px, axis=-1))
    return largest_component(mask) if largest else mask


def largest_component(mask: np.ndarray) -> np.ndarray:
    """The largest 8-connected component of a bool [H, W] mask (numpy label propagation)."""
    if not mask.any():
        return mask.copy()
    H, W = mask.shape
    idx = np.arange(1, H * W + 1).reshape(H, W)
    lab = np.where(mask, idx, 0)  # each pixel starts as its own component; max label wins
    while True:
        pad = np.pad(lab, 1)
        new = lab.copy()
        for dy in (-1, 0, 1):
            for dx in (-1, 0, 1):
                new = np.maximum(new, pad[1 + dy:1 + dy + H, 1 + dx:1 + dx + W])
        new = np.where(mask, new, 0)
        new[mask] = new.reshape(-1)[new[mask] - 1]  # pointer jump: adopt the label's own label
        new = np.where(mask, np.maximum(new, lab), 0)
        if np.array_equal(new, lab):
            break
        lab = new
    ids, counts = np.unique(lab[mask], return_counts=True)
    return lab == ids[counts.argmax()]


def estimate_object_xy(image: np.ndarray, task: dict) -> np.ndarray | None:
    """[2] xy (m) of the pushed object's centre seen in `image`, or None if it is not visible.

    First guess: the colour blob's centroid back-projected to z = height / 2. Then the object's
    known shape is fitted to the colour mask (`fit_object_xy`): this removes the perspective
    bias of the centroid and, by not counting pixels the dark arm covers, the arm's occlusion.
    """
    _check_task(task)
    image = _check_image(image, square=True)
    colour_mask = object_pixels(image, task["object_color"], largest=False)
    blob = largest_component(colour_mask)
    if blob.sum() < MIN_PIXELS:
        return None
    rows, cols = np.nonzero(blob)
    uv = np.array([[cols.mean() + 0.5, rows.mean() + 0.5]])  # [1, 2] centroid in pixel-centre coordinates
    guess = floor_ray_point(uv, task["camera"], image.shape[1], z=float(task["object_size"][2]) / 2)[0]
    if not np.isfinite(guess).all():
        return None
    hidden = object_pixels(image, task.get("robot_color", ROBOT_COLOUR), largest=False)
    return fit_object_xy(colour_mask, blob, hidden, task, guess[:2])


def fit_object_xy(colour_mask: np.ndarray, blob: np.ndarray, hidden: np.ndarray, task: dict,
                  guess: np.ndarray) -> np.ndarray:
    """Object xy [2] whose rendered silhouette best matches the colour mask near `blob` (bool [H, W] each).

    Cost of a pose = silhouette pixels that are not object-coloured - object pixels covered. Pixels
    in `hidden` (the arm) may hide the object and pixels just outside the mask may be blends
    of object and floor (a world model's frames are blurry), so covering those costs only
    MAYBE_COST (a tie-break towards the more visible pose). Coarse-to-fine search over xy
    offsets and yaw; the result is the mean of the best refined poses (sub-pixel).
    """
    H, W = colour_mask.shape
    size, shape = np.asarray(task["object_size"], np.float64), task.get("object_shape", "box")
    rows, cols = np.nonzero(blob)
    margin = int(np.ceil(_extent_pixels(task, guess, W) / 2 + SEARCH_SPAN / _metres_per_pixel(task, guess, W))) + 1
    r0, r1 = max(rows.min() - margin, 0), min(rows.max() + margin + 1, H)
    c0, c1 = max(cols.min() - margin, 0), min(cols.max() + margin + 1, W)
    rr, cc = np.mgrid[r0:r1, c0:c1]  # window pixels
    a, d = _slab_segments(np.stack([cc.ravel() + 0.5, rr.ravel() + 0.5], 1), task["camera"], W, size[2])  # [P, 2]
    m, h = colour_mask[r0:r1, c0:c1].ravel(), hidden[r0:r1, c0:c1].ravel()  # [P]
    ring = (_dilate(colour_mask) & ~colour_mask)[r0:r1, c0:c1].ravel()  # [P] just outside the mask
    weight = np.where(m, -1.0, np.where(h | ring, MAYBE_COST, 1.0)).astype(np.float32)  # [P] cost of covering
    period = 0.0 if shape == "cylinder" else (np.pi / 2 if abs(size[0] - size[1]) < 1e-6 else np.pi)

    def search(centre_xy: np.ndarray, span: float, step: float, yaws: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        off = np.arange(-span, span + 1e-9, step)
        gx, gy = np.meshgrid(centre_xy[0] + off, centre_xy[1] + off, indexing="ij")
        xy = np.stack([gx.ravel(), gy.ravel()], 1)  # [C, 2]
        sil = _silhouettes(a, d, xy, yaws, size / 2, shape)  # [Y, C, P]
        cost = sil.astype(np.float32) @ weight  # [Y, C]: covered-but-not-object minus covered object pixels
        best = np.argwhere(cost <= cost.min() + 1e-6)  # [K, 2] (yaw index, xy index)
        return xy[best[:, 1]], yaws[best[:, 0]]

    yaws = np.arange(0.0, period, np.pi / 12) if period else np.zeros(1)
    xy, yaw = search(np.asarray(guess, np.float64), SEARCH_SPAN, 0.02, yaws)
    i = int(np.linalg.norm(xy - xy.mean(0), axis=1).argmin())  # the central one of the tied coarse poses
    fine_yaws = yaw[i] + np.arange(-2, 3) * np.pi / 48 if period else np.zeros(1)
    xy, _ = search(xy[i], 0.015, 0.005, fine_yaws)
    return xy.mean(0)


def _dilate(mask: np.ndarray) -> np.ndarray:
    """8-neighbour dilation of a bool [H, W] mask."""
    pad = np.pad(mask, 1)
    H, W = mask.shape
    return np.logical_or.reduce([pad[1 + dy:1 + dy + H, 1 + dx:1 + dx + W] for dy in (-1, 0, 1) for dx in (-1, 0, 1)])


def _metres_per_pixel(task: dict, xy: np.ndarray, resolution: int) -> float:
    """Size on the floor of one pixel near xy (the larger of its two sides)."""
    z = float(task["object_size"][2]) / 2
    uv = project(np.array([[xy[0], xy[1], z]]), task["camera"], resolution)[0]
    pts = floor_ray_point(uv + np.array([[0, 0], [1, 0], [0, 1]]), task["camera"], resolution, z)  # [3, 3]
    return float(max(np.linalg.norm(pts[1] - pts[0]), np.linalg.norm(pts[2] - pts[0]), 1e-4))


def _extent_pixels(task: dict, xy: np.ndarray, resolution: int) -> float:
    """How many pixels the object's bounding box spans in the image when centred at xy."""
    s = np.asarray(task["object_size"], np.float64)
    r = float(np.hypot(s[0], s[1])) / 2
    corners = np.array([[xy[0] + a * r, xy[1] + b * r, z] for a in (-1, 1) for b in (-1, 1) for z in (0.0, s[2])])
    uv = project(corners, task["camera"], resolution)  # [8, 2]
    return float(np.nanmax(uv.max(0) - uv.min(0)))


def _slab_segments(uv: np.ndarray, camera: dict, resolution: int, height: float) -> tuple[np.ndarray, np.ndarray]:
    """Where each pixel's ray is inside the slab 0 <= z <= height, as xy segments start [P, 2] + s * d [P, 2].

    An upright prism of that height is hit exactly when this segment (0 <= s <= 1) crosses its
    footprint, so each candidate pose needs only a 2-D test. Rays that miss the slab get NaN.
    """
    origin, ray = pixel_rays(uv, camera, resolution)  # [P, 3] each
    with np.errstate(divide="ignore", invalid="ignore"):
        t1, t2 = (height - origin[:, 2]) / ray[:, 2], -origin[:, 2] / ray[:, 2]
    lo, hi = np.maximum(np.fmin(t1, t2), 0.0), np.fmax(t1, t2)
    lo, hi = np.where(hi >= lo, lo, np.nan), np.where(hi >= lo, hi, np.nan)
    start = origin[:, :2] + lo[:, None] * ray[:, :2]
    return start.astype(np.float32), ((hi - lo)[:, None] * ray[:, :2]).astype(np.float32)


def _silhouettes(a: np.ndarray, d: np.ndarray, xy: np.ndarray, yaws: np.ndarray, half: np.ndarray,
                 shape: str) -> np.ndarray:
    """bool [Y, C, P]: which slab segments (a + s d, [P, 2]) cross the footprint at pose (yaws [Y], xy [C, 2])."""
    xy = xy.astype(np.float32)
    if shape == "cylinder":  # distance from the centre to the segment <= radius (yaw does not matter)
        q = xy[:, None, :] - a[None]  # [C, P, 2]
        s = np.clip((q * d[None]).sum(-1) / np.maximum((d * d).sum(-1), 1e-12), 0.0, 1.0)  # [C, P]
        gap = q - s[..., None] * d[None]
        return np.broadcast_to(((gap ** 2).sum(-1) <= half[0] ** 2)[None], (len(yaws), *s.shape))
    cos, sin = np.cos(yaws).astype(np.float32)[:, None], np.sin(yaws).astype(np.float32)[:, None]  # [Y, 1]
    lo = np.zeros((len(yaws), len(xy), len(a)), np.float32)  # [Y, C, P]
    hi = np.ones_like(lo)
    with np.errstate(divide="ignore", invalid="ignore"):
        for axis, (u, v) in enumerate(((cos, sin), (-sin, cos))):  # the object's x and y axes
            start = u * a[None, :, 0] + v * a[None, :, 1]  # [Y, P] segment start along this axis
            inv = 1.0 / (u * d[None, :, 0] + v * d[None, :, 1])  # [Y, P]
            centre = u * xy[None, :, 0] + v * xy[None, :, 1]  # [Y, C]
            rel = start[:, None, :] - centre[:, :, None]  # [Y, C, P]
            t1, t2 = (-half[axis] - rel) * inv[:, None, :], (half[axis] - rel) * inv[:, None, :]
            lo, hi = np.maximum(lo, np.fmin(t1, t2)), np.minimum(hi, np.fmax(t1, t2))
    return hi >= lo


def success_from_image(image: np.ndarray, task: dict) -> bool:
    """The object's estimated centre lies inside the target region (RobotRig.success, from pixels)."""
    xy = estimate_object_xy(image, task)
    if xy is None:
        return False
    return bool(np.linalg.norm(xy - np.asarray(task["target_pos"][:2], np.float64)) < float(task["target_radius"]))


def progress_from_images(start: np.ndarray, end: np.ndarray, task: dict) -> float:
    """Metres the object got closer to the target between two images (0 if either view lost it).

    A graded verdict for when binary success is rare: a blurred-away object counts as no progress.
    """
    target = np.asarray(task["target_pos"][:2], np.float64)
    a, b = estimate_object_xy(start, task), estimate_object_xy(end, task)
    if a is None or b is None:
        return 0.0
    return float(np.linalg.norm(a - target) - np.linalg.norm(b - target))


# ---- policies that see -------------------------------------------------------------------------
class VisualPolicy:
    """A state policy (obs dict -> action7) run from {"image" uint8 [H,W,3], "ee_pos" [3]}.

    The object position comes from `estimate_object_xy` at z = height / 2; while the object is
    not found (the arm hides it) the last estimate is kept. Before it was ever seen the arm
    lifts (LOOK_UP) to clear the view. The same image twice in a row (an action chunk asked
    from one frame) is looked at once. Call `reset()` between episodes.
    """

    def __init__(self, base: Callable[[dict], np.ndarray], task: dict) -> None:
        _check_task(task)
        self.base, self.task = base, task
        self.object_xy: np.ndarray | None = None
        self._image: np.ndarray | None = None  # the last image looked at

    def reset(self) -> None:
        """Forget the last object estimate (a new episode)."""
        self.object_xy, self._image = None, None

    def state(self, obs: dict) -> dict | None:
        """The observation dict the scripted policies read, or None if the object was never seen."""
        if "image" not in obs or "ee_pos" not in obs:
            raise WorldsmithError(f"VisualPolicy needs obs with 'image' and 'ee_pos', got keys {sorted(obs)}")
        image = _check_image(obs["image"])
        if self._image is None or not np.array_equal(image, self._image):
            self._image = image.copy()
            xy = estimate_object_xy(image, self.task)
            if xy is not None:
                self.object_xy = xy
        if self.object_xy is None:
            return None
        size = np.asarray(self.task["object_size"], np.float64)
        return dict(ee_pos=np.asarray(obs["ee_pos"], np.float64).reshape(3),
                    object_pos=np.array([*self.object_xy, size[2] / 2]), object_size=size,
                    target_pos=np.asarray(self.task["target_pos"], np.float64),
                    target_radius=float(self.task["target_radius"]))

    def __call__(self, obs: dict) -> np.ndarray:
        state = self.state(obs)
        if state is None:
            return LOOK_UP.copy()
        return np.asarray(self.base(state), np.float32)


def make_visual_policy(name: str, task: dict, seed: int = 0) -> VisualPolicy:
    """'good' | 'noisy' | 'random' scripted pusher seeing through the camera.

    The push speed is the task's (`task_from_sim` stores the simulator controller's per-frame
    speed, push_speed * 15 / fps), else the middle of the simulator's range at 15 fps.
    """
    from ..sim.policies import make_policy

    return VisualPolicy(make_policy(name, seed, speed=float(task.get("push_speed", DEFAULT_PUSH_SPEED))), task)
