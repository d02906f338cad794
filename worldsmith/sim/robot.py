"""The robot scenario: a KUKA iiwa (from pybullet_data) pushing an object into a target region.

Actions are 7-D end-effector deltas per frame, in the world frame: (dx, dy, dz) metres of the
tool tip, (droll, dpitch, dyaw) radians of the tool orientation, and a gripper command delta
(the iiwa in pybullet_data has no fingers: it pushes with its flange, and the gripper value is
kept as a commanded state in [0, 1] so that the action layout matches Bridge-style data).
Each action moves the IK target once and the joint position controllers track it for the
240 / fps physics steps until the next frame.

`RobotPushSim` is the step-by-step form (for a Gymnasium environment); `simulate_clip('robot_push')`
uses the same rig with a scripted policy from `policies.py` and records the actions.
"""

from __future__ import annotations

import functools
import hashlib
import math
import os
import re
import tempfile
from dataclasses import dataclass

import numpy as np
import pybullet as p
import pybullet_data

from ..utils.atomic import atomic_write_text
from .base import Sampler, Scenario, article, build_scene, euler, fill, obj
from .palette import rgba
from .world import World

MAX_DELTA = np.array([0.05, 0.05, 0.05, 0.15, 0.15, 0.15, 1.0], np.float32)  # per-frame action bounds
WORKSPACE = np.array([[0.2, -0.6, 0.02], [0.9, 0.6, 0.6]])  # tool tip box (m)
MAX_LAG = 0.06  # the commanded tip stays within this distance of the measured one
ROD_LENGTH, ROD_RADIUS = 0.2, 0.025  # a pusher rod below the flange keeps the wrist above the objects
TIP_OFFSET = 0.05 + ROD_LENGTH  # link-7 frame -> tool tip (end of the rod) along the tool z axis
DOWN = (0.0, math.pi, 0.0)  # tool pointing at the floor (rpy)
ROBOT_COLOUR = (35, 35, 40)
TARGET_COLOUR = (245, 245, 245)
_LL = [-2.96, -2.09, -2.96, -2.09, -2.96, -2.09, -3.05]
_UL = [2.96, 2.09, 2.96, 2.09, 2.96, 2.09, 3.05]
_JR = [5.9, 4.2, 5.9, 4.2, 5.9, 4.2, 6.1]
_REST = [0.0, 0.5, 0.0, -1.6, 0.0, 1.0, 0.0]


@functools.lru_cache(maxsize=2)
def robot_urdf(detailed: bool = False) -> str:
    """Path of the iiwa URDF from pybullet_data; by default a copy drawn with one box per link.

    The copy keeps the original kinematics, inertias and collision meshes; only each link's
    visual mesh (~1.5-3k triangles) becomes the box around it, which renders ~10x faster in
    TinyRenderer and looks the same at 64 px.
    """
    src = os.path.join(pybullet_data.getDataPath(), "kuka_iiwa", "model.urdf")
    if detailed:
        return src
    mesh_dir = os.path.join(os.path.dirname(src), "meshes")
    with open(src, encoding="utf-8") as f:
        text = f.read()

    def box(m: re.Match) -> str:
        """A URDF <visual> box around the link's mesh vertices."""
        verts = np.array([[float(v) for v in line.split()[1:4]] for line in
                          open(os.path.join(mesh_dir, m.group(1) + ".obj"), encoding="utf-8") if line.startswith("v ")])
        lo, hi = verts.min(0), verts.max(0)
        c, s = (lo + hi) / 2, hi - lo
        return (f'<visual><origin rpy="0 0 0" xyz="{c[0]:.4f} {c[1]:.4f} {c[2]:.4f}"/><geometry>'
                f'<box size="{s[0]:.4f} {s[1]:.4f} {s[2]:.4f}"/></geometry>')

    text = re.sub(r'<visual>\s*<origin rpy="0 0 0" xyz="0 0 0"/>\s*<geometry>\s*'
                  r'<mesh filename="meshes/(link_\d)\.obj"/>\s*</geometry>', box, text)
    text = text.replace('filename="meshes/', f'filename="{mesh_dir}/')
    digest = hashlib.sha1(text.encode()).hexdigest()[:12]
    out = os.path.join(tempfile.gettempdir(), f"worldsmith-iiwa-boxes-{digest}.urdf")
    if not os.path.isfile(out):
        atomic_write_text(out, text)
    return out


