"""Passive scenarios: free fall with bounce, projectile, two-body collision, incline roll.

Motion runs along world x, seen from the side (camera yaw ~0 looks along +y). Objects are
0.35-0.6 m across, so at the default camera distance they span ~8-14 px at 64 px.
"""

from __future__ import annotations

import math

import numpy as np

from .base import Sampler, Scenario, article, build_scene, count_word, dims, euler, fill, listing, obj, times
from .world import World


def _build_objects(world: World, params: dict) -> None:
    build_scene(world, params)
    for spec in params["objects"]:
        world.add_object(spec)


# ---- 1. free fall with bounce -------------------------------------------------------------
def sample_fall(S: Sampler) -> dict:
    """1-3 objects (ball, cube, cylinder) dropped from 0.8-1.6 m with random restitution."""
    n = S.int(1, 3)
    colours = S.colours(n)
    xs = np.linspace(-0.75, 0.75, n) if n > 1 else np.zeros(1)
    objects = []
    for i in range(n):
        shape = S.choice(["sphere", "sphere", "box", "cylinder"])
        s = S.pick("size", 0.35, 0.55)
        z = S.u(0.8, 1.6) + s / 2
        orn = euler(S.u(-0.5, 0.5), S.u(-0.5, 0.5), S.u(-0.5, 0.5)) if shape != "sphere" else [0, 0, 0, 1]
        objects.append(obj(colours[i], shape, dims(shape, s, S.u(0.8, 1.2)), S.pick("mass", 0.5, 2.0),
                           [xs[i] + S.u(-0.1, 0.1), S.u(-0.1, 0.1), z], orn=orn,
                           linvel=[S.u(-0.2, 0.2), 0, -S.pick("speed", 0.0, 1.0)],
                           angvel=[0, S.u(-1, 1), 0], restitution=S.u(0.3, 0.9), friction=S.u(0.3, 0.9)))
    return dict(S.scene([0, 0, 0.85], 3.0, pitch=-10), objects=objects)


def fall_verb(k: int) -> str:
    """What an object with `k` floor landings did: the first is the landing, the rest bounces (as
    projectile's caption counts them). Before session 32 captions counted contact onsets as
    bounces (a resting cube's flicker counted, a fast ball's one-step bounce did not), a single
    object that landed once and stayed "bounced once", and k onsets read as k bounces."""
    if k == 0:
        return "keeps falling"
    return "hits the floor and stays there" if k == 1 else f"lands and bounces {times(k - 1)}"


def caption_fall(params: dict, out: dict, rng: np.random.Generator) -> str:
    """Describe the drop, and the bounces after landing counted per object."""
    parts = [f"{article(spec['name'])} {fall_verb(o['floor_landings'])}"
             for spec, o in zip(params["objects"], out["objects"])]
    floor = params["floor"]["color_name"]
    if len(parts) == 1:
        a, k = article(params["objects"][0]["name"]), out["objects"][0]["floor_landings"]
        if k == 0:
            templates = ["{a} is dropped over a {f} floor and is still falling.",
                         "Dropped from above, {a} is still falling toward the {f} ground."]
        elif k == 1:
            templates = ["{a} is dropped, hits a {f} floor and stays there.",
                         "{a} falls onto a {f} floor and stays there without bouncing.",
                         "Dropped from above, {a} lands on the {f} ground and stays there."]
        else:
            templates = ["{a} is dropped and bounces {t} on a {f} floor after landing.",
                         "{a} falls onto a {f} floor, lands and bounces {t}.",
                         "Dropped from above, {a} lands on the {f} ground and bounces {t}."]
        return fill(rng, templates, a=a, t=times(max(k - 1, 0)), f=floor)
    return fill(rng, ["{n} objects fall onto a {f} floor: {parts}.", "Dropped together over a {f} floor, {parts}."],
                n=count_word(len(parts)), f=floor, parts=listing(parts))


# ---- 2. projectile ------------------------------------------------------------------------
def sample_projectile(S: Sampler) -> dict:
    """One object thrown left or right at 25-60 degrees, landing and bouncing."""
    direction = S.sign()
    colour = S.colours(1)[0]
    shape = S.choice(["sphere", "sphere", "box"])
    s = S.pick("size", 0.42, 0.55)
    speed, angle = S.pick("speed", 2.0, 3.2), math.radians(S.u(25, 60))
    vx, vz = direction * speed * math.cos(angle), speed * math.sin(angle)
    spec = obj(colour, shape, dims(shape, s), S.pick("mass", 0.3, 1.5), [-1.5 * direction, 0, S.u(0.4, 0.9)],
               linvel=[vx, 0, vz], angvel=[0, direction * S.u(0, 3), 0], restitution=S.u(0.3, 0.8),
               friction=S.u(0.3, 0.8), rolling_friction=S.u(0.0, 0.02))
    return dict(S.scene([0.2 * direction, 0, 0.8], 3.1, pitch=-8), objects=[spec], direction=direction,
                speed=speed, launch_angle_deg=math.degrees(angle))


def caption_projectile(params: dict, out: dict, rng: np.random.Generator) -> str:
    """Direction of the throw and the bounces after landing."""
    spec, o = params["objects"][0], out["objects"][0]
    side = "right" if params["direction"] > 0 else "left"
    k = o["floor_landings"]
    after = {0: "and is still in the air", 1: "and lands without bouncing"}.get(
        k, f"and bounces {times(k - 1)} after landing")
    return fill(rng, ["{a} is thrown to the {s} and lands on a {f} floor {after}.",
                      "Someone tosses {a} to the {s}; it flies in an arc over the {f} floor {after}.",
                      "{a} is launched toward the {s} {after} on the {f} ground."],
                a=article(spec["name"]), s=side, f=params["floor"]["color_name"], after=after)


