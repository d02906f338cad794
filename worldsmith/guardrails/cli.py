"""`worldsmith guard ...`: check prompts and videos, retrain and evaluate the prompt classifier."""

from __future__ import annotations

import json
import os

from ..cli import add_group


def register(sub) -> None:
    g = add_group(sub, "guard", "guardrails: refuse unsafe prompts, withhold unsafe videos, pixelate faces")

    p = g.add_parser("check", help="check one prompt (exit 1 when refused)")
    p.add_argument("prompt")
    _config_args(p)
    p.add_argument("--json", metavar="FILE", help="also write the decision as JSON")
    p.set_defaults(func=cmd_check)

    p = g.add_parser("video", help="content-safety check and face pixelation of a video")
    p.add_argument("input")
    p.add_argument("--out", required=True, help="output video (.mp4); not written when the video is withheld")
    p.add_argument("--no-face-blur", action="store_true", help="turn face pixelation off")
    p.add_argument("--json", metavar="FILE", help="decision JSON (default: OUT with .json)")
    _config_args(p)
    p.set_defaults(func=cmd_video)

    p = g.add_parser("train-classifier", help="retrain the MiniLM prompt classifier")
    p.add_argument("--train", default=None, help="labelled prompt set (default: the shipped prompts_train.json)")
    p.add_argument("--out", default=None, help="output directory (default: the shipped classifier folder)")
    p.add_argument("--epochs", type=int, default=400)
    p.add_argument("--members", type=int, default=5, help="ensemble size (MLPs with seeds seed..seed+members-1)")
    p.add_argument("--noise", type=float, default=0.03, help="std of the training-time embedding noise (0 = off)")
    p.add_argument("--seed", type=int, default=0)
    p.set_defaults(func=cmd_train)

    p = g.add_parser("eval", help="recall / false-positive rate per category on a labelled prompt set")
    p.add_argument("--prompts", default=None, help="labelled prompt set (default: the shipped held-out set)")
    _config_args(p)
    p.add_argument("--json", metavar="FILE", help="also write the metrics as JSON")
    p.set_defaults(func=cmd_eval)


def _config_args(p) -> None:
    p.add_argument("--config", metavar="FILE", help="guardrail config (YAML/JSON)")
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                   help="override a config field, e.g. --set classifier.threshold=0.7")


def _config(args):
    from ..utils.config import resolve
    from .guard import GuardrailConfig

    return resolve(GuardrailConfig(), args.config, args.set)


def cmd_check(args) -> int:
    """Print the decision on one prompt; exit status 1 when it is refused."""
    from ..utils.atomic import atomic_write_json
    from .guard import Guardrails

    d = Guardrails(_config(args)).check_prompt(args.prompt)
    print(("ALLOWED: " if d.allowed else "REFUSED: ") + d.message)
    for c in d.checks:
        print("  " + json.dumps({k: v for k, v in c.items() if k != "probs"}))
    if args.json:
        atomic_write_json(args.json, d.to_dict())
    return 0 if d.allowed else 1


def cmd_video(args) -> int:
    """Guard a video file: withhold it (exit 1) or write the face-pixelated copy; decision JSON beside it."""
    from ..io import read_video, write_video
    from ..utils.atomic import atomic_write_json
    from .guard import Guardrails

    cfg = _config(args)
    if args.no_face_blur:
        cfg.face_blur.enabled = False
    video = read_video(args.input)
    frames, d = Guardrails(cfg).check_video(video.frames, fps=video.fps)
    json_path = args.json or os.path.splitext(args.out)[0] + ".json"
    record = {"input": args.input, "output": args.out if d.allowed else None, **d.to_dict()}
    if d.allowed:
        write_video(args.out, frames, video.fps)
    atomic_write_json(json_path, record)
    print(("WRITTEN: " + args.out + " - " if d.allowed else "WITHHELD: ") + d.message)
    print(f"  decision: {json_path}")
    return 0 if d.allowed else 1


def cmd_train(args) -> int:
    """Retrain the prompt classifier from a labelled set and save it."""
    from ..text.encoder import TextEncoder
    from ..utils.errors import WorldsmithError
    from .classifier import DEFAULT_CLASSIFIER_DIR, load_prompt_set, train_classifier
    from .prompt_data import DATA_DIR

    train = args.train or os.path.join(DATA_DIR, "prompts_train.json")
    out = args.out or DEFAULT_CLASSIFIER_DIR
    if args.epochs < 1 or args.members < 1 or args.noise < 0:
        raise WorldsmithError("guard train-classifier: --epochs and --members must be >= 1 and --noise >= 0")
    model = train_classifier(load_prompt_set(train), TextEncoder(), epochs=args.epochs, seed=args.seed,
                             members=args.members, noise=args.noise)
    model.save_pretrained(out)
    print(f"trained on {train}; wrote {out}")
    return 0


def cmd_eval(args) -> int:
    """Print recall per harmful category and false-positive rate on benign prompts."""
    from ..utils.atomic import atomic_write_json
    from .evaluate import evaluate_prompts, format_report
    from .prompt_data import DATA_DIR

    path = args.prompts or os.path.join(DATA_DIR, "prompts_heldout.json")
    metrics = evaluate_prompts(path, _config(args))
    print(format_report(metrics))
    if args.json:
        atomic_write_json(args.json, metrics)
    return 0
