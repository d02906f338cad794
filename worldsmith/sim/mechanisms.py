"""Scenarios with structure: pendulum, stable/unstable stack, dominoes, seesaw.

Hinges are point-to-point constraints on free bodies (a pendulum bob pinned to a pivot; a
seesaw plank pinned at two points on its axle), so every object is a plain base body whose
state and segmentation come out the same way as in the passive scenarios.
"""

from __future__ import annotations

import math

import numpy as np
import pybullet as p

from .base import Sampler, Scenario, article, build_scene, count_word, euler, fill, listing, obj
from .palette import FLOOR_COLOURS, rgba
from .world import World


# ---- 5. pendulum knocking a block ---------------------------------------------------------
def sample_pendulum(S: Sampler) -> dict:
    """A bob on a rod released at 35-75 degrees, swinging into a block on the floor."""
    colours = S.colours(2)
    length, s_bob = S.u(0.8, 1.2), S.pick("size", 0.35, 0.5)
    pivot = [0.0, 0.0, length + s_bob / 2 + 0.06]
    angle = math.radians(S.u(35, 75))
    bob = obj(colours[0], "sphere", [s_bob] * 3, S.pick("mass", 0.5, 2.0), [0, 0, 0], restitution=S.u(0.2, 0.7),
              constrained=True, rod_length=length)
    w, h = S.u(0.3, 0.45), S.u(0.4, 0.6)
    block = obj(colours[1], "box", [w, S.u(0.3, 0.45), h], S.u(0.3, 1.5), [s_bob / 2 + w / 2 + 0.03, 0, h / 2],
                friction=S.u(0.3, 0.8), restitution=S.u(0.1, 0.4), noun="block")
    return dict(S.scene([0.2, 0, 0.6], 3.0, pitch=-8), objects=[bob, block], pivot=pivot,
                init=dict(angle=angle, speed=S.pick("speed", 0.0, 0.5)))


def build_pendulum(world: World, params: dict) -> None:
    """Bob (with its rod drawn rigidly) pinned to a pivot by a point-to-point constraint, then the block."""
    build_scene(world, params)
    bob, block = params["objects"]
    pivot, L, angle = np.array(params["pivot"]), bob["rod_length"], params["init"]["angle"]
    # the bob hangs at `angle` to the left of vertical; its local +z points at the pivot, so the
    # rod (a visual part of the bob body) follows the swing rigidly
    bob["pos"] = (pivot + L * np.array([-math.sin(angle), 0, -math.cos(angle)])).tolist()
    bob["orn"] = euler(pitch=angle)
    tangent = np.array([math.cos(angle), 0, -math.sin(angle)])
    bob["linvel"] = (params["init"]["speed"] * tangent).tolist()
    bob["angvel"] = [0.0, params["init"]["speed"] / L, 0.0]
    c, r = world.client, bob["size"][0] / 2
    vis = p.createVisualShapeArray([p.GEOM_SPHERE, p.GEOM_CYLINDER], radii=[r, 0.025], lengths=[0, L - r],
                                   rgbaColors=[rgba(bob["color"])] * 2,
                                   visualFramePositions=[[0, 0, 0], [0, 0, r + (L - r) / 2]], physicsClientId=c)
    body = world.add_object(bob, visual=vis)
    cid = p.createConstraint(body, -1, -1, -1, p.JOINT_POINT2POINT, [0, 0, 0], [0, 0, L], pivot.tolist(),
                             physicsClientId=c)
    p.changeConstraint(cid, maxForce=1e5, physicsClientId=c)
    world.add_static("sphere", [0.08] * 3, pivot, color=FLOOR_COLOURS["dark grey"], name="pivot")
    world.add_object(block)


def caption_pendulum(params: dict, out: dict, rng: np.random.Generator) -> str:
    """The swing and whether the block was struck or knocked over."""
    bob, block = params["objects"]
    hit = out["first_contact"].get(2, -1) >= 0
    result = ("knocks over the " if out["objects"][1]["tilt_deg"] > 45 else "strikes the ") + block["name"]
    if not hit:
        result = "swings toward the " + block["name"]
    return fill(rng, ["A pendulum with {a} swings down and {r} on a {f} floor.",
                      "{a} on a rod is released from {d} degrees and {r}.",
                      "Released from the side, a {c} pendulum {r}."],
                a=article(bob["name"]), r=result, f=params["floor"]["color_name"],
                d=int(round(math.degrees(params["init"]["angle"]))), c=bob["color_name"])


