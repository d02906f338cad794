"""`worldsmith predict`: guarded Text/Image/Video2World generation from a world-model directory."""

from __future__ import annotations

import json
import os
import sys


def register(sub) -> None:
    p = sub.add_parser("predict", help="generate a world video from a prompt (+ an image or video), with guardrails",
                       description="Generate with a world model written by `worldsmith train`: pre-guard the "
                       "prompt, upsample it (text-only), sample, decode, post-guard (faces pixelated). Writes the "
                       "MP4 and a JSON with the settings, the prompt the model saw and every guardrail decision. "
                       "Sampling settings you leave out come from the model directory's recommendations "
                       "(world_model.json \"inference\": the shipped simulator model predicts from video with its "
                       "posterior mean and residual decoding), else from Cosmos's defaults.")
    p.add_argument("--model", required=True, help="world-model directory (the run's model/ folder)")
    p.add_argument("--input", help="conditioning video or image (none = Text2World)")
    p.add_argument("--prompt", help="text prompt")
    p.add_argument("--negative-prompt", default="", help="text for the unconditional branch of guidance")
    p.add_argument("--num-cond-frames", type=int, help="input frames to condition on (1 + k*temporal compression)")
    p.add_argument("--num-frames", type=int, help="frames to generate (default: the model's training length)")
    p.add_argument("--steps", type=int, default=None,
                   help="sampler steps (default: the model's, else 35; more than 1 without --sampler, on a model "
                   "that recommends its mean, samples with dpmpp_2m)")
    p.add_argument("--guidance", type=float, default=None,
                   help="classifier-free guidance (default: the model's, else 7)")
    p.add_argument("--sampler", default=None,
                   help="euler | heun | dpmpp_2m | euler_ancestral, or mean: the model's one-step posterior mean "
                   "E[future | past] (one network pass; sharpest where the future is certain, blurred where not). "
                   "Default: the model's, else dpmpp_2m")
    p.add_argument("--sigma-max", type=float, default=None,
                   help="noise level sampling starts from (default: the model's sigma_max, or its mean_sigma "
                   "with --sampler mean)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--aug-sigma", type=float, default=None,
                   help="noise on the conditioning latent frames (default: the model's aug_sigma_inference)")
    p.add_argument("--decode", default=None, choices=("plain", "residual"),
                   help="plain: the tokenizer's decode of the sampled latents; residual: the last "
                   "conditioning frame plus the decoded change, so what does not move stays as sharp as the input "
                   "(default: the model's, else plain)")
    p.add_argument("--change-threshold", type=float, default=None,
                   help="with --decode residual: drop decoded changes smaller than this ([-1, 1] pixel units; "
                   "default: the model's, else 0 = keep all)")
    p.add_argument("--no-mean-decoder", action="store_true",
                   help="render the posterior mean with the tokenizer's own decoder even when the model directory "
                   "has a mean decoder (world_model.json \"mean_decoder\", fine-tuned on its means)")
    p.add_argument("--output", help="output MP4 (a JSON record is written next to it)")
    p.add_argument("--batch", help="JSONL: one {\"prompt\", \"input\", \"output\", ...} job per line")
    p.add_argument("--out-dir", help="output folder for --batch jobs without an absolute output")
    p.add_argument("--no-guardrails", action="store_true", help="switch all guardrails off")
    p.add_argument("--guardrail-config", help="guardrail config file (YAML/JSON)")
    p.add_argument("--set", dest="overrides", action="append", default=[], metavar="guardrails.KEY=VALUE",
                   help="override a guardrail setting, e.g. --set guardrails.face_blur.enabled=false")
    p.add_argument("--no-upsample", action="store_true", help="use the prompt as typed")
    p.add_argument("--device", default="auto", help="auto | cpu | cuda[:n]")
    p.set_defaults(func=cmd_predict)


JOB_KEYS = ("prompt", "input", "output", "negative_prompt", "num_cond_frames", "num_frames", "steps",
            "guidance", "seed", "sampler", "aug_sigma", "decode", "change_threshold", "sigma_max")


def guardrail_config(args):
    """GuardrailConfig from --guardrail-config and `--set guardrails.x=y`; None with --no-guardrails."""
    from ..guardrails.guard import GuardrailConfig
    from ..utils.config import resolve
    from ..utils.errors import WorldsmithError

    if args.no_guardrails:
        return None
    sets = []
    for s in args.overrides:
        if not s.startswith("guardrails."):
            raise WorldsmithError(f"--set {s}: only guardrails.* settings can be overridden here")
        sets.append(s[len("guardrails."):])
    return resolve(GuardrailConfig(), args.guardrail_config, sets)


