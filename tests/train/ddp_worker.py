"""Run by test_ddp.py under torchrun: 2 CPU ranks (gloo) train the regression task with DDP."""

import json
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(__file__))
from test_trainer import Regress, cfg  # noqa: E402

from worldsmith.parallel import init_distributed, parallelize  # noqa: E402
from worldsmith.train import Trainer  # noqa: E402

torch.set_num_threads(1)
rank, world = init_distributed("gloo")
out = sys.argv[1]
if len(sys.argv) > 2 and sys.argv[2] == "time":  # a time budget and a time schedule: ranks must agree
    from worldsmith.train import OptimConfig  # noqa: E402

    run_cfg = cfg(steps=10**6, ckpt_every=0, eval_every=0, max_minutes=0.01,
                  optim=OptimConfig(lr=1e-2, warmup_steps=3, schedule="time"))
else:
    run_cfg = cfg(steps=4, ckpt_every=2, eval_every=0)
t = Trainer(Regress(), run_cfg, out, parallelize=parallelize)
model = t.fit()
flat = torch.cat([p.detach().flatten() for p in model.parameters()])
with open(os.path.join(out, f"rank{rank}.json"), "w") as f:
    json.dump({"world": world, "wrapped": type(t.train_model).__name__, "params": flat.tolist(),
               "losses": [h["loss"] for h in t.history],
               "lrs": [h["lr"] for h in t.history]}, f)
torch.distributed.destroy_process_group()