def sample_robot(S: Sampler) -> dict:
    """Object pose/size/mass, a reachable target region and the arm's start (behind the object)."""
    colours = S.colours(2)
    s, h = S.pick("size", 0.18, 0.24), S.u(0.12, 0.18)
    shape = S.choice(["box", "box", "cylinder"])
    r_obj = S.u(0.5, 0.65)
    ang_obj = S.u(-0.5, 0.5)
    pos = np.array([r_obj * math.cos(ang_obj), r_obj * math.sin(ang_obj), h / 2])
    for _ in range(50):  # a push direction whose target stays inside the reachable annulus
        phi, dist = S.u(-math.pi, math.pi), S.u(0.2, 0.32)
        target = pos[:2] + dist * np.array([math.cos(phi), math.sin(phi)])
        pre = pos[:2] - (s / 2 + 0.1 + S.u(0.0, 0.05)) * np.array([math.cos(phi), math.sin(phi)])
        if 0.42 < np.linalg.norm(target) < 0.78 and 0.35 < np.linalg.norm(pre) < 0.8:
            break
    thing = obj(colours[0], shape, [s, s, h], S.pick("mass", 0.2, 0.8), pos, orn=[0, 0, math.sin(phi / 2),
                math.cos(phi / 2)], friction=S.u(0.3, 0.7), restitution=0.05)
    start = [pre[0], pre[1], 0.03 + S.u(0.0, 0.05)]
    objects = [thing]
    if S.rng.random() < 0.5:  # a second object, clear of the push path, that should stay put
        for _ in range(50):
            r2, a2 = S.u(0.4, 0.75), S.u(-0.9, 0.9)
            p2 = np.array([r2 * math.cos(a2), r2 * math.sin(a2)])
            if _segment_distance(p2, pre, target) > 0.3:
                s2, h2 = S.u(0.16, 0.22), S.u(0.12, 0.18)
                objects.append(obj(colours[1], S.choice(["box", "cylinder"]), [s2, s2, h2], S.u(0.2, 0.8),
                                   [p2[0], p2[1], h2 / 2], orn=euler(yaw=S.u(-1, 1)), friction=S.u(0.3, 0.7),
                                   restitution=0.05))
                break
    policy = S.choice(["good", "good", "noisy"])
    return dict(S.scene([0.5, 0.0, 0.12], 1.35, yaw=90, pitch=-40, yaw_jitter=20, target_jitter=0.05),
                objects=objects, target=[float(target[0]), float(target[1])], target_radius=0.09,
                init=dict(ee_start=start), policy=policy, push_speed=S.pick("speed", 0.015, 0.03),
                policy_seed=int(S.rng.integers(2**31)))


def _segment_distance(q: np.ndarray, a: np.ndarray, b: np.ndarray) -> float:
    """Distance from point q to the segment a-b (2-D)."""
    ab = b - a
    t = float(np.clip((q - a) @ ab / max(float(ab @ ab), 1e-12), 0.0, 1.0))
    return float(np.linalg.norm(q - (a + t * ab)))


