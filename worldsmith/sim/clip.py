"""`simulate_clip`: one scenario + one seed -> one clip (RGB, depth, seg, states, caption, meta).

The scenario table is the concatenation of the per-module tables; everything random comes
from the seed (parameters, caption wording), so the same call gives the same clip bit for
bit. The physics world is a per-process pybullet connection reused across clips.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import numpy as np

from ..utils.errors import WorldsmithError
from .base import OOD_AXES, Sampler, Scenario, outcome, perturb_params
from .world import PHYSICS_HZ, World

_WORLD: tuple[int, World] | None = None  # (pid, world): a forked worker must not share its parent's


@dataclass
class SimClip:
    """One simulated clip. T frames, N objects (meta['objects'] order, seg ids 1..N)."""

    rgb: np.ndarray  # uint8 [T, H, W, 3]
    depth: np.ndarray  # float16 [T, H, W], metres from the camera plane
    seg: np.ndarray  # uint8 [T, H, W], 0 = floor/backdrop/scenery, k = object k
    states: np.ndarray  # float32 [T, N, 13]: pos3, quat4 (xyzw), linvel3, angvel3
    actions: np.ndarray | None  # float32 [T, 7] (robot only), actions[t] moves frame t -> t+1
    caption: str
    meta: dict

    @property
    def num_frames(self) -> int:
        """T, the number of frames."""
        return int(self.rgb.shape[0])


def scenario_table() -> dict[str, Scenario]:
    """{name: Scenario} in a fixed order."""
    from . import mechanisms, passive, robot

    return {s.name: s for s in passive.SCENARIOS + mechanisms.SCENARIOS + robot.SCENARIOS}


def scenario_names() -> list[str]:
    """Names accepted by `simulate_clip` and `worldsmith sim generate --scenario`."""
    return list(scenario_table())


def get_scenario(name: str) -> Scenario:
    """The scenario table row for `name`, or a WorldsmithError listing the known names."""
    table = scenario_table()
    if name not in table:
        raise WorldsmithError(f"--scenario {name!r}: unknown scenario (known: {', '.join(table)})")
    return table[name]


def default_world() -> World:
    """This process's shared World (created on first use, re-created after a fork)."""
    global _WORLD
    if _WORLD is None or _WORLD[0] != os.getpid():
        _WORLD = (os.getpid(), World())
    return _WORLD[1]


def check_args(resolution: int, frames: int, fps: int, perturb: float) -> int:
    """Validate clip arguments; return physics substeps per frame."""
    if not isinstance(resolution, (int, np.integer)) or not 16 <= resolution <= 1024:
        raise WorldsmithError(f"--resolution {resolution!r}: expected an integer in 16..1024 (64, 128 or 256)")
    if not isinstance(frames, (int, np.integer)) or not 1 <= frames <= 10000:
        raise WorldsmithError(f"--frames {frames!r}: expected an integer >= 1")
    if not isinstance(fps, (int, np.integer)) or fps < 1 or PHYSICS_HZ % fps:
        raise WorldsmithError(f"--fps {fps!r}: must divide the {PHYSICS_HZ} Hz physics rate (e.g. 10, 15, 30, 60)")
    if not 0.0 <= float(perturb) <= 0.5:
        raise WorldsmithError(f"--perturb {perturb!r}: expected a fraction in [0, 0.5] (0.01 = 1%)")
    return PHYSICS_HZ // int(fps)


ROBOT_POLICIES = ("good", "noisy", "random", "play")
MIX_POLICIES = {"mix": ("good", "noisy", "random"),  # --robot-policy mix / mix-play: cycled by clip index
                "mix-play": ("good", "play", "noisy", "play", "random", "play")}


def sample_params(scenario: str, seed: int, ood: bool = False) -> dict:
    """The scenario parameters a seed stands for (train range, or ood with one axis outside it).

    The ood axis is speed, size, mass for seeds = 0, 1, 2 (mod 3), so consecutive test seeds
    cover the three axes evenly.
    """
    if not isinstance(seed, (int, np.integer)) or seed < 0:
        raise WorldsmithError(f"--seed {seed!r}: expected a non-negative integer")
    axis = OOD_AXES[int(seed) % len(OOD_AXES)] if ood else None
    return get_scenario(scenario).sample(Sampler(np.random.default_rng(int(seed)), ood, axis=axis))


