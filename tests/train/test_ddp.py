"""DDP through the trainer's parallelize hook: 2 real CPU processes (torchrun, gloo)."""

import json
import os
import subprocess
import sys

import pytest


@pytest.mark.slow
def test_ddp_two_ranks_stay_in_sync(tmp_path):
    worker = os.path.join(os.path.dirname(__file__), "ddp_worker.py")
    env = {**os.environ, "OMP_NUM_THREADS": "1", "WORLDSMITH_NO_PROGRESS": "1"}
    cmd = [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2", "--master_port", "29517",
           worker, str(tmp_path)]
    res = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=600)
    assert res.returncode == 0, res.stderr[-3000:]
    r0, r1 = (json.load(open(tmp_path / f"rank{i}.json")) for i in (0, 1))
    assert r0["world"] == r1["world"] == 2 and r0["wrapped"] == "DistributedDataParallel"
    assert r0["params"] == pytest.approx(r1["params"], abs=1e-6)  # gradients were all-reduced
    assert r0["losses"] != r1["losses"]  # each rank saw its own data
    assert (tmp_path / "checkpoints" / "latest").is_file()  # written by rank 0


@pytest.mark.slow
def test_ddp_ranks_agree_on_a_time_budget_and_a_time_schedule(tmp_path):
    """Each rank's clock differs; the trainer takes the slowest rank's, so both stop at the same
    step (none waits alone in an all-reduce) with the same learning rates, and stay in sync."""
    worker = os.path.join(os.path.dirname(__file__), "ddp_worker.py")
    env = {**os.environ, "OMP_NUM_THREADS": "1", "WORLDSMITH_NO_PROGRESS": "1"}
    cmd = [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2", "--master_port", "29518",
           worker, str(tmp_path), "time"]
    res = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=600)
    assert res.returncode == 0, res.stderr[-3000:]
    r0, r1 = (json.load(open(tmp_path / f"rank{i}.json")) for i in (0, 1))
    assert len(r0["lrs"]) == len(r1["lrs"]) > 3 and r0["lrs"] == r1["lrs"]
    assert r0["lrs"][-1] < 0.2 * 1e-2  # annealed by the end of the 0.6 s budget
    assert r0["params"] == pytest.approx(r1["params"], abs=1e-6)