@dataclass
class RobotRig:
    """The arm in a World: IK target, action application and observations."""

    world: World
    robot: int
    target: np.ndarray  # [2] xy of the target region
    radius: float
    tip: np.ndarray  # commanded tool-tip position [3]
    rpy: np.ndarray  # commanded tool orientation [3]
    gripper: float = 0.0
    rod: int = -1

    @classmethod
    def build(cls, world: World, params: dict) -> "RobotRig":
        """Load the arm (flat colour), the target marker, and put the arm at its start pose."""
        c = world.client
        robot = p.loadURDF(robot_urdf(params.get("detailed_robot", False)), [0, 0, 0], useFixedBase=True,
                           physicsClientId=c)
        for link in range(-1, p.getNumJoints(robot, physicsClientId=c)):
            p.changeVisualShape(robot, link, rgbaColor=rgba(ROBOT_COLOUR), physicsClientId=c)
        world.add_static("cylinder", [2 * params["target_radius"]] * 2 + [0.004], params["target"] + [0.002],
                         color=TARGET_COLOUR, name="target region")
        rig = cls(world, robot, np.array(params["target"]), params["target_radius"],
                  np.array(params["init"]["ee_start"], np.float64), np.array(DOWN))
        for _ in range(6):  # settle the IK solution by resetting joints repeatedly
            for j, q in enumerate(rig._ik()):
                p.resetJointState(robot, j, q, physicsClientId=c)
        rig._drive()
        rig.rod = rig._attach_rod()
        return rig

    def _attach_rod(self) -> int:
        """A light rod fixed below the flange (collides with objects, not with the arm)."""
        c = self.world.client
        col = p.createCollisionShape(p.GEOM_CYLINDER, radius=ROD_RADIUS, height=ROD_LENGTH, physicsClientId=c)
        vis = p.createVisualShape(p.GEOM_CYLINDER, radius=ROD_RADIUS, length=ROD_LENGTH,
                                  rgbaColor=rgba(ROBOT_COLOUR), physicsClientId=c)
        ls = p.getLinkState(self.robot, 6, computeForwardKinematics=1, physicsClientId=c)
        z_axis = np.asarray(p.getMatrixFromQuaternion(ls[5])).reshape(3, 3)[:, 2]
        centre = np.asarray(ls[4]) + (0.05 + ROD_LENGTH / 2) * z_axis
        rod = p.createMultiBody(2.0, col, vis, basePosition=centre.tolist(), baseOrientation=ls[5], physicsClientId=c)
        for link in range(-1, 7):
            p.setCollisionFilterPair(self.robot, rod, link, -1, 0, physicsClientId=c)
        com = np.asarray(p.getDynamicsInfo(self.robot, 6, physicsClientId=c)[3])  # frames are relative to the COM
        cid = p.createConstraint(self.robot, 6, rod, -1, p.JOINT_FIXED, [0, 0, 0],
                                 (np.array([0, 0, 0.05 + ROD_LENGTH / 2]) - com).tolist(), [0, 0, 0], physicsClientId=c)
        p.changeConstraint(cid, maxForce=1e4, physicsClientId=c)
        return rod

    def _ik(self) -> list[float]:
        orn = p.getQuaternionFromEuler(self.rpy.tolist())
        z_axis = np.asarray(p.getMatrixFromQuaternion(orn)).reshape(3, 3)[:, 2]
        flange = self.tip - TIP_OFFSET * z_axis
        return list(p.calculateInverseKinematics(self.robot, 6, flange.tolist(), orn, _LL, _UL, _JR, _REST,
                                                 maxNumIterations=20, residualThreshold=1e-4,
                                                 physicsClientId=self.world.client))

    def _drive(self) -> None:
        p.setJointMotorControlArray(self.robot, list(range(7)), p.POSITION_CONTROL, targetPositions=self._ik(),
                                    forces=[200.0] * 7, positionGains=[0.05] * 7, physicsClientId=self.world.client)

    def apply(self, action) -> np.ndarray:
        """Clip a 7-D delta to the per-frame bounds, move the IK target; returns the applied action."""
        a = np.clip(np.nan_to_num(np.asarray(action, np.float64).reshape(7)), -MAX_DELTA, MAX_DELTA)
        tip = np.clip(self.tip + a[:3], WORKSPACE[0], WORKSPACE[1])
        measured = self.tool_pose()[0]
        lag = tip - measured  # anti-windup: a blocked arm must not build up a lunge
        self.tip = measured + lag * min(1.0, MAX_LAG / max(float(np.linalg.norm(lag)), 1e-9))
        self.rpy = self.rpy + a[3:6]
        self.gripper = float(np.clip(self.gripper + a[6], 0.0, 1.0))
        self._drive()
        return a.astype(np.float32)

    def tool_pose(self) -> tuple[np.ndarray, np.ndarray]:
        """Measured tool tip position [3] and orientation rpy [3]."""
        ls = p.getLinkState(self.robot, 6, computeForwardKinematics=1, physicsClientId=self.world.client)
        z_axis = np.asarray(p.getMatrixFromQuaternion(ls[5])).reshape(3, 3)[:, 2]
        return np.asarray(ls[4]) + TIP_OFFSET * z_axis, np.asarray(p.getEulerFromQuaternion(ls[5]))

    def observation(self) -> dict:
        """State for scripted policies: tool, object and target (all world frame, metres)."""
        tip, rpy = self.tool_pose()
        thing = self.world.objects[0]
        pos, _ = p.getBasePositionAndOrientation(thing.body, physicsClientId=self.world.client)
        return dict(ee_pos=tip, ee_rpy=rpy, gripper=self.gripper, object_pos=np.asarray(pos),
                    object_size=np.asarray(thing.spec["size"]), target_pos=np.array([*self.target, 0.0]),
                    target_radius=self.radius)

    def success(self) -> bool:
        """The pushed object's centre is inside the target region."""
        o = self.observation()
        return bool(np.linalg.norm(o["object_pos"][:2] - self.target) < self.radius)