# ---- 3. two-body collision (1-D, head-on) ---------------------------------------------------
def sample_collision(S: Sampler) -> dict:
    """Two balls rolling head-on along x (the second resting or approaching), random mass ratio."""
    colours = S.colours(2)
    objects = []
    for i, (x, v) in enumerate([(-1.1, S.pick("speed", 1.2, 2.4)), (S.u(0.0, 0.5), -S.choice([0.0, S.u(0.3, 1.0)]))]):
        s = S.pick("size", 0.35, 0.5)
        r = s / 2
        objects.append(obj(colours[i], "sphere", [s, s, s], S.pick("mass", 0.5, 3.0), [x, 0, r],
                           linvel=[v, 0, 0], angvel=[0, v / r, 0],  # rolling without slipping
                           restitution=S.u(0.5, 0.95), friction=S.u(0.3, 0.7), rolling_friction=S.u(0.0, 0.01)))
    return dict(S.scene([-0.1, 0, 0.35], 2.8, pitch=-12), objects=objects,
                mass_ratio=objects[0]["mass"] / objects[1]["mass"])


def caption_collision(params: dict, out: dict, rng: np.random.Generator) -> str:
    """Who hits whom, which is heavier, and what the first ball does after the impact."""
    a, b = params["objects"]
    moving = abs(b["linvel"][0]) > 1e-6
    heavier = a["name"] if a["mass"] > b["mass"] else b["name"]
    vx = out["objects"][0]["vel_end"][0]
    after = "bounces back" if vx < -0.05 else ("keeps rolling forward" if vx > 0.05 else "comes to a stop")
    how = "rolls toward" if moving else "rolls into"
    return fill(rng, ["{a} {how} {b} on a {f} floor; after the collision the {A} {after}.",
                      "Two balls collide head-on on a {f} floor. The {H} is heavier; the {A} {after}.",
                      "{a} and {b} meet on the {f} ground, and the {A} {after} after the impact."],
                a=article(a["name"]), b=article(b["name"]) if not moving else "a moving " + b["name"],
                how=how, f=params["floor"]["color_name"], A=a["name"], H=heavier, after=after)


# ---- 4. incline roll onto the floor -----------------------------------------------------------
def sample_incline(S: Sampler) -> dict:
    """A ball or cylinder released on a 15-30 degree ramp that ends on the floor."""
    scene = S.scene([0.0, 0, 0.5], 3.2, pitch=-10)
    theta = math.radians(S.u(15, 30))
    length = S.u(1.5, 1.9)
    end_x = S.u(-0.4, -0.1)
    colour = S.colours(1)[0]
    shape = S.choice(["sphere", "cylinder"])
    s = S.pick("size", 0.35, 0.5)
    r = s / 2
    u = np.array([math.cos(theta), 0, -math.sin(theta)])  # down-slope direction
    nrm = np.array([math.sin(theta), 0, math.cos(theta)])  # ramp surface normal
    end = np.array([end_x, 0, 0.0])
    start = end - (length - r - 0.05) * u + (r + 0.002) * nrm
    v0 = S.pick("speed", 0.0, 0.6)
    orn = euler(roll=math.pi / 2) if shape == "cylinder" else [0, 0, 0, 1]  # cylinder axis along y
    spec = obj(colour, shape, [s, s, 0.6 * s if shape == "cylinder" else s], S.pick("mass", 0.5, 2.0), start,
               orn=orn, linvel=(v0 * u).tolist(), angvel=[0, v0 / r, 0], friction=S.u(0.5, 0.9),
               restitution=S.u(0.1, 0.4), rolling_friction=S.u(0.0, 0.01))
    ramp = dict(length=length, thickness=0.1, width=0.8, angle_deg=math.degrees(theta),
                center=(end - length / 2 * u - 0.05 * nrm).tolist(),
                color_name=S.choice([c for c in ("brown", "slate", "dark grey", "beige")
                                     if c != scene["floor"]["color_name"]]))
    return dict(scene, objects=[spec], ramp=ramp)


def build_incline(world: World, params: dict) -> None:
    """Scene, the static ramp, then the rolling object."""
    from .palette import FLOOR_COLOURS

    build_scene(world, params)
    rp = params["ramp"]
    world.add_static("box", [rp["length"], rp["width"], rp["thickness"]], rp["center"],
                     euler(pitch=math.radians(rp["angle_deg"])), FLOOR_COLOURS[rp["color_name"]], name="ramp")
    for spec in params["objects"]:
        world.add_object(spec)


def caption_incline(params: dict, out: dict, rng: np.random.Generator) -> str:
    """The roll down the ramp onto the floor."""
    spec = params["objects"][0]
    deg = int(round(params["ramp"]["angle_deg"]))
    return fill(rng, ["{a} rolls down a {d}-degree ramp onto a {f} floor.",
                      "{a} starts at the top of a slope, rolls down and continues across the {f} ground.",
                      "On a {d} degree incline, {a} rolls down and off onto the {f} floor."],
                a=article(spec["name"]), d=deg, f=params["floor"]["color_name"])


SCENARIOS = [
    Scenario("fall", "free fall with bounce (1-3 objects)", sample_fall, _build_objects, caption_fall),
    Scenario("projectile", "an object thrown in an arc, landing and bouncing", sample_projectile, _build_objects,
             caption_projectile),
    Scenario("collision", "two balls colliding head-on (1-D)", sample_collision, _build_objects, caption_collision),
    Scenario("incline", "roll down an incline onto the floor", sample_incline, build_incline, caption_incline),
]
