"""What every scenario shares: the table entry, parameter sampling (train/ood), object specs,
scene setup (floor, backdrop, camera), initial-state perturbation and the generic outcome.

A scenario is a `Scenario(name, summary, sample, build, caption)` row:
    sample(S: Sampler) -> params        all randomness lives here (same seed -> same params)
    build(world, params) -> None        adds scenery and objects (floor/camera are done already)
    caption(params, outcome, rng) -> str
The robot scenario adds a `controller` that turns the world into a step-by-step simulator.
"""

from __future__ import annotations

import copy
import math
from dataclasses import dataclass
from typing import Callable

import numpy as np

from .palette import BACKDROP_COLOURS, FLOOR_COLOURS, OBJECT_COLOURS, sample_object_colours, sample_scene_colours
from .world import Camera, World, sample_camera

OOD_AXES = ("speed", "size", "mass")
# ood ranges sit outside the train range [lo, hi]: [hi * a, hi * b]
OOD_STRETCH = {"speed": (1.4, 1.9), "size": (1.25, 1.5), "mass": (2.5, 5.0)}
NOUNS = {"sphere": ("ball", "sphere"), "box": ("cube", "block", "box"), "cylinder": ("cylinder", "can")}


@dataclass(frozen=True)
class Scenario:
    """One row of the scenario table."""

    name: str
    summary: str
    sample: Callable[["Sampler"], dict]
    build: Callable[[World, dict], None]
    caption: Callable[[dict, dict, np.random.Generator], str]
    controller: Callable | None = None  # robot only: (world, params, resolution, fps) -> controller


class Sampler:
    """Draws scenario parameters from the train range or, for one ood axis, outside it."""

    def __init__(self, rng: np.random.Generator, ood: bool = False, axis: str | None = None) -> None:
        self.rng = rng
        self.ood_axis = OOD_AXES[int(rng.integers(len(OOD_AXES)))] if ood else None
        if ood and axis is not None:  # force one axis (tests, targeted ood sets)
            self.ood_axis = axis
        self.ood_values: list[float] = []  # the values drawn outside the train range

    def u(self, lo: float, hi: float) -> float:
        """Uniform float in [lo, hi)."""
        return float(self.rng.uniform(lo, hi))

    def pick(self, kind: str, lo: float, hi: float) -> float:
        """A value of `kind` (speed/size/mass): train range, or stretched beyond it on the ood axis."""
        if kind == self.ood_axis:
            a, b = OOD_STRETCH[kind]
            self.ood_values.append(float(self.rng.uniform(hi * a, hi * b)))
            return self.ood_values[-1]
        return float(self.rng.uniform(lo, hi))

    def int(self, lo: int, hi: int) -> int:
        """An integer in [lo, hi] inclusive."""
        return int(self.rng.integers(lo, hi + 1))

    def choice(self, options):
        """One element of a sequence."""
        return options[int(self.rng.integers(len(options)))]

    def sign(self) -> float:
        """+1.0 or -1.0 with equal probability."""
        return 1.0 if self.rng.random() < 0.5 else -1.0

    def scene(self, target, distance, yaw=0.0, pitch=-15.0, **jitter) -> dict:
        """Floor/backdrop colours, floor friction and a camera pose: the part every clip has."""
        floor, back = sample_scene_colours(self.rng)
        return dict(floor=dict(color_name=floor, color=list(FLOOR_COLOURS[floor]), friction=self.u(0.4, 0.9)),
                    backdrop=dict(color_name=back, color=list(BACKDROP_COLOURS[back])),
                    camera=sample_camera(self.rng, target, distance, yaw, pitch, **jitter),
                    ood_axis=self.ood_axis, ood_values=self.ood_values)

    def colours(self, n: int) -> list[str]:
        """`n` distinct object colour names."""
        return sample_object_colours(self.rng, n)


def dims(shape: str, s: float, aspect: float = 1.0) -> list[float]:
    """Full extents [sx, sy, sz] for a shape of characteristic size `s` (height = s * aspect)."""
    if shape == "sphere":
        return [s, s, s]
    return [s, s, s * aspect]


def obj(name_colour: str, shape: str, size: list[float], mass: float, pos, *, orn=(0, 0, 0, 1),
        linvel=(0, 0, 0), angvel=(0, 0, 0), friction: float = 0.6, restitution: float = 0.3,
        rolling_friction: float = 0.0, dynamic: bool = True, noun: str | None = None, **extra) -> dict:
    """An object spec (see world.py) with a readable name such as 'red ball'."""
    noun = noun or NOUNS[shape][0]
    spec = dict(name=f"{name_colour} {noun}", noun=noun, shape=shape, size=[float(v) for v in size],
                mass=float(mass), friction=float(friction), restitution=float(restitution),
                rolling_friction=float(rolling_friction), color_name=name_colour,
                color=list(OBJECT_COLOURS[name_colour]), pos=[float(v) for v in pos],
                orn=[float(v) for v in orn], linvel=[float(v) for v in linvel], angvel=[float(v) for v in angvel],
                dynamic=bool(dynamic))
    spec.update(extra)
    return spec


