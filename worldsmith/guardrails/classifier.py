"""Semantic prompt classifier: MiniLM sentence embeddings -> small MLP ensemble over 7 categories.

The shipped weights (data/prompt_classifier/, 5 MLPs of ~50 k parameters each) were trained on
data/prompts_train.json (built by `prompt_data.py`) with:

    worldsmith guard train-classifier            # or python -m worldsmith.guardrails.classifier

A prompt is unsafe when P(unsafe) = 1 - P(safe) >= threshold; its category is the most
probable harmful class. P is the mean of the members' probabilities.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass

import torch
from torch import nn

from ..utils.errors import WorldsmithError, require_file
from .prompt_data import CATEGORIES, DATA_DIR

DEFAULT_CLASSIFIER_DIR = os.path.join(DATA_DIR, "prompt_classifier")


@dataclass
class ClassifierNetConfig:
    """Shape of the MLP head and the encoder it was trained on."""

    in_dim: int = 384
    hidden: int = 128
    categories: tuple[str, ...] = tuple(CATEGORIES)
    encoder: str = "all-MiniLM-L6-v2"
    members: int = 1  # independently seeded MLPs whose probabilities are averaged


class PromptClassifierNet(nn.Module):
    """embedding [B, D] -> log of the members' mean probabilities [B, K] (K categories, index 0 = safe).

    softmax(forward(x)) is the ensemble's probability; with one member it is that MLP's softmax.
    """

    def __init__(self, cfg: ClassifierNetConfig):
        super().__init__()
        self.cfg = cfg
        self.members = nn.ModuleList(
            nn.Sequential(nn.Linear(cfg.in_dim, cfg.hidden), nn.GELU(), nn.Dropout(0.1),
                          nn.Linear(cfg.hidden, len(cfg.categories)))
            for _ in range(cfg.members))

    def forward(self, emb: torch.Tensor) -> torch.Tensor:
        probs = torch.stack([m(emb).softmax(-1) for m in self.members]).mean(0)  # [B, K]
        return probs.clamp_min(1e-12).log()

    def save_pretrained(self, out_dir: str) -> None:
        """Write config.json + model.safetensors atomically."""
        from safetensors.torch import save_file

        from ..utils.atomic import atomic_path, atomic_write_json

        os.makedirs(out_dir, exist_ok=True)
        with atomic_path(os.path.join(out_dir, "model.safetensors")) as tmp:
            save_file({k: v.contiguous() for k, v in self.state_dict().items()}, tmp)
        atomic_write_json(os.path.join(out_dir, "config.json"), asdict(self.cfg))

    @classmethod
    def from_pretrained(cls, path: str) -> PromptClassifierNet:
        """Load a classifier directory (config.json + model.safetensors); clear error naming the path."""
        from safetensors.torch import load_file

        cfg_file = require_file(os.path.join(path, "config.json"), "prompt classifier config")
        weights = require_file(os.path.join(path, "model.safetensors"), "prompt classifier weights")
        try:
            with open(cfg_file, encoding="utf-8") as f:
                data = json.load(f)
            data["categories"] = tuple(data["categories"])
            model = cls(ClassifierNetConfig(**data))
            state = load_file(weights)
            # single-MLP checkpoints written before ensembles stored the MLP as `net.*`
            state = {("members.0." + k[4:] if k.startswith("net.") else k): v for k, v in state.items()}
            model.load_state_dict(state)
        except (json.JSONDecodeError, TypeError, KeyError, RuntimeError) as e:
            raise WorldsmithError(f"prompt classifier {path}: cannot load ({str(e).splitlines()[0]})") from None
        if model.cfg.categories[0] != "safe":
            raise WorldsmithError(f"prompt classifier {path}: first category must be 'safe'")
        return model.eval()


def load_prompt_set(path: str) -> list[dict]:
    """Read a labelled prompt file: JSON list of {"text", "label"} (labels from CATEGORIES)."""
    require_file(path, "prompt set")
    try:
        with open(path, encoding="utf-8") as f:
            rows = json.load(f)
    except json.JSONDecodeError as e:
        raise WorldsmithError(f"prompt set {path}: not valid JSON ({e})") from None
    if not isinstance(rows, list) or not all(isinstance(r, dict) and "text" in r and "label" in r for r in rows):
        raise WorldsmithError(f"prompt set {path}: expected a list of {{'text', 'label'}} objects")
    bad = sorted({r["label"] for r in rows} - set(CATEGORIES))
    if bad:
        raise WorldsmithError(f"prompt set {path}: unknown labels {bad} (known: {CATEGORIES})")
    return rows


def train_classifier(rows: list[dict], encoder, epochs: int = 400, lr: float = 3e-3, seed: int = 0,
                     hidden: int = 128, members: int = 5, noise: float = 0.03,
                     balance: str = "safe_vs_unsafe") -> PromptClassifierNet:
    """Train the MLP heads on frozen encoder embeddings (full batch, class-weighted loss).

    balance="classes" weighs every class the same, so the six harmful classes together get 6/7
    of the loss and P(unsafe) comes out high on everything; "safe_vs_unsafe" (default) also
    gives safe as much weight as all harmful classes together, the decision the guard makes.
    Member i starts from seed `seed + i`. `noise` is the std of Gaussian noise added to each
    (unit-norm) embedding coordinate at every epoch, then renormalised: an unseen paraphrase
    lands near a training prompt, not on it, so the heads are trained on that neighbourhood
    (0 = off; 0.03 moves an embedding to cosine ~0.86 of itself).
    """
    if balance not in ("classes", "safe_vs_unsafe"):
        raise WorldsmithError(f"train_classifier: balance must be 'classes' or 'safe_vs_unsafe', not {balance!r}")
    texts = [r["text"] for r in rows]
    y = torch.tensor([CATEGORIES.index(r["label"]) for r in rows])  # [N]
    x = encoder.embed(texts).float().cpu()  # [N, D]
    model = PromptClassifierNet(ClassifierNetConfig(in_dim=x.shape[1], hidden=hidden, encoder=encoder.name,
                                                    members=members))
    counts = torch.bincount(y, minlength=len(CATEGORIES)).float().clamp_min(1)
    weight = counts.sum() / (len(CATEGORIES) * counts)  # balance the classes
    if balance == "safe_vs_unsafe":
        weight[0] = (counts[1:] * weight[1:]).sum() / counts[0]
    loss_fn = nn.CrossEntropyLoss(weight=weight)
    gen = torch.Generator().manual_seed(seed)
    for i, member in enumerate(model.members):
        torch.manual_seed(seed + i)
        for layer in member:  # re-draw the initial weights from this member's seed
            if isinstance(layer, nn.Linear):
                layer.reset_parameters()
        opt = torch.optim.AdamW(member.parameters(), lr=lr, weight_decay=1e-2)
        member.train()
        for _ in range(epochs):
            xi = x if noise <= 0 else nn.functional.normalize(x + noise * torch.randn(x.shape, generator=gen), dim=-1)
            opt.zero_grad()
            loss = loss_fn(member(xi), y)  # [N, K] logits of this member
            loss.backward()
            opt.step()
    return model.eval()


class PromptClassifier:
    """Encoder + MLP head: `probs(texts) -> [B, K]` and `classify(text) -> (p_unsafe, category, probs)`."""

    def __init__(self, path: str | None = None, encoder=None):
        self.path = path or DEFAULT_CLASSIFIER_DIR
        self.net = PromptClassifierNet.from_pretrained(self.path)
        if encoder is None:
            from ..text.encoder import TextEncoder

            encoder = TextEncoder()
        if encoder.dim != self.net.cfg.in_dim:
            raise WorldsmithError(f"prompt classifier {self.path}: trained on {self.net.cfg.in_dim}-d embeddings, "
                                  f"but the text encoder {encoder.name} gives {encoder.dim}-d")
        self.encoder = encoder
        self.categories = list(self.net.cfg.categories)

    @torch.no_grad()
    def probs(self, texts: list[str]) -> torch.Tensor:
        """Class probabilities [B, K] (CPU float32)."""
        emb = self.encoder.embed(texts).float().cpu()  # [B, D]
        return torch.softmax(self.net(emb), dim=-1)

    def classify(self, text: str) -> tuple[float, str, dict[str, float]]:
        """(P(unsafe), most likely harmful category, all probabilities)."""
        p = self.probs([text])[0]
        harmful = p[1:]
        cat = self.categories[1 + int(harmful.argmax())]
        return float(1.0 - p[0]), cat, {c: round(float(v), 4) for c, v in zip(self.categories, p)}


def main(argv: list[str] | None = None) -> None:
    """Retrain the shipped classifier: python -m worldsmith.guardrails.classifier [train.json] [out_dir]."""
    import sys

    from ..text.encoder import TextEncoder

    argv = sys.argv[1:] if argv is None else argv
    train_file = argv[0] if argv else os.path.join(DATA_DIR, "prompts_train.json")
    out_dir = argv[1] if len(argv) > 1 else DEFAULT_CLASSIFIER_DIR
    model = train_classifier(load_prompt_set(train_file), TextEncoder())
    model.save_pretrained(out_dir)
    print(f"wrote {out_dir}")


if __name__ == "__main__":  # pragma: no cover
    main()