def build_robot(world: World, params: dict) -> None:
    """Scene, objects, the arm (tracked last, with its pusher rod) and the target marker."""
    build_scene(world, params)
    for spec in params["objects"]:
        world.add_object(spec)
    rig = RobotRig.build(world, params)
    sid = world.track(rig.robot, 6, dict(name="robot arm", shape="robot", size=[0.12, 0.12, 1.3], mass=0.0,
                                         color=list(ROBOT_COLOUR), dynamic=False))
    world.alias(rig.rod, sid, "robot pusher")
    world.extras["robot"] = rig


class _ScriptedController:
    """simulate_clip's controller: a scripted policy choosing each frame's action."""

    def __init__(self, world: World, params: dict, resolution: int, fps: int) -> None:
        from .policies import make_policy

        self.rig: RobotRig = world.extras["robot"]
        self.policy = make_policy(params["policy"], params["policy_seed"], speed=params["push_speed"] * 15 / fps)
        self.reached = -1
        self.t = 0
        self.rest = int(params.get("rest_frames", 0))

    def act(self) -> np.ndarray:
        """Choose this frame's action from the current observation and apply it (a zero action
        during the clip's first `rest_frames` frames: the arm starts at rest, as an episode does)."""
        if self.t < self.rest:
            a = self.rig.apply(np.zeros(7))
        else:
            a = self.rig.apply(self.policy(self.rig.observation()))
        self.t += 1
        if self.reached < 0 and self.rig.success():
            self.reached = self.t - 1
        return a

    def summary(self) -> dict:
        """Success and the first frame with the object inside the target."""
        return dict(success=self.rig.success(), success_frame=self.reached)


