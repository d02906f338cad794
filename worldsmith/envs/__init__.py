"""Gymnasium environments: the action-conditioned world model and its simulator twin.

- `worldsmith/RobotPushWorldModel-v0` (`world_env.WorldModelEnv`, kwargs: model=DIR, ...):
  robot pushing inside a trained action-conditioned world model; `WorldModelVectorEnv` runs
  many episodes in one batch.
- `worldsmith/RobotPushSim-v0` (`sim_env.RobotPushSimEnv`): the same task in the pybullet
  simulator, with the same observation and action spaces and the same start states.

Importing this package registers both ids (Gymnasium's registry is filled at import time;
`gymnasium.make("worldsmith.envs:worldsmith/RobotPushSim-v0")` imports it for you).
Policies: `policies.py`; perception from images: `vision.py`.
"""

from gymnasium.envs.registration import register, registry

for _id, _entry in (("worldsmith/RobotPushWorldModel-v0", "worldsmith.envs.world_env:WorldModelEnv"),
                    ("worldsmith/RobotPushSim-v0", "worldsmith.envs.sim_env:RobotPushSimEnv")):
    if _id not in registry:
        register(id=_id, entry_point=_entry)