# ---- 7. stable vs unstable stack ---------------------------------------------------------------
def sample_stack(S: Sampler) -> dict:
    """2-4 blocks stacked; the top one dropped onto them, centred (stable) or past the edge (unstable)."""
    n = S.int(2, 4)
    stable = bool(S.rng.random() < 0.5)
    colours = S.colours(n)
    objects, z, x, widths = [], 0.0, S.u(-0.2, 0.2), []
    for i in range(n):
        w, h = S.pick("size", 0.35, 0.5), S.u(0.25, 0.4)
        if i > 0:
            off = S.u(-0.12, 0.12) * widths[-1]
            if not stable and i == n - 1:
                off = S.sign() * S.u(0.55, 0.75) * widths[-1]  # top block's centre beyond the edge below
            x += off
        gap = S.u(0.05, 0.2) if i == n - 1 else 0.0  # the top block is dropped onto the stack
        vz = -S.pick("speed", 0.0, 0.5) if i == n - 1 else 0.0
        objects.append(obj(colours[i], "box", [w, S.u(0.35, 0.5), h], S.pick("mass", 0.4, 1.5),
                           [x, 0, z + gap + h / 2], orn=euler(yaw=S.u(-0.08, 0.08)), linvel=[0, 0, vz],
                           friction=S.u(0.5, 0.9),
                           restitution=S.u(0.0, 0.2), noun="block", gap=gap))
        z += h
        widths.append(w)
    return dict(S.scene([0, 0, 0.55], 3.0, pitch=-10), objects=objects, stable=stable)


def caption_stack(params: dict, out: dict, rng: np.random.Generator) -> str:
    """Whether the stack stood or which blocks fell (measured, not assumed)."""
    objs = params["objects"]
    top = objs[-1]["name"]
    fell = [s["name"] for s, o in zip(objs, out["objects"])
            if o["drop"] - s.get("gap", 0.0) > 0.5 * s["size"][2] or o["tilt_deg"] > 30]
    base = listing([s["color_name"] for s in objs[:-1]])
    if fell:
        return fill(rng, ["{a} is dropped onto a stack of {b} blocks, and the stack topples: the {f} falls.",
                          "An unstable tower: {a} lands on the {b} blocks and the {f} tumbles to the {fl} floor.",
                          "{n} blocks are stacked; the {f} falls off onto the {fl} floor."],
                    a=article(top), b=base, f=listing(fell), fl=params["floor"]["color_name"],
                    n=count_word(len(objs)))
    return fill(rng, ["{a} is dropped onto a stack of {b} blocks and the stack stays standing.",
                      "A stable tower of {n} blocks: the {t} lands on top and nothing falls.",
                      "{n} blocks stand on a {fl} floor; the {t} settles on top without toppling."],
                a=article(top), b=base, t=top, n=count_word(len(objs)), fl=params["floor"]["color_name"])


# ---- 8. dominoes ------------------------------------------------------------------------------
def sample_dominoes(S: Sampler) -> dict:
    """A ball rolling into a row of 3-6 dominoes."""
    n = S.int(3, 6)
    colours = S.colours(n + 1)
    h, w, t = S.pick("size", 0.55, 0.75), S.u(0.35, 0.45), S.u(0.1, 0.14)
    spacing = S.u(0.45, 0.65) * h
    x0 = -0.5 * (n - 1) * spacing
    objects = []
    s = S.u(0.42, 0.52)
    v = S.pick("speed", 1.8, 3.0)
    objects.append(obj(colours[0], "sphere", [s] * 3, S.pick("mass", 0.8, 2.0), [x0 - 0.7, 0, s / 2],
                       linvel=[v, 0, 0], angvel=[0, 2 * v / s, 0], restitution=0.2, friction=0.5))
    for i in range(n):
        objects.append(obj(colours[i + 1], "box", [t, w, h], S.u(0.3, 0.8), [x0 + i * spacing, 0, h / 2],
                           friction=S.u(0.4, 0.7), restitution=0.1, noun="domino"))
    return dict(S.scene([0.0, 0, 0.3], 2.9, yaw=50, pitch=-22), objects=objects, n_dominoes=n)


def caption_dominoes(params: dict, out: dict, rng: np.random.Generator) -> str:
    """How many dominoes were hit and how many fell."""
    n = params["n_dominoes"]
    ball = params["objects"][0]["name"]
    fallen = sum(o["tilt_deg"] > 45 for o in out["objects"][1:])
    hit = sum(out["first_contact"].get(i + 2, -1) >= 0 for i in range(n))
    return fill(rng, ["{a} rolls into a row of {n} dominoes; {k} of them fall over.",
                      "A line of {n} dominoes on a {f} floor is hit by {a}, and {k} topple.",
                      "{a} knocks the first of {n} dominoes and the chain reaction reaches {h} of them."],
                a=article(ball), n=count_word(n), k=count_word(fallen), h=count_word(hit),
                f=params["floor"]["color_name"])


