"""HTML reports of the robot evaluations (`eval policy`, `eval actions`): tables, charts, GIFs.

The same self-contained page as the physics report (`report.py`: no JavaScript, no external
files), written next to results.json, so that a user sees at a glance whether the world model
ranks policies as the simulator does and where its rollouts part from reality.
"""

from __future__ import annotations

import math

import numpy as np

from .report import bar_chart, esc, fmt, page, table, video_figure


def _settings(settings: dict) -> str:
    if not settings:
        return ""
    return "<p class='note'>Settings: " + ", ".join(f"{esc(k)} = {fmt(v)}" for k, v in settings.items()) + "</p>"


def _verdict(rho: float, what: str) -> str:
    if rho is None or not math.isfinite(rho):
        return (f"<p class='warn'>Ranking by {esc(what)}: undefined (one side gives every policy the same "
                f"value).</p>")
    cls = "note" if rho >= 0.999 else "warn"
    word = "the same order as the simulator" if rho >= 0.999 else "not the simulator's order"
    return f"<p class='{cls}'>Ranking by {esc(what)}: Spearman {rho:.2f}, {word}.</p>"


def policy_report_html(report: dict, videos: dict[str, list[np.ndarray]], fps: float) -> str:
    """The `eval policy` page: success and progress per policy in the simulator, the world model
    (closed loop) and, when run, the world model replaying the simulator's actions; GIFs (sim | world model)."""
    pols = report["policies"]
    names = list(pols)
    replay = "spearman_replay" in report
    header = ["policy", "success: simulator", "world model"] + (["replayed"] if replay else []) + \
             ["agreement", "progress m: simulator", "world model"] + (["replayed"] if replay else [])
    rows = []
    for n in names:
        r = pols[n]
        rows.append([n, r["sim_success"], r["world_model_success"]]
                    + ([r["world_model_replay_success"]] if replay else [])
                    + [r["agreement"], r["sim_progress_m"], r["world_model_progress_m"]]
                    + ([r["world_model_replay_progress_m"]] if replay else []))
    body = [f"<p>{report['episodes']} episodes per policy from the same start states (seeds "
            f"{esc(report['start_seeds'][0])}...), {report['max_steps']} steps of {report['actions_per_step']} "
            f"actions, judged from the images in both environments. Success: the pushed object ends inside "
            f"the target; progress: metres it got closer.</p>",
            table(header, rows),
            _verdict(report["spearman"], "success"), _verdict(report["spearman_progress"], "progress")]
    if replay:
        body.append("<p class='note'>Replayed: the simulator's own actions played back in the world model, open "
                    "loop. It shows the model's dynamics without the policy's reactions to imagined frames: "
                    "where replay falls short as well, the world model, not the policy's perception, is the "
                    f"limit. Spearman replayed: success {fmt(report['spearman_replay'], 2)}, progress "
                    f"{fmt(report['spearman_replay_progress'], 2)}.</p>")
    series = {"simulator": [pols[n]["sim_success"] for n in names],
              "world model": [pols[n]["world_model_success"] for n in names]}
    prog = {"simulator": [pols[n]["sim_progress_m"] for n in names],
            "world model": [pols[n]["world_model_progress_m"] for n in names]}
    if replay:
        series["replayed"] = [pols[n]["world_model_replay_success"] for n in names]
        prog["replayed"] = [pols[n]["world_model_replay_progress_m"] for n in names]
    body.append("<div class='row'>" + bar_chart("success rate", names, series) +
                bar_chart("progress to the target (m)", names, prog) + "</div>")
    body.append(_settings(report.get("settings", {})))
    body.append("<h2>Episodes (simulator | world model)</h2><div class='row'>")
    for n, vids in videos.items():
        for i, v in enumerate(vids):
            body.append(video_figure(v, fps, f"{n}, episode {i}", scale=2))
    body.append("</div>")
    return page("Policies in the world model vs the simulator", "".join(body))


def actions_report_html(res: dict, clips: list[tuple[str, np.ndarray]], fps: float) -> str:
    """The `eval actions` page: true vs zeroed actions vs copy-last, overall and per policy; object IoU
    per rollout chunk; the pushed object's travel; GIFs (truth | true actions | zeroed actions)."""
    header = ["variant", "PSNR dB", "SSIM", "object IoU", "arm error px"]

    def rows_of(variants: dict) -> tuple[list, list]:
        rows = [[name, m["psnr"], m["ssim"], m["object_iou"], m["arm_centroid_px"]] for name, m in variants.items()]
        best = []
        for j, higher in ((1, True), (2, True), (3, True), (4, False)):
            vals = [r[j] for r in rows if isinstance(r[j], float) and math.isfinite(r[j])]
            best.append((max if higher else min)(vals) if vals else None)
        cls = [[""] + ["best" if best[j - 1] is not None and r[j] == best[j - 1] else "" for j in range(1, 5)]
               for r in rows]
        return rows, cls

    body = [f"<p>Clips: {esc(res['source'])}, {len(res['per_clip'])} of them, {res['context_frames']} true context frames, then "
            f"{res['predicted_frames']} frames rolled out. The model follows its actions when true actions beat "
            f"zeroed ones and copy-last-frame.</p><h2>All clips</h2>", table(header, *rows_of(res["variants"]))]
    for pol, variants in res.get("per_policy", {}).items():
        body += [f"<h3>{esc(pol)} clips</h3>", table(header, *rows_of(variants))]
    ch = res["per_chunk"]
    n_chunks = len(next(v for k, v in ch.items() if k != "frames_per_chunk")["object_iou"])
    body.append("<div class='row'>" + bar_chart(
        f"object IoU per rollout chunk of {ch['frames_per_chunk']} frames",
        [str(i + 1) for i in range(n_chunks)],
        {name: v["object_iou"] for name, v in ch.items() if name != "frames_per_chunk"}) + "</div>")
    travel = res.get("object_travel", {})
    if travel and next(iter(travel["all"].values()))["clips"]:
        t_rows = [[pol] + [s[name]["along_px"] for name in s] + [next(iter(s.values()))["true_px"],
                                                                 next(iter(s.values()))["clips"]]
                  for pol, s in travel.items() if next(iter(s.values()))["clips"]]
        names = list(travel["all"])
        body += ["<h2>How far the pushed object travels</h2><p class='note'>Along its true path by the last frame "
                 "(px), over clips where it truly moved; reality in the last columns.</p>",
                 table(["clips of"] + names + ["truth px", "clips"], t_rows)]
    sens = res.get("sensitivity")
    if sens:
        body.append(f"<p>Denoiser error with zeroed / shuffled actions over true: {fmt(sens['zeroed_over_true'])} / "
                    f"{fmt(sens['shuffled_over_true'])} (1.000 = the actions are ignored).</p>")
    body.append(_settings(res.get("settings", {})))
    if clips:
        body.append("<h2>Rollouts (truth | true actions | zeroed actions)</h2><div class='row'>")
        for caption, frames in clips:
            body.append(video_figure(frames, fps, caption, scale=2))
        body.append("</div>")
    return page("Action fidelity of the world model", "".join(body))
