"""Physics simulator: ground-truth video of physical events (pybullet, headless, CPU).

Physics runs at 240 Hz; frames are rendered with TinyRenderer every 240/fps steps (default
15 fps, 64x64, 33 frames) with near-flat shading so object colours stay recognisable.
Scenarios (`worldsmith sim list`): fall, projectile, collision, incline, pendulum, stack,
dominoes, seesaw, robot_push. Each samples its parameters from a `train` range, or with
`ood=True` pushes one of speed/size/mass outside it; every clip contains a contact event.

Data contract (others depend on it)
-----------------------------------
`simulate_clip(scenario, seed, *, resolution=64, frames=33, fps=15, perturb=0.0, ood=False)
-> SimClip` with
- `rgb` uint8 [T, H, W, 3]
- `depth` float16 [T, H, W], metres (OpenGL z-buffer linearised; background = camera far plane)
- `seg` uint8 [T, H, W]: 0 = floor/backdrop/static scenery (ramp, fulcrum, pivot, target
  marker), k = object k (meta["objects"][k-1]); the robot arm and its pusher rod are one object
- `states` float32 [T, N, 13]: position (3), quaternion xyzw (4), linear velocity (3),
  angular velocity (3) of the N objects in meta order (for the robot: its tool flange link)
- `actions` float32 [T, 7] or None (robot_push only): actions[t] is the end-effector delta
  (dx, dy, dz m; droll, dpitch, dyaw rad; dgripper) applied between frame t and t+1, last row 0
- `caption` str, written from the parameters and what happened (bounces, toppling, success)
- `meta` dict: scenario, seed, ood, ood_axis, perturb, resolution, frames, fps, physics_hz,
  params (everything sampled, incl. object specs), objects = [{seg_id, name, shape,
  color (RGB 0-255), size ([sx, sy, sz] full extents, m), mass, dynamic}], first_contact =
  {seg_id: first frame showing a new contact of that object, or -1} (int keys in memory,
  string keys once stored as JSON), camera (target, distance, yaw, pitch, fov, near, far,
  eye, view_matrix, projection_matrix), outcome (per-object floor impacts = contact onsets,
  floor landings = the first landing + bounces of 3 cm or more, travel, rise, tilt; robot
  success), contact_events [{frame, a, b}].
Same arguments give the same clip bit for bit (also across processes). `perturb=0.01`
re-simulates the clip with its initial state moved by 1% (the physical-variance ceiling).

In a dataset (`worldsmith sim generate`, ClipWriter, lossless video): arrays "states",
"depth", "seg" and, for the robot, "actions"; the meta above as `meta`; key
f"{scenario}-{base_seed}-{index:05d}" with the clip seed `generate.clip_seed(scenario,
base_seed, index)`.

`RobotPushSim(resolution, fps)` runs the robot scenario step by step (`reset(seed)`,
`step(action7)`, `object_state()`, `success()`); `policies` has scripted pushers.
"""

from __future__ import annotations

__all__ = ["simulate_clip", "SimClip", "scenario_names", "sample_params", "RobotPushSim", "generate_dataset",
           "clip_key", "clip_seed"]

_EXPORTS = {"simulate_clip": "clip", "SimClip": "clip", "scenario_names": "clip", "sample_params": "clip",
            "RobotPushSim": "robot", "generate_dataset": "generate", "clip_key": "generate",
            "clip_seed": "generate"}


def __getattr__(name: str):
    # lazy: `worldsmith --help` imports worldsmith.sim.cli, which must not load pybullet
    if name in _EXPORTS:
        import importlib

        return getattr(importlib.import_module(f".{_EXPORTS[name]}", __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