# ---- 9. seesaw hit by a dropped weight ----------------------------------------------------------
def sample_seesaw(S: Sampler) -> dict:
    """A plank tilted on a fulcrum with a block on its low end and a weight dropped on its high end."""
    colours = S.colours(3)
    L, t, width, hf = S.u(2.0, 2.4), 0.08, 0.45, S.u(0.25, 0.35)
    alpha = math.asin(hf / (L / 2))  # left end rests on the floor
    centre = np.array([0.0, 0.0, hf + t / 2])
    along = np.array([math.cos(alpha), 0, math.sin(alpha)])  # plank axis, rising to the right
    normal = np.array([-math.sin(alpha), 0, math.cos(alpha)])
    plank = obj(colours[0], "box", [L, width, t], S.u(0.8, 1.5), centre, orn=euler(pitch=-alpha),
                friction=0.9, restitution=0.1, noun="plank", constrained=True)
    sb = S.pick("size", 0.3, 0.4)
    block = obj(colours[1], "box", [sb, sb, sb], S.pick("mass", 0.2, 0.6),
                centre - (L / 2 - sb / 2 - 0.05) * along + (t / 2 + sb / 2 + 0.002) * normal,
                orn=euler(pitch=-alpha), friction=0.9, restitution=0.1, noun="block")
    sw = S.u(0.35, 0.5)
    drop_x = centre + (L / 2 - sw / 2 - 0.05) * along
    weight = obj(colours[2], S.choice(["box", "sphere"]), [sw] * 3, S.u(2.0, 5.0),
                 [drop_x[0], 0, drop_x[2] + t / 2 + sw / 2 + S.u(0.4, 0.9)],
                 linvel=[0, 0, -S.pick("speed", 0.0, 1.0)], friction=0.8, restitution=0.1, noun="weight")
    return dict(S.scene([0, 0, 0.6], 3.2, pitch=-8), objects=[plank, block, weight], fulcrum_height=hf,
                tilt_deg=math.degrees(alpha))


def build_seesaw(world: World, params: dict) -> None:
    """Fulcrum, the plank hinged by two pins on its axle, then the block and the weight."""
    build_scene(world, params)
    c = world.client
    plank = params["objects"][0]
    hf, width = params["fulcrum_height"], plank["size"][1]
    fulcrum = world.add_static("box", [0.12, width, hf - 0.01], [0, 0, (hf - 0.01) / 2],
                               color=FLOOR_COLOURS["dark grey"], name="fulcrum")
    body = world.add_object(plank)
    p.setCollisionFilterPair(body, fulcrum, -1, -1, 0, physicsClientId=c)
    for y in (-width / 2, width / 2):  # two pins on the axle = a hinge about y
        cid = p.createConstraint(body, -1, -1, -1, p.JOINT_POINT2POINT, [0, 0, 0], [0, y, 0],
                                 [plank["pos"][0], y, plank["pos"][2]], physicsClientId=c)
        p.changeConstraint(cid, maxForce=1e5, physicsClientId=c)
    for spec in params["objects"][1:]:
        world.add_object(spec)


def caption_seesaw(params: dict, out: dict, rng: np.random.Generator) -> str:
    """What the dropped weight does to the block on the other end (by its highest rise)."""
    plank, block, weight = params["objects"]
    rise = out["objects"][1]["rise"]
    what = "is launched into the air" if rise > 0.3 else ("is tipped up" if rise > 0.05 else "barely moves")
    return fill(rng, ["{w} drops onto the raised end of a {c} seesaw, and the {b} on the other end {r}.",
                      "A heavy {w2} falls on a seesaw; the {b} sitting on the low end {r}.",
                      "On a {f} floor, {w} lands on one side of a seesaw and the {b} {r}."],
                w=article(weight["name"]), w2=weight["name"], c=plank["color_name"], b=block["name"], r=what,
                f=params["floor"]["color_name"])


SCENARIOS = [
    Scenario("pendulum", "a pendulum bob swinging into a block", sample_pendulum, build_pendulum, caption_pendulum),
    Scenario("stack", "a block dropped onto a stable or unstable stack", sample_stack,
             lambda w, pr: _plain(w, pr), caption_stack),
    Scenario("dominoes", "a ball starting a row of 3-6 dominoes", sample_dominoes,
             lambda w, pr: _plain(w, pr), caption_dominoes),
    Scenario("seesaw", "a seesaw hit by a dropped weight, launching a block", sample_seesaw, build_seesaw,
             caption_seesaw),
]


def _plain(world: World, params: dict) -> None:
    build_scene(world, params)
    for spec in params["objects"]:
        world.add_object(spec)
