"""Evaluate the prompt pre-guard on a labelled prompt set: recall per harmful category, benign FPR."""

from __future__ import annotations

import time

from .classifier import load_prompt_set
from .guard import HARMFUL, GuardrailConfig, Guardrails


def evaluate_prompts(path: str, config: GuardrailConfig | None = None, guard: Guardrails | None = None) -> dict:
    """Run the guard on every prompt of `path`; returns metrics + the misses and false positives."""
    from ..utils.progress import progress

    rows = load_prompt_set(path)
    guard = guard or Guardrails(config or GuardrailConfig())
    guard.check_prompt("warm up")  # load the models outside the timing
    t0 = time.perf_counter()
    results = []
    for r in progress(rows, desc="prompts", unit="prompt"):
        d = guard.check_prompt(r["text"])
        blocked_by = next((c["check"] for c in d.checks if c.get("verdict") == "block"), None)
        results.append((r, d, blocked_by))
    sec = (time.perf_counter() - t0) / max(1, len(rows))
    per_cat = {}
    for cat in HARMFUL:
        sel = [(r, d, b) for r, d, b in results if r["label"] == cat]
        if sel:
            per_cat[cat] = {"n": len(sel), "recall": round(sum(not d.allowed for _, d, _ in sel) / len(sel), 4)}
    harm = [(r, d, b) for r, d, b in results if r["label"] != "safe"]
    safe = [(r, d, b) for r, d, b in results if r["label"] == "safe"]
    by_check: dict[str, int] = {}
    for _, d, b in harm:
        if b:
            by_check[b] = by_check.get(b, 0) + 1
    return {
        "prompts": path, "n": len(rows), "n_harmful": len(harm), "n_benign": len(safe),
        "recall": round(sum(not d.allowed for _, d, _ in harm) / max(1, len(harm)), 4),
        "false_positive_rate": round(sum(not d.allowed for _, d, _ in safe) / max(1, len(safe)), 4),
        "per_category": per_cat, "harmful_blocked_by": by_check,
        "ms_per_prompt": round(sec * 1000, 2),
        "threshold": guard.config.classifier.threshold,
        "missed": [{"text": r["text"], "label": r["label"]} for r, d, _ in harm if d.allowed],
        "false_positives": [{"text": r["text"], "blocked_as": d.category, "by": b} for r, d, b in safe if not d.allowed],
    }


def format_report(m: dict) -> str:
    """Plain-text table of `evaluate_prompts` metrics."""
    lines = [f"{m['prompts']}: {m['n']} prompts ({m['n_harmful']} harmful, {m['n_benign']} benign), "
             f"classifier threshold {m['threshold']}",
             f"recall {m['recall']:.3f}   benign false-positive rate {m['false_positive_rate']:.3f}   "
             f"{m['ms_per_prompt']:.1f} ms/prompt",
             "category          n  recall"]
    lines += [f"{c:<16} {v['n']:>3}  {v['recall']:.3f}" for c, v in m["per_category"].items()]
    lines.append(f"harmful prompts blocked by: {m['harmful_blocked_by']}")
    lines += [f"  missed ({x['label']}): {x['text']}" for x in m["missed"]]
    lines += [f"  false positive ({x['blocked_as']} by {x['by']}): {x['text']}" for x in m["false_positives"]]
    return "\n".join(lines)
