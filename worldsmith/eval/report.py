"""Self-contained HTML reports: tables, inline SVG bar charts, embedded GIF videos.

No JavaScript, no external files, no plotting dependency: one .html file that opens
anywhere and can be attached to an issue or an e-mail.
"""

from __future__ import annotations

import base64
import html
import io
import math

import numpy as np

CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:2em auto;max-width:1200px;color:#222;padding:0 1em}
h1{font-size:1.6em}h2{font-size:1.25em;margin-top:2em;border-bottom:1px solid #ddd}h3{font-size:1.05em}
table{border-collapse:collapse;margin:.6em 0;font-size:.85em}th,td{border:1px solid #ddd;padding:3px 7px;text-align:right}
th{background:#f4f4f4}td:first-child,th:first-child{text-align:left}
td.best{font-weight:bold;background:#e8f5e9}td.ceiling{color:#777;font-style:italic}
.note{color:#555;font-size:.9em}.warn{color:#b71c1c}.row{display:flex;flex-wrap:wrap;gap:14px}
figure{margin:0}figcaption{font-size:.8em;color:#555;max-width:420px}img.vid{image-rendering:pixelated}
"""


def esc(x) -> str:
    return html.escape(str(x))


def fmt(v, digits: int = 3) -> str:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "–"
    if isinstance(v, float):
        if math.isinf(v):
            return "∞"
        return f"{v:.{digits}f}"
    return esc(v)


def page(title: str, body: str) -> str:
    return (f"<!doctype html><html><head><meta charset='utf-8'><title>{esc(title)}</title>"
            f"<style>{CSS}</style></head><body><h1>{esc(title)}</h1>{body}</body></html>")


def table(header: list[str], rows: list[list], classes: list[list[str]] | None = None) -> str:
    """An HTML table; `classes[i][j]` styles a cell (e.g. 'best', 'ceiling')."""
    out = ["<table><tr>" + "".join(f"<th>{esc(h)}</th>" for h in header) + "</tr>"]
    for i, r in enumerate(rows):
        cells = []
        for j, v in enumerate(r):
            cls = classes[i][j] if classes and classes[i][j] else ""
            cells.append(f"<td class='{cls}'>{fmt(v)}</td>" if cls else f"<td>{fmt(v)}</td>")
        out.append("<tr>" + "".join(cells) + "</tr>")
    return "".join(out) + "</table>"


PALETTE = ["#1565c0", "#ef6c00", "#2e7d32", "#c62828", "#6a1b9a", "#00838f", "#9e9d24", "#5d4037", "#757575"]


def bar_chart(title: str, groups: list[str], series: dict[str, list[float | None]],
              width: int = 560, height: int = 220) -> str:
    """Grouped bar chart as inline SVG: one group per x label, one bar per series."""
    vals = [v for s in series.values() for v in s if v is not None and math.isfinite(v)]
    if not vals:
        return ""
    vmax = max(vals) or 1.0
    vmin = min(0.0, min(vals))
    pad_l, pad_b, pad_t = 40, 40, 22
    ph = height - pad_b - pad_t
    gw = (width - pad_l - 10) / max(len(groups), 1)
    bw = gw * 0.8 / max(len(series), 1)

    def y(v):
        return pad_t + ph * (1 - (v - vmin) / (vmax - vmin or 1))

    parts = [f"<svg xmlns='http://www.w3.org/2000/svg' width='{width}' height='{height + 16 * ((len(series) - 1) // max(1, width // 150) + 1)}' "
             f"font-size='10' font-family='sans-serif'>",
             f"<text x='{pad_l}' y='14' font-size='12' font-weight='bold'>{esc(title)}</text>",
             f"<line x1='{pad_l}' y1='{y(vmin)}' x2='{width - 10}' y2='{y(vmin)}' stroke='#999'/>",
             f"<text x='{pad_l - 4}' y='{pad_t + 4}' text-anchor='end'>{vmax:.3g}</text>",
             f"<text x='{pad_l - 4}' y='{y(vmin)}' text-anchor='end'>{vmin:.3g}</text>"]
    for gi, g in enumerate(groups):
        x0 = pad_l + gi * gw + gw * 0.1
        for si, (name, s) in enumerate(series.items()):
            v = s[gi]
            if v is None or not math.isfinite(v):
                continue
            top, base = y(max(v, vmin)), y(vmin)
            parts.append(f"<rect x='{x0 + si * bw:.1f}' y='{top:.1f}' width='{bw * 0.92:.1f}' "
                         f"height='{max(base - top, 0.5):.1f}' fill='{PALETTE[si % len(PALETTE)]}'>"
                         f"<title>{esc(name)} {esc(g)}: {v:.4g}</title></rect>")
        parts.append(f"<text x='{x0 + gw * 0.4:.1f}' y='{height - pad_b + 14}' text-anchor='middle'>{esc(g)}</text>")
    per_row = max(1, width // 150)
    for si, name in enumerate(series):
        lx = 6 + (si % per_row) * 150
        ly = height - 8 + 16 * (si // per_row)
        parts.append(f"<rect x='{lx}' y='{ly - 9}' width='10' height='10' fill='{PALETTE[si % len(PALETTE)]}'/>"
                     f"<text x='{lx + 14}' y='{ly}'>{esc(name)}</text>")
    parts.append("</svg>")
    return "".join(parts)


def gif_data_uri(frames: np.ndarray, fps: float, scale: int = 1) -> str:
    """uint8 [T, H, W, 3] -> an embeddable data: URI of a looping GIF."""
    from PIL import Image

    if scale > 1:
        frames = frames.repeat(scale, axis=1).repeat(scale, axis=2)
    imgs = [Image.fromarray(f) for f in frames]
    buf = io.BytesIO()
    imgs[0].save(buf, format="GIF", save_all=True, append_images=imgs[1:], loop=0,
                 duration=max(int(round(1000 / fps)), 20), optimize=False)
    return "data:image/gif;base64," + base64.b64encode(buf.getvalue()).decode()


def side_by_side(videos: list[np.ndarray], gap: int = 2) -> np.ndarray:
    """Concatenate same-length [T, H, W, 3] videos horizontally with a white gap."""
    T, H = videos[0].shape[:2]
    sep = np.full((T, H, gap, 3), 255, np.uint8)
    out = []
    for i, v in enumerate(videos):
        if i:
            out.append(sep)
        out.append(v)
    return np.concatenate(out, axis=2)


def video_figure(frames: np.ndarray, fps: float, caption: str, scale: int = 3) -> str:
    return (f"<figure><img class='vid' src='{gif_data_uri(frames, fps, scale)}'>"
            f"<figcaption>{esc(caption)}</figcaption></figure>")
