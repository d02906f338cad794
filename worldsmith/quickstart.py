"""`worldsmith quickstart`: the whole path on a fresh machine, on CPU, in minutes.

1. simulate a small fixed-seed physics test set (the PhysAlign-64 clips, cached);
2. load the shipped pretrained tokenizer + world model (`worldsmith/pretrained/`);
3. predict continuations of held-out clips from 1 and 9 frames (MP4s side by side with the truth);
4. run the physics benchmark: the model against the baselines and ceilings;
5. robots: run the shipped pushing policies inside the shipped action-conditioned model
   (a Gymnasium env) and in the simulator, and compare their success rates;
6. print where the HTML report is.

`--train` instead trains a tokenizer and a world model from scratch on freshly simulated
clips with small budgets, then does 3-5 with them: the whole pipeline, end to end.
"""

from __future__ import annotations

import os

PRETRAINED = os.path.join(os.path.dirname(os.path.abspath(__file__)), "pretrained")
WORLD_MODEL = os.path.join(PRETRAINED, "world-model-dit-tiny-sim64")
ROBOT_MODEL = os.path.join(PRETRAINED, "robot-push-dit-tiny-sim64")  # WORLD_MODEL post-trained on robot actions


def register(sub) -> None:
    p = sub.add_parser("quickstart", help="simulate, predict and benchmark with the shipped models (CPU, minutes)",
                       description="Simulate a small physics test set, predict continuations with the shipped "
                       "world model from 1 and 9 frames, score them against baselines, and write an HTML report.")
    p.add_argument("--out", default="worldsmith_out/quickstart", help="output directory (default %(default)s)")
    p.add_argument("--clips", type=int, default=2, help="test clips per scenario (default %(default)s)")
    p.add_argument("--steps", type=int, default=20, help="sampling steps (default %(default)s)")
    p.add_argument("--train", action="store_true", help="train the tokenizer and world model from scratch first")
    p.add_argument("--train-minutes", type=float, default=6.0,
                   help="with --train: minutes for each of the two trainings (default %(default)s)")
    p.add_argument("--episodes", type=int, default=4, help="robot policy episodes per policy (default %(default)s)")
    p.add_argument("--device", default="auto", help="auto | cpu | cuda[:n]")
    p.set_defaults(func=cmd_quickstart)


def train_from_scratch(out: str, minutes: float, device: str) -> str:
    """Simulate clips, train a cv4x4x4-tiny tokenizer and a tiny DiT on them; return the model directory."""
    from .cli import main

    data = os.path.join(out, "train-data")
    steps = [
        ["sim", "generate", "--scenario", "all", "--num-clips", "12", "--out", data],
        ["tokenizer", "train", "--data", data, "--preset", "cv4x4x4-tiny", "--steps", "100000", "--max-minutes",
         str(minutes), "--out", os.path.join(out, "tokenizer"), "--set", "data.num_frames=9", "--set",
         "data.crop=32", "--set", "data.val_clips=4", "--device", device],
        ["train", "--task", "video2world", "--data", data, "--tokenizer", os.path.join(out, "tokenizer", "model"),
         "--preset", "dit-tiny", "--steps", "100000", "--max-minutes", str(minutes), "--out",
         os.path.join(out, "world-model"), "--set", "data.num_frames=33", "--set",
         "diffusion.cond_frame_choices=[0,1,2,3,3]", "--set", "train.tensorboard=false", "--device", device],
    ]
    for argv in steps:
        print("$ worldsmith " + " ".join(argv), flush=True)
        rc = main(argv)
        if rc:
            from .utils.errors import WorldsmithError

            raise WorldsmithError(f"quickstart --train: step failed: worldsmith {' '.join(argv[:2])}")
    return os.path.join(out, "world-model", "model")