def _job_from_args(args) -> dict:
    job = {k: getattr(args, k) for k in JOB_KEYS if getattr(args, k, None) is not None}
    return job


def run_job(pipe, job: dict) -> dict:
    """One generation: writes job["output"] (MP4, atomic) + its .json; returns the record."""
    from ..guardrails.guard import GuardrailBlocked
    from ..io import write_video
    from ..utils.atomic import atomic_write_json
    from ..utils.errors import WorldsmithError

    unknown = sorted(set(job) - set(JOB_KEYS))
    if unknown:
        raise WorldsmithError(f"job: unknown keys {unknown} (known: {', '.join(JOB_KEYS)})")
    if not job.get("prompt"):
        raise WorldsmithError("--prompt: a non-empty prompt is required")
    if not job.get("output"):
        raise WorldsmithError("--output: an output .mp4 path is required")
    out = job["output"]
    kw = {k: job[k] for k in JOB_KEYS if k not in ("prompt", "output") and job.get(k) is not None}
    try:
        res = pipe(job["prompt"], **kw)
    except GuardrailBlocked as e:
        cat = getattr(e.decision, "category", None)
        raise WorldsmithError(f"{e} [category: {cat or 'unsafe video'}]; nothing written to {out}") from None
    os.makedirs(os.path.dirname(os.path.abspath(out)), exist_ok=True)
    write_video(out, res.frames, res.fps or 24.0)
    res.record["output"] = out
    atomic_write_json(os.path.splitext(out)[0] + ".json", res.record)
    return res.record


def _read_jobs(path: str, out_dir: str | None) -> list[tuple[int, dict | None, str]]:
    """(line number, job or None, error) per non-empty line."""
    from ..utils.errors import require_file

    jobs = []
    with open(require_file(path, "--batch"), encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                job = json.loads(line)
            except ValueError as e:
                jobs.append((n, None, f"not valid JSON ({e})"))
                continue
            if not isinstance(job, dict):
                jobs.append((n, None, "not a JSON object"))
                continue
            if out_dir and job.get("output") and not os.path.isabs(job["output"]):
                job["output"] = os.path.join(out_dir, job["output"])
            elif out_dir and not job.get("output"):
                job["output"] = os.path.join(out_dir, f"job-{n:04d}.mp4")
            jobs.append((n, job, ""))
    return jobs


def cmd_predict(args) -> int:
    from ..utils.atomic import atomic_write_json
    from ..utils.errors import WorldsmithError
    from ..utils.progress import progress
    from .pipeline import WorldPipeline

    if bool(args.batch) == bool(args.prompt):
        raise WorldsmithError("--prompt or --batch: give exactly one")
    if args.batch and not args.out_dir:
        raise WorldsmithError("--out-dir: required with --batch")
    gcfg = guardrail_config(args)
    jobs = _read_jobs(args.batch, args.out_dir) if args.batch else None
    pipe = WorldPipeline.from_pretrained(args.model, device=args.device, guardrails=gcfg,
                                         upsample=not args.no_upsample, use_mean_decoder=not args.no_mean_decoder)
    defaults = _job_from_args(args)
    if jobs is None:
        rec = run_job(pipe, defaults)
        _show(rec)
        return 0
    results, failed = [], 0
    for n, job, err in progress(jobs, desc="predict", unit="job"):
        if job is not None:
            try:
                rec = run_job(pipe, {**{k: v for k, v in defaults.items() if k not in ("input", "output")}, **job})
                results.append({"line": n, "ok": True, "output": rec["output"]})
                continue
            except WorldsmithError as e:
                err = str(e)
        failed += 1
        results.append({"line": n, "ok": False, "error": err})
        print(f"worldsmith predict: line {n} skipped: {err}", file=sys.stderr)
    atomic_write_json(os.path.join(args.out_dir, "batch.json"), {"jobs": results, "failed": failed})
    print(f"{len(results) - failed}/{len(results)} jobs done ({args.out_dir}/batch.json)")
    return 1 if failed == len(results) else 0


def _show(rec: dict) -> None:
    up = rec.get("upsampler")
    if up and up["method"].endswith("-refused"):
        print(f"upsampled prompt refused by the guardrail; used the prompt as typed: {rec['model_prompt']}")
    elif up and up["method"] not in ("off", "kept"):
        print(f"upsampled prompt ({up['method']}): {up['upsampled']}")
    print(f"video written to {rec['output']} (record: {os.path.splitext(rec['output'])[0]}.json)")
