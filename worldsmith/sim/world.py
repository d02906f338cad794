"""The shared pybullet world: connection, scenery, bodies from specs, camera, render, contacts.

One `World` owns one headless pybullet connection (p.DIRECT) and is reset between clips, so a
worker process pays the connection cost once. Physics runs at 240 Hz; frames are rendered
with the CPU TinyRenderer every `240 / fps` physics steps, with mostly ambient light so
flat object colours stay recognisable.

Object specs are plain dicts (they go into the clip's meta as they are):
    {name, shape: sphere|box|cylinder, size: [sx, sy, sz] full extents (m), mass (kg),
     friction, restitution, rolling_friction, color_name, color: [r, g, b] 0-255,
     pos: [3], orn: quat xyzw [4], linvel: [3], angvel: [3], dynamic: bool}
Each added object gets seg_id 1, 2, ... in the order it was added; everything else
(floor, backdrop, ramps, fulcrums, the pendulum pivot) is static scenery with seg 0.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import pybullet as p

from .palette import rgba

PHYSICS_HZ = 240
GRAVITY = 9.81
# Flat-ish shading: mostly ambient, a little diffuse for shape cues, no specular, no shadows.
LIGHT = dict(lightDirection=[0.3, -0.8, 1.0], lightColor=[1.0, 1.0, 1.0], lightDistance=10.0,
             lightAmbientCoeff=0.7, lightDiffuseCoeff=0.35, lightSpecularCoeff=0.0, shadow=0)
CONTACT_TOLERANCE = 1e-3  # m; manifold points farther apart than this are not touching
RESTING_TOLERANCE = 0.01  # m; pairs this close at the start are resting contacts, not events
# Landings on the floor (z = 0), tracked every physics step from the lowest point of each free object
# (its AABB): down below LAND_HEIGHT after being up above HOP_HEIGHT. Contact onsets are no count of
# bounces: a resting cube's contacts flicker (onsets with no visible hop) and a fast ball's contact
# can begin and end inside one step (a bounce with no onset). Session 32.
LAND_HEIGHT = 0.005  # m
HOP_HEIGHT = 0.03  # m; a hop lower than this is not called a bounce
FREE_SHAPES = ("sphere", "box", "cylinder")


@dataclass
class Camera:
    """A look-at camera: yaw/pitch (degrees) about `target` at `distance`, square image."""

    target: list[float]
    distance: float
    yaw: float
    pitch: float
    fov: float = 60.0
    near: float = 0.1
    far: float = 20.0

    def matrices(self) -> tuple[list[float], list[float]]:
        """(view, projection) matrices as pybullet wants them (column-major 16-lists)."""
        view = p.computeViewMatrixFromYawPitchRoll(self.target, self.distance, self.yaw, self.pitch, 0.0, 2)
        proj = p.computeProjectionMatrixFOV(self.fov, 1.0, self.near, self.far)
        return list(view), list(proj)

    def eye(self) -> np.ndarray:
        """Camera position in world coordinates."""
        view = np.asarray(self.matrices()[0], np.float64).reshape(4, 4).T  # column-major -> row-major
        return np.linalg.inv(view)[:3, 3]

    def to_meta(self) -> dict:
        """The camera as JSON-ready meta (pose, intrinsics, view/projection matrices)."""
        view, proj = self.matrices()
        return dict(target=list(map(float, self.target)), distance=float(self.distance), yaw=float(self.yaw),
                    pitch=float(self.pitch), fov=self.fov, near=self.near, far=self.far,
                    eye=[float(v) for v in self.eye()], view_matrix=view, projection_matrix=proj)


def sample_camera(rng: np.random.Generator, target, distance: float, yaw: float = 0.0, pitch: float = -15.0,
                  yaw_jitter: float = 12.0, pitch_jitter: float = 5.0, dist_jitter: float = 0.08,
                  target_jitter: float = 0.08) -> dict:
    """A camera pose randomised around a scenario's base pose (returned as a params dict)."""
    t = np.asarray(target, np.float64) + rng.uniform(-target_jitter, target_jitter, 3) * np.array([1, 0.5, 0.5])
    return dict(target=[float(v) for v in t],
                distance=float(distance * (1 + rng.uniform(-dist_jitter, dist_jitter))),
                yaw=float(yaw + rng.uniform(-yaw_jitter, yaw_jitter)),
                pitch=float(pitch + rng.uniform(-pitch_jitter, pitch_jitter)))