def simulate_clip(scenario: str, seed: int, *, resolution: int = 64, frames: int = 33, fps: int = 15,
                  perturb: float = 0.0, ood: bool = False, perturb_seed: int = 0,
                  world: World | None = None, policy: str | None = None, rest: int = 0) -> SimClip:
    """Simulate and render one clip. Same arguments -> identical arrays, caption and meta.

    `policy` (robot scenarios only): 'good', 'noisy', 'random' or 'play' replaces the scripted
    policy the seed would pick (e.g. random-waypoint play data for action-conditioned post-training).
    `rest` (robot scenarios only): the arm holds still (zero actions) for the clip's first `rest`
    frames before the policy acts, as at the start of an episode (`envs.sim_env.sim_start`).

    `perturb` re-simulates the same clip with its initial state moved by that relative amount
    (0.01 = 1%, the benchmark's physical-variance ceiling); `perturb_seed` picks the noise draw.
    """
    sub = check_args(resolution, frames, fps, perturb)
    sc = get_scenario(scenario)
    params = sample_params(scenario, seed, ood)
    if perturb > 0:
        params = perturb_params(params, float(perturb), np.random.default_rng([int(seed), 1000 + int(perturb_seed)]))
    if policy is not None:
        if "policy" not in params:
            raise WorldsmithError(f"policy={policy!r}: scenario {scenario!r} has no robot to drive")
        if policy not in ROBOT_POLICIES:
            raise WorldsmithError(f"policy={policy!r}: expected one of {', '.join(ROBOT_POLICIES)}")
        params["policy"] = policy
    if rest:
        if "policy" not in params:
            raise WorldsmithError(f"rest={rest!r}: scenario {scenario!r} has no robot to hold still")
        if not isinstance(rest, (int, np.integer)) or not 0 <= rest < frames:
            raise WorldsmithError(f"rest={rest!r}: expected an integer in 0..{frames - 1} (frames held still)")
        params["rest_frames"] = int(rest)
    world = world or default_world()
    world.reset(substeps=sub)
    sc.build(world, params)
    ctrl = sc.controller(world, params, resolution, fps) if sc.controller else None
    world.start()

    T, N, R = frames, len(world.objects), resolution
    rgb = np.zeros((T, R, R, 3), np.uint8)
    depth = np.zeros((T, R, R), np.float16)
    seg = np.zeros((T, R, R), np.uint8)
    states = np.zeros((T, N, 13), np.float32)
    actions = np.zeros((T, 7), np.float32) if ctrl is not None else None
    for t in range(T):
        if t > 0:
            if ctrl is not None:
                actions[t - 1] = ctrl.act()  # chosen from the state at frame t-1, applied until frame t
            world.step(sub)
        rgb[t], depth[t], seg[t] = world.render(R)
        states[t] = world.states()

    out = outcome(world, params, states)
    if ctrl is not None:
        out.update(ctrl.summary())
    caption = sc.caption(params, out, _caption_rng(seed))
    meta = dict(scenario=scenario, seed=int(seed), ood=bool(ood), ood_axis=params.get("ood_axis"),
                perturb=float(perturb), perturb_seed=int(perturb_seed), resolution=R, frames=T, fps=fps,
                physics_hz=PHYSICS_HZ, params=params,
                objects=[dict(seg_id=o.spec["seg_id"], name=o.spec["name"], shape=o.spec["shape"],
                              color=list(o.spec["color"]), size=list(o.spec["size"]), mass=o.spec["mass"],
                              dynamic=o.spec.get("dynamic", True)) for o in world.objects],
                first_contact=out["first_contact"], camera=world.camera.to_meta(), outcome=out,
                contact_events=world.contact_events())
    return SimClip(rgb, depth, seg, states, actions, caption, meta)


def _caption_rng(seed: int) -> np.random.Generator:
    return np.random.default_rng([int(seed), 2])  # the caption's own stream: its wording alone


def caption_from_meta(meta: dict) -> str:
    """A clip's caption written again from its stored meta (params and outcome), with today's
    captioner: the same words `simulate_clip` gives the same seed now, without simulating. For
    clips stored before a captioner fix (the benchmark's test-set cache, a dataset's meta)."""
    try:
        sc, params, out, seed = get_scenario(meta["scenario"]), meta["params"], meta["outcome"], meta["seed"]
    except (KeyError, TypeError) as e:
        raise WorldsmithError(f"clip meta: cannot write a caption without {e} "
                              "(scenario, seed, params, outcome)") from None
    try:
        return sc.caption(params, _int_seg_ids(out), _caption_rng(seed))
    except KeyError:  # stored before the captioner read this outcome field: simulate the physics again
        pass
    try:
        return sc.caption(params, _int_seg_ids(resimulated_outcome(meta)), _caption_rng(seed))
    except (KeyError, TypeError, ValueError) as e:
        raise WorldsmithError(f"clip meta ({meta.get('scenario')} seed {seed}): cannot write its caption "
                              f"even after simulating it again ({type(e).__name__}: {e})") from None


def _int_seg_ids(out: dict) -> dict:
    if isinstance(out.get("first_contact"), dict):  # stored as JSON: seg ids came back as strings
        out = {**out, "first_contact": {int(k): v for k, v in out["first_contact"].items()}}
    return out


def resimulated_outcome(meta: dict) -> dict:
    """The `outcome` of a stored clip computed again by running its stored parameters through the
    physics without rendering (the same steps, so the same motion: rendering never touches the
    simulation). For clips stored before an outcome field existed (`floor_landings`, session 32).
    Robot clips are refused: their scripted controller is part of the run."""
    sc = get_scenario(meta["scenario"])
    if sc.controller is not None:
        raise WorldsmithError(f"clip meta: a {meta['scenario']} clip cannot be simulated again without its controller")
    params = meta["params"]
    world = default_world()
    world.reset(substeps=PHYSICS_HZ // int(meta["fps"]))
    sc.build(world, params)
    world.start()
    states = np.zeros((int(meta["frames"]), len(world.objects), 13), np.float32)
    for t in range(states.shape[0]):
        if t > 0:
            world.step(world.substeps)
        states[t] = world.states()
    return outcome(world, params, states)
