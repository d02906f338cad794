"""`worldsmith eval ...` commands."""

from __future__ import annotations

import argparse

import numpy as np

from ..cli import add_group


def _int_list(text: str) -> list[int]:
    try:
        vals = [int(v) for v in text.split(",") if v.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated integers, got {text!r}") from None
    if not vals or min(vals) < 1:
        raise argparse.ArgumentTypeError(f"expected positive integers, got {text!r}")
    return vals


def _add_rollout_args(p) -> None:
    """Options shared by `eval policy` and `eval actions`: how the robot model rolls out, output, device."""
    p.add_argument("--sampler", default=None, choices=("mean", "euler", "heun", "dpmpp_2m"),
                   help="how each chunk is predicted: mean = the model's one-step posterior mean (one network "
                   "pass, no noise drawn); or a sampler taking --sampler-steps steps (default: the model "
                   "directory's recommendation, else dpmpp_2m)")
    p.add_argument("--rollout", default="latent", choices=("latent", "pixel"),
                   help="latent: chunks condition on the model's own latents (default); pixel: each chunk is "
                   "decoded and the last frames re-encoded as the next context (the older rollout)")
    p.add_argument("--rollout-aug-sigma", type=float, default=None,
                   help="conditioning noise on contexts the model generated itself (default 0.05; 0.001 = as for "
                   "true frames)")
    p.add_argument("--decode", default="plain", choices=("plain", "residual"),
                   help="plain: the tokenizer's decode of the rollout's latents; residual: the last real context "
                   "frame plus the decoded change (what stays still stays sharp)")
    p.add_argument("--change-threshold", type=float, default=0.0,
                   help="with --decode residual: drop decoded changes smaller than this ([-1, 1] units; default 0)")
    p.add_argument("--action-guidance", type=float, default=0.0,
                   help="classifier-free guidance on the actions: D_act + g * (D_act - D_zeroed actions), "
                   "at twice the cost per step (default 0 = off)")
    p.add_argument("--out", required=True, help="output directory (report.html, results.json, videos/)")
    p.add_argument("--device", default="auto", help="auto | cpu | cuda[:n]")


def register(sub) -> None:
    g = add_group(sub, "eval", "benchmarks: physics alignment of world models against baselines and ceilings")
    p = g.add_parser("physics", help="PhysAlign-64: score predicted continuations of simulator clips",
                     description="Build (or reuse) a fixed-seed simulator test set, score the world model, "
                     "the physics-free baselines and the ceilings on it, write results.json and report.html.")
    p.add_argument("--model", default=None, help="world-model directory (worldsmith train ... --out RUN: RUN/model); "
                   "without it only the baselines and ceilings are scored")
    p.add_argument("--out", required=True, help="output directory (results.json, report.html, testset/)")
    p.add_argument("--steps", type=int, default=35, help="sampling steps for the model (default 35)")
    p.add_argument("--sampler", default="dpmpp_2m", choices=("euler", "heun", "dpmpp_2m", "mean"),
                   help="sampler (default dpmpp_2m); 'mean' scores only the model's one-step posterior-mean "
                   "prediction (otherwise it is scored beside the samples, as world_model_mean)")
    p.add_argument("--mean-sigma", type=float, default=None,
                   help="noise level the posterior mean is read at (default: the model's mean_sigma, 30 unless "
                   "its diffusion.json says otherwise; see BENCHMARKS.md)")
    p.add_argument("--guidance", type=float, default=0.0,
                   help="classifier-free guidance on the caption (default 0: with conditioning frames the caption "
                   "adds little, and guidance amplifies sampling noise; see BENCHMARKS.md)")
    p.add_argument("--aug-sigma", type=float, default=None,
                   help="noise on the conditioning latent frames (default: the model's aug_sigma_inference)")
    p.add_argument("--decode", default="plain", choices=("plain", "residual"),
                   help="plain: the tokenizer's decode of the sampled latents; residual: the last conditioning "
                   "frame plus the decoded change (see `worldsmith predict --help`)")
    p.add_argument("--change-threshold", type=float, default=0.0,
                   help="with --decode residual: drop decoded changes smaller than this ([-1, 1] units; default 0)")
    p.add_argument("--no-mean-decoder", action="store_true",
                   help="render the posterior mean with the tokenizer's own decoder even when the model directory "
                   "has a mean decoder (world_model.json \"mean_decoder\")")
    p.add_argument("--device", default="auto", help="auto | cpu | cuda[:n]")
    p.add_argument("--scenarios", default=None, help="comma-separated scenario names (default: all)")
    p.add_argument("--cond-frames", type=_int_list, default=[1, 9], help="conditioning frame counts (default 1,9)")
    p.add_argument("--clips", type=int, default=50, help="in-distribution test clips per scenario (default 50)")
    p.add_argument("--ood-clips", type=int, default=25, help="out-of-distribution clips per scenario (default 25)")
    p.add_argument("--resolution", type=int, default=64)
    p.add_argument("--frames", type=int, default=33)
    p.add_argument("--fps", type=int, default=15)
    p.add_argument("--cache", default=None, help="test-set cache directory (default OUT/testset)")
    p.add_argument("--videos", type=int, default=2, help="side-by-side videos per scenario in the report")
    p.set_defaults(func=cmd_physics)

    p = g.add_parser("policy", help="run robot policies in an action-conditioned world model and in the simulator",
                     description="Run each policy from the same start states in the world-model Gymnasium env "
                     "and in the robot_push simulator; report success rates in both, their Spearman rank "
                     "correlation and side-by-side videos (simulator | world model).")
    p.add_argument("--model", required=True, help="action-conditioned world model (worldsmith train --task action2world)")
    p.add_argument("--policy", action="append", default=None, metavar="SPEC",
                   help="good | noisy | random | module:factory (factory(task, seed) -> policy(obs) -> action); "
                   "repeat for several (default: good, noisy, random)")
    p.add_argument("--episodes", type=int, default=8, help="episodes per policy (default 8)")
    p.add_argument("--max-steps", type=int, default=7, help="env steps per episode, 4 frames each (default 7)")
    p.add_argument("--start-seed", type=int, default=None,
                   help="first episode's start seed (default 700000, the benchmark's starts; choose models "
                        "on other starts, e.g. 800000, and report on the default)")
    p.add_argument("--sampler-steps", type=int, default=10, help="diffusion sampling steps per env step (default 10)")
    p.add_argument("--no-replay", action="store_true",
                   help="skip playing the simulator's actions back in the world model open loop (the 'replayed' "
                   "columns: its dynamics without the policy's reactions; ~1/3 of the run time)")
    _add_rollout_args(p)
    p.set_defaults(func=cmd_policy)

    p = g.add_parser("actions", help="action fidelity: true vs zeroed actions vs copy-last on held-out robot clips",
                     description="Roll out the model from true context frames with the clips' true actions and "
                     "with zeroed actions; score PSNR, SSIM, pushed-object IoU and arm-centroid error against "
                     "the truth, beside copy-last-frame.")
    p.add_argument("--model", required=True, help="action-conditioned world model directory")
    p.add_argument("--clips", type=int, default=12, help="held-out clips (default 12)")
    p.add_argument("--frames", type=int, default=33, help="frames per clip (default 33)")
    p.add_argument("--data", help="score your own clips with actions from this clip dataset (e.g. made by "
                   "`worldsmith data import-bridge`) instead of simulated held-out ones")
    p.add_argument("--split", default="val", choices=["train", "val", "test", "all"],
                   help="dataset split with --data (default val)")
    p.add_argument("--action-key", default="actions", help="action array name with --data (default actions)")
    p.add_argument("--policies", default="good,noisy,random",
                   help="policies of the simulated held-out clips, in turn (good, noisy, random, play; "
                   "default good,noisy,random)")
    p.add_argument("--sampler-steps", type=int, default=10, help="diffusion sampling steps (default 10)")
    _add_rollout_args(p)
    p.set_defaults(func=cmd_actions)


def _rollout_options(args) -> dict:
    """The ActionWorldModel options of `eval actions|policy`, validated (one clear error each)."""
    from ..inference.residual import check_decode
    from ..utils.errors import WorldsmithError

    if not args.action_guidance >= 0:
        raise WorldsmithError(f"--action-guidance {args.action_guidance}: expected >= 0")
    check_decode(args.decode, args.change_threshold)
    if args.sampler_steps < 1:
        raise WorldsmithError(f"--sampler-steps {args.sampler_steps}: expected >= 1")
    out = {"action_guidance": args.action_guidance, "decode": args.decode, "change_threshold": args.change_threshold,
           "sampler": args.sampler}
    if args.rollout_aug_sigma is None:
        return out
    if args.rollout_aug_sigma < 0:
        raise WorldsmithError(f"--rollout-aug-sigma {args.rollout_aug_sigma}: expected >= 0")
    return {**out, "rollout_aug_sigma": args.rollout_aug_sigma}


def _model_diffusion(model_dir: str, key: str):
    """A world model's diffusion setting as it samples by default (its diffusion.json, else the default)."""
    import os

    from ..diffusion import DiffusionConfig
    from ..utils.errors import read_json

    data = read_json(os.path.join(model_dir, "diffusion.json"), "--model diffusion.json")
    return data.get(key, getattr(DiffusionConfig(), key))


def _model_meta(model_dir: str) -> dict:
    """A world model's world_model.json."""
    import os

    from ..utils.errors import read_json

    return read_json(os.path.join(model_dir, "world_model.json"), "--model world_model.json")


def cmd_physics(args) -> int:
    from ..utils.errors import WorldsmithError
    from .physics_run import run

    if args.clips < 1 or args.ood_clips < 0:
        raise WorldsmithError("--clips must be >= 1 and --ood-clips >= 0")
    scenarios = [s.strip() for s in args.scenarios.split(",")] if args.scenarios else None
    predictors, model_name, settings = {}, None, {}
    if args.model:
        from ..inference.residual import check_decode
        from .model_predictors import load_predictors

        check_decode(args.decode, args.change_threshold)  # once, not once per clip
        if args.mean_sigma is not None and not args.mean_sigma > 0:
            raise WorldsmithError(f"--mean-sigma {args.mean_sigma}: expected > 0")
        _, predictors = load_predictors(args.model, steps=args.steps, guidance=args.guidance, device=args.device,
                                        sampler=args.sampler, aug_sigma=args.aug_sigma, decode=args.decode,
                                        change_threshold=args.change_threshold, mean_sigma=args.mean_sigma,
                                        use_mean_decoder=not args.no_mean_decoder)
        model_name = "world_model"
        settings = {"model_dir": args.model, "steps": 1 if args.sampler == "mean" else args.steps, "sampler": args.sampler, "guidance": args.guidance,
                    "decode": args.decode, "change_threshold": args.change_threshold,
                    "aug_sigma": (args.aug_sigma if args.aug_sigma is not None
                                  else _model_diffusion(args.model, "aug_sigma_inference")),
                    "mean_sigma": args.mean_sigma if args.mean_sigma is not None else _model_diffusion(args.model,
                                                                                                   "mean_sigma"),
                    "mean_decoder": None if args.no_mean_decoder else _model_meta(args.model).get("mean_decoder"),
                    "guardrails": False, "upsample": False}
    res = run(args.out, predictors, model_name=model_name, settings=settings, scenarios=scenarios, clips=args.clips, ood_clips=args.ood_clips,
              cond_frames=args.cond_frames, resolution=args.resolution, frames=args.frames, fps=args.fps,
              cache_dir=args.cache, videos_per_scenario=args.videos)
    agg = res["aggregate"]["test"]["all"]
    K = str(max(args.cond_frames))
    print(f"{'method':<20} {'PSNR':>7} {'SSIM':>6} {'IoU':>6}  (K={K}, all scenarios)")
    for m, a in agg.get(K, {}).items():
        print(f"{m:<20} {a['psnr/all'] or float('nan'):7.2f} {a['ssim/all'] or float('nan'):6.3f} "
              f"{a['mask_iou/all'] or float('nan'):6.3f}")
    dyn = (res.get("dynamics_check") or {}).get("scenarios", {}).get("all")
    if dyn:
        print(f"uses the motion it is shown: the true past removes {dyn['uses_the_past']:+.1%} of the error of "
              f"its prediction from a still past (about 0: hedging, not dynamics)")
    cap = (res.get("caption_check") or {}).get("scenarios", {}).get("all")
    if cap:
        print(f"leans on the caption: the caption removes {cap['uses_the_caption']:+.1%} of the error of its "
              f"prediction with a neutral prompt")
    print(f"report: {args.out}/report.html")
    return 0


def cmd_policy(args) -> int:
    from ..envs.policies import load_policy
    from ..inference.action import ActionWorldModel
    from ..utils.errors import WorldsmithError
    from .policy import evaluate_policies

    if args.episodes < 1 or args.max_steps < 1:
        raise WorldsmithError("--episodes and --max-steps must be >= 1")
    from .policy import START_SEED

    start = START_SEED if args.start_seed is None else args.start_seed
    if start < 0:
        raise WorldsmithError(f"--start-seed {start}: expected a non-negative integer")
    policies = dict(load_policy(spec) for spec in (args.policy or ["good", "noisy", "random"]))
    wm = ActionWorldModel.from_pretrained(args.model, device=args.device, steps=args.sampler_steps,
                                          latent_rollout=args.rollout == "latent", **_rollout_options(args))
    rep = evaluate_policies(wm, policies, episodes=args.episodes, max_steps=args.max_steps, out_dir=args.out,
                            replay=not args.no_replay, seed=start,
                            settings={"model": args.model, "sampler": wm.sampler,
                                      "sampler_steps": wm.plan["steps"], "rollout": args.rollout,
                            "rollout_aug_sigma": wm.rollout_aug_sigma, "action_guidance": wm.action_guidance,
                            "decode": wm.decode_mode, "change_threshold": wm.change_threshold})
    print(f"{'policy':<10} {'success: sim':>13} {'world model':>12} {'replayed':>9} {'agreement':>10} "
          f"{'progress m: sim':>16} {'world model':>12} {'replayed':>9}")
    for name, r in rep["policies"].items():
        print(f"{name:<10} {r['sim_success']:>13.2f} {r['world_model_success']:>12.2f} "
              f"{r.get('world_model_replay_success', float('nan')):>9.2f} {r['agreement']:>10.2f} "
              f"{r['sim_progress_m']:>16.3f} {r['world_model_progress_m']:>12.3f} "
              f"{r.get('world_model_replay_progress_m', float('nan')):>9.3f}")
    print(f"Spearman rank correlation (simulator vs world model): success {rep['spearman']:.2f}, "
          f"progress {rep['spearman_progress']:.2f}")
    if "spearman_replay" in rep:
        print(f"replayed = the simulator's actions played back in the world model, open loop (its dynamics alone): "
              f"Spearman success {rep['spearman_replay']:.2f}, progress {rep['spearman_replay_progress']:.2f}")
    print(f"report: {args.out}/report.html (and results.json), videos: {args.out}/videos/")
    return 0


def cmd_actions(args) -> int:
    import os

    from ..inference.action import ActionWorldModel
    from ..io import write_video
    from ..utils.atomic import atomic_write_json, atomic_write_text
    from ..utils.errors import WorldsmithError
    from .actions import action_fidelity, action_sensitivity, dataset_clips, held_out_clips
    from .robot_report import actions_report_html

    if args.clips < 1:
        raise WorldsmithError("--clips must be >= 1")
    if args.data and not os.path.isdir(args.data):
        raise WorldsmithError(f"--data {args.data}: not a directory")
    wm = ActionWorldModel.from_pretrained(args.model, device=args.device, steps=args.sampler_steps,
                                          latent_rollout=args.rollout == "latent", **_rollout_options(args))
    if args.frames < wm.context_frames + wm.k:
        raise WorldsmithError(f"--frames {args.frames}: need at least {wm.context_frames + wm.k}")
    skipped = []
    if args.data:
        split = None if args.split == "all" else args.split
        clips, skipped = dataset_clips(args.data, args.clips, args.frames, wm.size, action_key=args.action_key,
                                       action_dim=wm.action_dim, split=split)
        for s in skipped:
            print(f"skipped {s['key']}: {s['reason']}")
        if not clips:
            raise WorldsmithError(f"--data {args.data}: no usable clip in split {args.split!r} "
                                  f"({len(skipped)} skipped; see the reasons above{'' if split is None else '; try --split all'})")
    else:
        policies = tuple(p.strip() for p in args.policies.split(",") if p.strip())
        clips = held_out_clips(args.clips, args.frames, wm.size, policies=policies)
    res = action_fidelity(wm, clips)
    res["sensitivity"] = action_sensitivity(wm, clips)
    res["source"] = args.data or "simulated held-out robot_push clips"
    res["settings"] = {"model": args.model, "sampler": wm.sampler, "sampler_steps": wm.plan["steps"],
                       "rollout": args.rollout,
                       "rollout_aug_sigma": wm.rollout_aug_sigma, "action_guidance": wm.action_guidance,
                       "decode": wm.decode_mode, "change_threshold": wm.change_threshold}
    res["skipped"] = skipped
    preds = res.pop("predictions")
    os.makedirs(os.path.join(args.out, "videos"), exist_ok=True)
    C = res["context_frames"]
    shown = []
    for i, clip in enumerate(clips[:3]):  # truth | true actions | zero actions
        true = clip.rgb[C:C + res["predicted_frames"]]
        both = np.concatenate([true, preds["true actions"][i], preds["zero actions"][i]], axis=2)
        write_video(os.path.join(args.out, "videos", f"clip-{i}.mp4"), both, fps=wm.fps)
        shown.append((f"{res['per_clip'][i]['clip']} ({res['per_clip'][i]['policy'] or 'clip'})", both))
    atomic_write_json(os.path.join(args.out, "results.json"), res)
    atomic_write_text(os.path.join(args.out, "report.html"), actions_report_html(res, shown, wm.fps))
    print(f"{'variant':<24} {'PSNR':>7} {'SSIM':>6} {'obj IoU':>8} {'arm err px':>11}")
    rows = [("", res["variants"])] + [(f"{pol}: ", v) for pol, v in res["per_policy"].items()]
    for prefix, variants in (rows if len(rows) > 2 else rows[:1]):
        for name, m in variants.items():
            print(f"{prefix + name:<24} {m['psnr']:7.2f} {m['ssim']:6.3f} {m['object_iou']:8.3f} "
                  f"{m['arm_centroid_px']:11.2f}")
    ch = res["per_chunk"]
    print(f"object IoU per rollout chunk of {ch['frames_per_chunk']} frames (where the rollout degrades):")
    for name in res["variants"]:
        print(f"  {name:<22} " + " ".join(f"{v:5.3f}" for v in ch[name]["object_iou"]))
    travel = res["object_travel"]["all"]
    some = next(iter(travel.values()))
    if some["clips"]:
        print(f"pushed object's travel along its true path by the last frame ({some['clips']} clips where it moved; "
              f"truth {some['true_px']:.1f} px):")
        for pol, summary in res["object_travel"].items():
            cells = [f"{name} {t['along_px']:.1f} px ({t['ratio']:.0%})" for name, t in summary.items() if t["clips"]]
            if cells:
                print(f"  {pol + ':':<8} " + "  ".join(cells) + f"  [{next(iter(summary.values()))['clips']} clips]")
    sens = res["sensitivity"]
    print(f"denoiser error with zeroed / shuffled actions vs true (1.00 = the actions are ignored): "
          f"{sens['zeroed_over_true']:.3f} / {sens['shuffled_over_true']:.3f}")
    print(f"report: {args.out}/report.html (and results.json), videos (truth | true actions | zero actions): "
          f"{args.out}/videos/")
    return 0