@dataclass
class Tracked:
    """An object the clip reports on: a body (and optionally one of its links, for the robot)."""

    body: int
    link: int = -1
    spec: dict = field(default_factory=dict)


class World:
    """One pybullet connection, reset per clip. Not thread-safe; one per process or sim."""

    def __init__(self) -> None:
        self.client = p.connect(p.DIRECT)
        self.camera: Camera | None = None
        self.reset()

    # ---- setup -----------------------------------------------------------------------
    def reset(self, substeps: int = 16) -> None:
        """Empty the world (gravity, 240 Hz) and forget objects, contacts and camera."""
        c = self.client
        p.resetSimulation(physicsClientId=c)
        p.setPhysicsEngineParameter(fixedTimeStep=1.0 / PHYSICS_HZ, numSolverIterations=10,
                                    deterministicOverlappingPairs=1, physicsClientId=c)
        p.setGravity(0, 0, -GRAVITY, physicsClientId=c)
        self.objects: list[Tracked] = []
        self.labels: dict[int, str] = {}  # body id -> name (objects and scenery)
        self.substeps = substeps
        self.step_count = 0
        self._last_touch: dict[tuple[int, int], int] = {}
        self.events: list[tuple[int, int, int]] = []  # (step, body a, body b) contact onsets
        self._up: dict[int, bool] = {}  # free object body -> in the air (above HOP_HEIGHT since its last landing)
        self._landings: dict[int, int] = {}  # free object body -> floor landings so far
        self._lut: np.ndarray | None = None
        self.extras: dict = {}  # scenario-owned helpers (the robot rig)
        self.aliases: dict[int, int] = {}  # extra body -> seg id of the object it belongs to

    def close(self) -> None:
        """Disconnect (the World is unusable afterwards)."""
        if p.isConnected(self.client):
            p.disconnect(self.client)

    def add_floor(self, color, friction: float = 0.8, restitution: float = 1.0) -> int:
        """An infinite plane at z = 0 (drawn as a 30 m square)."""
        c = self.client
        col = p.createCollisionShape(p.GEOM_PLANE, physicsClientId=c)
        vis = p.createVisualShape(p.GEOM_BOX, halfExtents=[15, 15, 0.005], rgbaColor=rgba(color),
                                  visualFramePosition=[0, 0, -0.005], physicsClientId=c)
        body = p.createMultiBody(0, col, vis, physicsClientId=c)
        p.changeDynamics(body, -1, lateralFriction=friction, restitution=restitution, physicsClientId=c)
        self.labels[body] = "floor"
        return body

    def add_backdrop(self, color, camera: Camera, behind: float = 4.0) -> int:
        """A tall visual-only wall behind the scene, facing the camera (no collisions)."""
        eye, tgt = camera.eye(), np.asarray(camera.target)
        fwd = tgt - eye
        fwd[2] = 0.0
        fwd /= max(np.linalg.norm(fwd), 1e-9)
        pos = tgt + fwd * behind
        pos[2] = 0.0
        yaw = math.atan2(fwd[1], fwd[0])
        vis = p.createVisualShape(p.GEOM_BOX, halfExtents=[0.05, 20, 10], rgbaColor=rgba(color),
                                  physicsClientId=self.client)
        body = p.createMultiBody(0, -1, vis, basePosition=pos.tolist(),
                                 baseOrientation=p.getQuaternionFromEuler([0, 0, yaw]), physicsClientId=self.client)
        self.labels[body] = "backdrop"
        return body

    def add_static(self, shape: str, size, pos, orn=(0, 0, 0, 1), color=(128, 128, 128), name: str = "scenery",
                   friction: float = 0.8, restitution: float = 0.5) -> int:
        """Static scenery (mass 0, seg 0): ramps, fulcrums, pivots, target markers."""
        col, vis = self._shapes(shape, size, color)
        body = p.createMultiBody(0, col, vis, basePosition=list(pos), baseOrientation=list(orn),
                                 physicsClientId=self.client)
        p.changeDynamics(body, -1, lateralFriction=friction, restitution=restitution, physicsClientId=self.client)
        self.labels[body] = name
        return body

    def _shapes(self, shape: str, size, color, visual_only: bool = False) -> tuple[int, int]:
        c, (sx, sy, sz) = self.client, size
        colour = rgba(color)
        if shape == "sphere":
            col = p.createCollisionShape(p.GEOM_SPHERE, radius=sx / 2, physicsClientId=c)
            vis = p.createVisualShape(p.GEOM_SPHERE, radius=sx / 2, rgbaColor=colour, physicsClientId=c)
        elif shape == "box":
            half = [sx / 2, sy / 2, sz / 2]
            col = p.createCollisionShape(p.GEOM_BOX, halfExtents=half, physicsClientId=c)
            vis = p.createVisualShape(p.GEOM_BOX, halfExtents=half, rgbaColor=colour, physicsClientId=c)
        elif shape == "cylinder":  # axis along local z
            col = p.createCollisionShape(p.GEOM_CYLINDER, radius=sx / 2, height=sz, physicsClientId=c)
            vis = p.createVisualShape(p.GEOM_CYLINDER, radius=sx / 2, length=sz, rgbaColor=colour, physicsClientId=c)
        else:
            raise ValueError(f"unknown shape {shape!r}")
        return (-1 if visual_only else col), vis

    def add_object(self, spec: dict, visual: int | None = None) -> int:
        """Create a tracked object from a spec (see module doc); returns the body id."""
        c = self.client
        col, vis = self._shapes(spec["shape"], spec["size"], spec["color"])
        mass = float(spec["mass"]) if spec.get("dynamic", True) else 0.0
        body = p.createMultiBody(mass, col, vis if visual is None else visual, basePosition=spec["pos"],
                                 baseOrientation=spec.get("orn", [0, 0, 0, 1]), physicsClientId=c)
        p.changeDynamics(body, -1, lateralFriction=spec.get("friction", 0.6),
                         restitution=spec.get("restitution", 0.3),
                         rollingFriction=spec.get("rolling_friction", 0.0),
                         spinningFriction=spec.get("rolling_friction", 0.0),
                         linearDamping=0.0, angularDamping=0.0, physicsClientId=c)
        if mass > 0:
            p.resetBaseVelocity(body, spec.get("linvel", [0, 0, 0]), spec.get("angvel", [0, 0, 0]), physicsClientId=c)
        self.track(body, -1, spec)
        return body

    def track(self, body: int, link: int, spec: dict) -> int:
        """Register a body (or one link of it) as the next object; returns its seg id."""
        self.objects.append(Tracked(body, link, spec))
        self.labels[body] = spec["name"]
        spec["seg_id"] = len(self.objects)
        return spec["seg_id"]

    def alias(self, body: int, seg_id: int, name: str) -> None:
        """Count another body as part of object `seg_id` (in seg and contacts), e.g. a robot's tool."""
        self.aliases[body] = seg_id
        self.labels[body] = name

    def set_camera(self, camera: Camera) -> None:
        """Use `camera` for every following render."""
        self.camera = camera
        self._view, self._proj = camera.matrices()

    # ---- simulation ----------------------------------------------------------------------
    def start(self) -> None:
        """Call after building: record which pairs already touch (resting contacts are no events)."""
        c = self.client
        tracked = {o.body for o in self.objects} | set(self.aliases)
        bodies = sorted(b for b, name in self.labels.items() if name != "backdrop")
        for i, a in enumerate(bodies):  # closest points, not the contact cache: it misses exact touches
            for b in bodies[i + 1:]:
                if (a in tracked or b in tracked) and p.getClosestPoints(a, b, RESTING_TOLERANCE, physicsClientId=c):
                    self._last_touch[(a, b)] = 0
        for o in self.objects:
            if o.link == -1 and o.spec.get("shape") in FREE_SHAPES and o.spec.get("dynamic", True):
                self._up[o.body] = self._lowest(o.body) > LAND_HEIGHT  # dropped from above: its first touch lands
                self._landings[o.body] = 0
        n = max(self.labels) + 2
        self._lut = np.zeros(n, np.uint8)  # body id + 1 -> seg id (index 0 = nothing hit)
        for o in self.objects:
            self._lut[o.body + 1] = o.spec["seg_id"]
        for body, sid in self.aliases.items():
            self._lut[body + 1] = sid

    def _touching(self, tolerance: float = CONTACT_TOLERANCE) -> set[tuple[int, int]]:
        pairs = set()
        for cp in p.getContactPoints(physicsClientId=self.client):
            if cp[8] <= tolerance:
                a, b = cp[1], cp[2]
                pairs.add((a, b) if a < b else (b, a))
        return pairs

    def step(self, n: int = 1) -> None:
        """Advance `n` physics steps, recording contact onsets (a pair apart >= one frame time)."""
        c = self.client
        for _ in range(n):
            p.stepSimulation(physicsClientId=c)
            self.step_count += 1
            for pair in self._touching():
                last = self._last_touch.get(pair)
                if last is None or self.step_count - last > self.substeps:
                    self.events.append((self.step_count, pair[0], pair[1]))
                self._last_touch[pair] = self.step_count
            for body, up in self._up.items():
                z = self._lowest(body)
                if up and z < LAND_HEIGHT:
                    self._up[body] = False
                    self._landings[body] += 1
                elif not up and z > HOP_HEIGHT:
                    self._up[body] = True

    def _lowest(self, body: int) -> float:
        """Height of the body's lowest point above the floor plane (its AABB's bottom), m."""
        return float(p.getAABB(body, physicsClientId=self.client)[0][2])

    def frame_of_step(self, step: int) -> int:
        """The first rendered frame that shows the state after physics step `step`."""
        return -(-step // self.substeps)

    def render(self, resolution: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(rgb uint8 [H,W,3], depth float32 [H,W] in metres, seg uint8 [H,W])."""
        cam = self.camera
        w, h, rgba_px, zbuf, seg = p.getCameraImage(resolution, resolution, self._view, self._proj,
                                                    renderer=p.ER_TINY_RENDERER, physicsClientId=self.client,
                                                    **LIGHT)
        rgb = np.asarray(rgba_px, np.uint8).reshape(h, w, 4)[..., :3]
        z = np.asarray(zbuf, np.float32).reshape(h, w)
        depth = cam.far * cam.near / (cam.far - (cam.far - cam.near) * z)  # OpenGL z-buffer -> metres
        seg_ids = np.asarray(seg, np.int64).reshape(h, w)
        seg_ids = self._lut[np.clip(seg_ids + 1, 0, len(self._lut) - 1)]
        return rgb, depth, seg_ids

    def states(self) -> np.ndarray:
        """float32 [N, 13]: position, quaternion xyzw, linear and angular velocity per object."""
        c = self.client
        out = np.zeros((len(self.objects), 13), np.float32)
        for i, o in enumerate(self.objects):
            if o.link < 0:
                pos, orn = p.getBasePositionAndOrientation(o.body, physicsClientId=c)
                lin, ang = p.getBaseVelocity(o.body, physicsClientId=c)
            else:
                ls = p.getLinkState(o.body, o.link, computeLinkVelocity=1, physicsClientId=c)
                pos, orn, lin, ang = ls[4], ls[5], ls[6], ls[7]
            out[i] = (*pos, *orn, *lin, *ang)
        return out

    # ---- per-clip summaries ----------------------------------------------------------------
    def first_contacts(self) -> dict[int, int]:
        """{seg_id: first frame showing a new contact of that object, or -1}."""
        first = {o.spec["seg_id"]: -1 for o in self.objects}
        by_body = {**self.aliases, **{o.body: o.spec["seg_id"] for o in self.objects}}
        for step, a, b in self.events:
            for body in (a, b):
                sid = by_body.get(body)
                if sid is not None and first[sid] < 0:
                    first[sid] = self.frame_of_step(step)
        return first

    def contact_events(self, limit: int = 64) -> list[dict]:
        """Contact onsets as [{frame, a, b}] with names (first `limit`)."""
        return [dict(frame=self.frame_of_step(s), a=self.labels.get(a, str(a)), b=self.labels.get(b, str(b)))
                for s, a, b in self.events[:limit]]

    def landings(self, body: int) -> int | None:
        """How many times a free object came down onto the floor from at least HOP_HEIGHT (its
        first landing, then one per bounce); None for bodies not tracked (fixed, robot)."""
        return self._landings.get(body)

    def impacts(self, body: int, other: int) -> int:
        """How many separate times `body` hit `other` (bounces on the floor, for instance)."""
        pair = (body, other) if body < other else (other, body)
        return sum(1 for _, a, b in self.events if (a, b) == pair)