def euler(roll: float = 0.0, pitch: float = 0.0, yaw: float = 0.0) -> list[float]:
    """Quaternion xyzw from roll/pitch/yaw (radians), without needing a pybullet connection."""
    cr, sr = math.cos(roll / 2), math.sin(roll / 2)
    cp, sp = math.cos(pitch / 2), math.sin(pitch / 2)
    cy, sy = math.cos(yaw / 2), math.sin(yaw / 2)
    return [sr * cp * cy - cr * sp * sy, cr * sp * cy + sr * cp * sy,
            cr * cp * sy - sr * sp * cy, cr * cp * cy + sr * sp * sy]


def build_scene(world: World, params: dict) -> Camera:
    """Floor, camera and backdrop from the common params."""
    cam = Camera(**params["camera"])
    world.set_camera(cam)
    world.add_floor(params["floor"]["color"], friction=params["floor"]["friction"])
    world.add_backdrop(params["backdrop"]["color"], cam)
    return cam


def perturb_params(params: dict, eps: float, rng: np.random.Generator) -> dict:
    """A copy of `params` with the initial state moved by a relative amount `eps` (0.01 = 1%).

    Free objects: position += eps * size * n (upwards only in z, so nothing starts inside the
    floor), velocities += eps * |v| * n, yaw += eps * pi * n. Objects marked `constrained`
    (pendulum bob, seesaw plank) keep their pose; the scalars in params['init'] (release angle,
    drop height, ...) are scaled by (1 + eps * n) instead.
    """
    out = copy.deepcopy(params)
    if eps <= 0:
        return out
    for spec in out["objects"]:
        if not spec.get("dynamic", True) or spec.get("constrained"):
            continue
        n = rng.standard_normal(3)
        n[2] = abs(n[2])
        spec["pos"] = (np.asarray(spec["pos"]) + eps * max(spec["size"]) * n).tolist()
        for key in ("linvel", "angvel"):
            v = np.asarray(spec[key], np.float64)
            spec[key] = (v + eps * np.linalg.norm(v) * rng.standard_normal(3)).tolist()
        q = _quat_mul(euler(yaw=eps * math.pi * float(rng.standard_normal())), spec["orn"])
        spec["orn"] = list(q)
    for key, value in sorted(out.get("init", {}).items()):
        v = np.asarray(value, np.float64)
        out["init"][key] = (v * (1 + eps * rng.standard_normal(v.shape))).tolist()
    out["perturb"] = eps
    return out


def _quat_mul(a, b) -> list[float]:
    ax, ay, az, aw = a
    bx, by, bz, bw = b
    return [aw * bx + ax * bw + ay * bz - az * by, aw * by - ax * bz + ay * bw + az * bx,
            aw * bz + ax * by - ay * bx + az * bw, aw * bw - ax * bx - ay * by - az * bz]


def outcome(world: World, params: dict, states: np.ndarray) -> dict:
    """What happened, per object (for captions and meta): floor impacts (contact onsets), floor
    landings (first landing + visible bounces, `World.landings`), travel, tilt, fell."""
    floor = next(b for b, n in world.labels.items() if n == "floor")
    per = []
    for i, (o, s0, s1) in enumerate(zip(world.objects, states[0], states[-1])):
        z_axis_z = 1 - 2 * (s1[3] ** 2 + s1[4] ** 2)  # world z of the body's local z axis
        per.append(dict(name=o.spec["name"], floor_impacts=world.impacts(o.body, floor),
                        floor_landings=world.landings(o.body),
                        travel=float(np.linalg.norm(s1[:2] - s0[:2])), dx=float(s1[0] - s0[0]),
                        drop=float(s0[2] - s1[2]), rise=float(states[:, i, 2].max() - s0[2]),
                        tilt_deg=float(math.degrees(math.acos(np.clip(z_axis_z, -1, 1)))),
                        speed_end=float(np.linalg.norm(s1[7:10])), vel_end=[float(v) for v in s1[7:10]]))
    return dict(objects=per, first_contact=world.first_contacts())


# ---- caption helpers --------------------------------------------------------------------
NUMBER_WORDS = ["no", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten"]


def count_word(n: int) -> str:
    """3 -> 'three' (digits beyond ten)."""
    return NUMBER_WORDS[n] if 0 <= n < len(NUMBER_WORDS) else str(n)


def times(n: int) -> str:
    """1 -> 'once', 2 -> 'twice', 3 -> 'three times'."""
    return {0: "not at all", 1: "once", 2: "twice"}.get(n, f"{count_word(n)} times")


def article(phrase: str) -> str:
    """'red ball' -> 'a red ball', 'orange cube' -> 'an orange cube'."""
    return ("an " if phrase[:1].lower() in "aeiou" else "a ") + phrase


def listing(items: list[str]) -> str:
    """['a', 'b', 'c'] -> 'a, b and c'."""
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def fill(rng: np.random.Generator, templates: list[str], **fields) -> str:
    """Pick one template and fill it; capitalise the first letter."""
    text = templates[int(rng.integers(len(templates)))].format(**fields)
    return text[0].upper() + text[1:]