def caption_robot(params: dict, out: dict, rng: np.random.Generator) -> str:
    """Caption from the push direction in the image and whether the object reached the target."""
    thing = params["objects"][0]
    if params.get("policy") in ("random", "play"):  # random play: the arm wanders, whatever it hits
        moved = out["objects"][0]["travel"] > 0.03
        return fill(rng, ["A robot arm moves about at random near {a} on the {f} floor{m}.",
                          "A KUKA arm makes random motions beside {a}{m}."],
                    a=article(thing["name"]), f=params["floor"]["color_name"],
                    m=", knocking it aside" if moved else ", barely touching it")
    cam = params["camera"]
    push = np.array(params["target"]) - np.array(thing["pos"][:2])
    yaw = math.radians(cam["yaw"])
    right = np.array([math.cos(yaw), math.sin(yaw)])  # image-right direction on the floor for this camera
    side = "to the right" if push @ right > 0 else "to the left"
    ok = "and it ends up inside the target" if out.get("success") else "but it stops short of the target"
    if len(params["objects"]) > 1 and out["objects"][1]["travel"] < 0.03 and rng.random() < 0.5:
        ok += f", leaving the {params['objects'][1]['name']} where it was"
    return fill(rng, ["A robot arm pushes {a} {s} toward a white target circle on the {f} floor, {ok}.",
                      "The robot slides {a} {s} across the {f} floor {ok2}.",
                      "A KUKA arm nudges {a} {s} toward the marked spot, {ok}."],
                a=article(thing["name"]), s=side, f=params["floor"]["color_name"], ok=ok,
                ok2="into the target region" if out.get("success") else "but misses the target")


class RobotPushSim:
    """Step-by-step robot pushing: reset(seed) -> frame, step(action7) -> frame.

    A frame is {"rgb" uint8 [H,W,3], "depth" float32 [H,W], "seg" uint8 [H,W],
    "states" float32 [N,13]} with the pushed object first, then an optional second object,
    and the arm (tool flange) last.
    """

    def __init__(self, resolution: int = 64, fps: int = 15, world: World | None = None,
                 detailed_robot: bool = False) -> None:
        """`detailed_robot=True` draws the iiwa's original meshes (~10x slower to render)."""
        from .clip import check_args

        self.substeps = check_args(resolution, 1, fps, 0.0)
        self.detailed_robot = detailed_robot
        self.resolution, self.fps = resolution, fps
        self.world = world or World()
        self.rig: RobotRig | None = None
        self.params: dict | None = None
        self.last_action: np.ndarray | None = None  # the action as applied (clipped to MAX_DELTA)

    def reset(self, seed: int, *, ood: bool = False, perturb: float = 0.0) -> dict:
        """A new episode with the scenario parameters of `seed`; returns the first frame."""
        from .base import perturb_params
        from .clip import sample_params

        params = sample_params("robot_push", seed, ood)
        if perturb > 0:
            params = perturb_params(params, perturb, np.random.default_rng([int(seed), 1000]))
        params["detailed_robot"] = self.detailed_robot
        self.world.reset(substeps=self.substeps)
        build_robot(self.world, params)
        self.world.start()
        self.rig, self.params = self.world.extras["robot"], params
        return self.frame()

    def step(self, action) -> dict:
        """Apply one 7-D end-effector delta, simulate one frame interval, return the new frame."""
        if self.rig is None:
            raise RuntimeError("call reset(seed) before step()")
        self.last_action = self.rig.apply(action)
        self.world.step(self.substeps)
        return self.frame()

    def frame(self) -> dict:
        """Render the current state: rgb, depth, seg and object states."""
        rgb, depth, seg = self.world.render(self.resolution)
        return dict(rgb=rgb, depth=depth, seg=seg, states=self.world.states())

    def observation(self) -> dict:
        """State dict for policies (see `RobotRig.observation`)."""
        return self.rig.observation()

    def object_state(self) -> np.ndarray:
        """float32 [13] state of the pushed object."""
        return self.world.states()[0]

    def success(self) -> bool:
        """The pushed object's centre is inside the target region."""
        return self.rig.success()

    def close(self) -> None:
        """Disconnect this simulator's pybullet connection."""
        self.world.close()


SCENARIOS = [
    Scenario("robot_push", "KUKA iiwa pushing an object to a target (7-D EE delta actions)", sample_robot,
             build_robot, caption_robot, controller=_ScriptedController),
]
