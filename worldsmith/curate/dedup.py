"""Stage 5: semantic deduplication (SemDeDup, as cosmos-curate and NeMo Curator do it).

Embeddings are clustered with k-means; inside each cluster two clips are duplicates when
their cosine similarity is >= 1 - eps. From each group of duplicates one clip is kept:
the longest (ties: the smaller key), so the result does not depend on input order.
"""

from __future__ import annotations

import numpy as np


def kmeans(x: np.ndarray, k: int, *, iterations: int = 100, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Spherical k-means on unit rows of x [N, D] -> (labels int [N], centroids [k, D]).

    k-means++ initialisation from a seeded generator; deterministic for a given input.
    """
    n = len(x)
    k = max(1, min(int(k), n))
    rng = np.random.default_rng(seed)
    centers = [x[rng.integers(n)]]
    for _ in range(1, k):
        d = np.min(1.0 - x @ np.stack(centers).T, axis=1).clip(min=0)  # cosine distance to nearest centre
        p = d / d.sum() if d.sum() > 0 else np.full(n, 1.0 / n)
        centers.append(x[rng.choice(n, p=p)])
    c = np.stack(centers)
    labels = np.zeros(n, dtype=np.int64)
    for it in range(iterations):
        new = np.argmax(x @ c.T, axis=1)
        if it > 0 and np.array_equal(new, labels):
            break
        labels = new
        for j in range(k):
            m = x[labels == j]
            if len(m):
                v = m.sum(0)
                c[j] = v / (np.linalg.norm(v) + 1e-12)
    return labels, c


def semdedup(embeddings: np.ndarray, keys: list[str], durations: list[float], *, n_clusters: int = 4,
             eps: float = 0.01, iterations: int = 100, seed: int = 0) -> dict[str, dict]:
    """-> {key: {"cluster": j, "keep": bool, "duplicate_of": key | None, "max_sim": float}}."""
    n = len(keys)
    if n == 0:
        return {}
    x = np.asarray(embeddings, dtype=np.float64)
    x = x / (np.linalg.norm(x, axis=1, keepdims=True) + 1e-12)
    order = sorted(range(n), key=lambda i: keys[i])  # input order must not matter
    x, keys, durations = x[order], [keys[i] for i in order], [durations[i] for i in order]
    # clusters only bound the pairwise work; with few clips, splitting them apart would
    # hide duplicates that land in different clusters, so keep >= ~8 clips per cluster
    k = max(1, min(int(n_clusters), n // 8))
    labels, _ = kmeans(x, k, iterations=iterations, seed=seed)
    out: dict[str, dict] = {}
    for j in np.unique(labels):
        members = sorted(np.flatnonzero(labels == j).tolist(), key=lambda i: (-durations[i], keys[i]))
        sims = x[members] @ x[members].T  # [m, m] cosine
        kept: list[int] = []
        for a, i in enumerate(members):
            best = max(((sims[a, b], members[b]) for b in kept), default=(-1.0, None))
            dup = best[1] is not None and best[0] >= 1.0 - eps
            others = np.delete(sims[a], a)
            out[keys[i]] = {"cluster": int(j), "keep": not dup, "duplicate_of": keys[best[1]] if dup else None,
                            "max_sim": round(float(others.max()), 6) if len(others) else 0.0}
            if not dup:
                kept.append(a)
    return out