def cmd_quickstart(args) -> int:
    import numpy as np

    from .eval import physics, report
    from .eval.model_predictors import load_predictors
    from .eval.physics_run import run
    from .io import write_video
    from .sim.clip import scenario_names
    from .utils.errors import WorldsmithError

    if args.clips < 1:
        raise WorldsmithError("--clips must be >= 1")
    os.makedirs(args.out, exist_ok=True)
    model_dir = train_from_scratch(args.out, args.train_minutes, args.device) if args.train else WORLD_MODEL
    if not os.path.isfile(os.path.join(model_dir, "world_model.json")):
        raise WorldsmithError(f"no world model at {model_dir} (use --train to train one from scratch)")
    print(f"world model: {model_dir}", flush=True)
    name, preds = load_predictors(model_dir, steps=args.steps, device=args.device)
    # a few predictions as plain MP4s: truth | model, from 1 and from 9 frames
    pred_dir = os.path.join(args.out, "predictions")
    names = scenario_names()
    for scen in ("fall", "collision", "dominoes"):
        case = physics.load_or_simulate(os.path.join(args.out, "testset"), scen, names.index(scen), 0, False)
        for K in (1, 9):
            n = case.rgb.shape[0] - K
            pred = preds["world_model"](case, K, n)
            both = report.side_by_side([case.rgb, np.concatenate([case.rgb[:K], pred])])
            path = os.path.join(pred_dir, f"{case.key}-from{K}.mp4")
            write_video(path, both, fps=15, quality=12)
            print(f"prediction: {path}  (left truth, right model; {K} frame(s) given)", flush=True)
    res = run(args.out, preds, clips=args.clips, ood_clips=max(1, args.clips // 2), cond_frames=(1, 9),
              model_name="world_model", videos_per_scenario=1,
              settings={"model_dir": model_dir, "steps": args.steps, "guidance": 0.0, "guardrails": False,
                        "upsample": False})
    agg = res["aggregate"]["test"]["all"]
    print(f"\n{'method':<20} {'PSNR':>7} {'SSIM':>6} {'mask IoU':>9}   (all scenarios, 9 frames given)")
    for m, a in agg.get("9", {}).items():
        print(f"{m:<20} {a['psnr/all'] or float('nan'):7.2f} {a['ssim/all'] or float('nan'):6.3f} "
              f"{a['mask_iou/all'] or float('nan'):9.3f}")
    for t in res["targets"]:
        print(f"[{'PASS' if t['passed'] else 'FAIL'}] {t['target']}: {t['detail']}")
    if not args.train and os.path.isfile(os.path.join(ROBOT_MODEL, "world_model.json")):
        robot_policies(os.path.join(args.out, "robot-policies"), args.episodes, args.device)
    print(f"\nreport: {os.path.abspath(os.path.join(args.out, 'report.html'))}")
    return 0


def robot_policies(out: str, episodes: int, device: str) -> None:
    """Step 5: the shipped policies in the shipped action model and in the simulator."""
    from .envs.policies import SHIPPED
    from .eval.policy import evaluate_policies
    from .inference.action import ActionWorldModel

    print(f"\nrobot policies in the action-conditioned world model {ROBOT_MODEL} vs the simulator:", flush=True)
    wm = ActionWorldModel.from_pretrained(ROBOT_MODEL, device=device)
    rep = evaluate_policies(wm, SHIPPED, episodes=episodes, out_dir=out, videos=1, replay=False)  # keep it short
    print(f"{'policy':<10} {'success: sim':>13} {'world model':>12} {'progress m: sim':>16} {'world model':>12}")
    for name, r in rep["policies"].items():
        print(f"{name:<10} {r['sim_success']:>13.2f} {r['world_model_success']:>12.2f} "
              f"{r['sim_progress_m']:>16.3f} {r['world_model_progress_m']:>12.3f}")
    print(f"rank correlation sim vs world model: success {rep['spearman']:.2f}, progress "
          f"{rep['spearman_progress']:.2f}; report: {out}/report.html, videos (simulator | world model): {out}/videos/")
