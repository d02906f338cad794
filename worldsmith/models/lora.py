"""LoRA (low-rank adaptation) for post-training a pretrained world model, after Hu et al. 2021.

A frozen linear layer `y = W x` gets a trainable low-rank update:

    y = W x + (alpha / r) * B A x,    A: [r, in] (kaiming-uniform),  B: [out, r] (zeros)

Because B starts at zero, the adapted model is exactly the base model at step 0 and
training moves it away only as far as the data asks; only r * (in + out) numbers per layer
train, so a post-training run fits in far less memory (no optimizer state for W) and its
result is a small adapter file beside the untouched base checkpoint. `merge()` folds
`(alpha / r) B A` into W, so a merged model costs nothing extra at inference.

Why our own: the whole mechanism is ~60 lines, and `peft` would pin `transformers`
versions and wrap our modules in its own model classes. Here the DiT keeps its structure;
`merge_lora` returns a plain `DiT` with the original state_dict keys.

Post-training recipe (apply LoRA before `parallelize`, so DDP/FSDP see the final modules):

    net = DiT.from_pretrained(base_dir)                      # e.g. a video model given actions
    cfg = LoRAConfig(rank=16, alpha=16.0)
    apply_lora(net, cfg, under="blocks")                     # wrap attention + MLP linears
    mark_only_lora_trainable(net, also=("action_embedder",))  # new modules train fully
    ... train; the optimizer skips parameters whose grad stays None ...
    save_adapter(net, out_dir, cfg, metadata={"base_model": base_dir})
    # later: cfg, tensors, meta = load_adapter(out_dir); apply_lora(fresh, cfg);
    #        rest = load_lora_weights(fresh, tensors)  -> non-LoRA tensors (e.g. the embedder)
    merge_lora(net).save_pretrained(merged_dir)             # or ship the merged model
"""

from __future__ import annotations

import json
import math
import os
from dataclasses import dataclass

import torch
from torch import nn

from ..utils.atomic import atomic_path, atomic_write_json
from ..utils.config import from_dict, to_dict
from ..utils.errors import WorldsmithError, require_dir, require_file

ADAPTER_CONFIG_NAME = "adapter_config.json"
ADAPTER_WEIGHTS_NAME = "adapter_model.safetensors"
_LORA_SUFFIXES = (".lora_A.weight", ".lora_B.weight")


@dataclass
class LoRAConfig:
    """Which linear layers get a low-rank update, and its rank and scale."""

    rank: int = 16                 # r: inner size of B A
    alpha: float = 16.0            # the update is scaled by alpha / r (alpha = r: scale 1)
    dropout: float = 0.0           # dropout on the LoRA branch's input only
    # attribute names of the DiT's attention (q/k/v/output_proj) and MLP (layer1/2) linears
    targets: tuple[str, ...] = ("q_proj", "k_proj", "v_proj", "output_proj", "layer1", "layer2")

    def __post_init__(self) -> None:
        _check_hparams(self.rank, self.alpha, self.dropout)


def _check_hparams(rank: int, alpha: float, dropout: float) -> None:
    if not isinstance(rank, int) or rank < 1:
        raise ValueError(f"LoRA rank must be an integer >= 1, got {rank!r}")
    if not alpha > 0:
        raise ValueError(f"LoRA alpha must be > 0, got {alpha!r}")
    if not 0.0 <= dropout < 1.0:
        raise ValueError(f"LoRA dropout must be in [0, 1), got {dropout!r}")


class LoRALinear(nn.Module):
    """A frozen `nn.Linear` (`.base`) plus a trainable low-rank update `scaling * B A`."""

    def __init__(self, base: nn.Linear, rank: int, alpha: float, dropout: float = 0.0):
        super().__init__()
        _check_hparams(rank, alpha, dropout)
        self.base = base
        self.rank, self.alpha, self.scaling = rank, alpha, alpha / rank
        # the new layers live where the base does (any device, any dtype)
        kw = {"bias": False, "device": base.weight.device, "dtype": base.weight.dtype}
        self.lora_A = nn.Linear(base.in_features, rank, **kw)   # in -> r
        self.lora_B = nn.Linear(rank, base.out_features, **kw)  # r -> out
        self.dropout = nn.Dropout(dropout) if dropout > 0 else nn.Identity()
        self.merged = False
        # remembered so that merge_lora can hand back the layer as it was
        self._base_requires_grad = [p.requires_grad for p in base.parameters()]
        base.requires_grad_(False)
        self.reset_lora_parameters()

    def reset_lora_parameters(self) -> None:
        """A as in the LoRA paper's code (kaiming-uniform, a=sqrt(5)); B zero => no change at init."""
        nn.init.kaiming_uniform_(self.lora_A.weight, a=math.sqrt(5))
        nn.init.zeros_(self.lora_B.weight)

    def delta_weight(self) -> torch.Tensor:
        """scaling * B A as [out, in], in fp32 (rounded once, when added to the base weight)."""
        return self.scaling * (self.lora_B.weight.float() @ self.lora_A.weight.float())  # [out, in]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x [..., in] -> [..., out]."""
        out = self.base(x)
        if self.merged:
            return out
        return out + self.scaling * self.lora_B(self.lora_A(self.dropout(x)))  # [..., r] -> [..., out]

    @torch.no_grad()
    def merge(self) -> None:
        """Fold the update into `base.weight`; forward then skips the LoRA branch."""
        if not self.merged:
            w = self.base.weight
            w.copy_((w.float() + self.delta_weight()).to(w.dtype))
            self.merged = True

    @torch.no_grad()
    def unmerge(self) -> None:
        """Undo `merge` (exact up to the base dtype's rounding)."""
        if self.merged:
            w = self.base.weight
            w.copy_((w.float() - self.delta_weight()).to(w.dtype))
            self.merged = False

    def extra_repr(self) -> str:
        return f"rank={self.rank}, alpha={self.alpha}, merged={self.merged}"


# ----------------------------------------------------------------------------------------
# Whole-model helpers


def _under(name: str, prefix: str) -> bool:
    """True if qualified `name` is `prefix` or inside it ("blocks.1" does not match "blocks.10")."""
    prefix = prefix.rstrip(".")
    return not prefix or name == prefix or name.startswith(prefix + ".")


def _lora_layers(model: nn.Module) -> list[tuple[str, LoRALinear]]:
    return [(n, m) for n, m in model.named_modules() if isinstance(m, LoRALinear)]


def apply_lora(model: nn.Module, cfg: LoRAConfig, *, under: str = "") -> list[str]:
    """Wrap every `nn.Linear` whose attribute name is in `cfg.targets` (inside `under`) in a
    `LoRALinear`, in place. Only the wrapped base layers are frozen; use
    `mark_only_lora_trainable` to freeze the rest. Returns the qualified names wrapped.
    """
    _check_hparams(cfg.rank, cfg.alpha, cfg.dropout)  # the dataclass may have been edited
    found = []
    for name, parent in model.named_modules():
        if isinstance(parent, LoRALinear):  # never wrap a wrapper's own layers
            continue
        for attr, child in parent.named_children():
            qual = f"{name}.{attr}" if name else attr
            if attr in cfg.targets and isinstance(child, nn.Linear) and _under(qual, under):
                found.append((qual, parent, attr, child))
    if not found:
        hint = " (the model already has LoRA layers)" if _lora_layers(model) else ""
        raise ValueError(f"apply_lora: no nn.Linear named one of {tuple(cfg.targets)} "
                         f"under {under or '<root>'!r}{hint}")
    for _, parent, attr, child in found:  # swap after the walk: never mutate while iterating
        setattr(parent, attr, LoRALinear(child, cfg.rank, cfg.alpha, cfg.dropout))
    return [qual for qual, *_ in found]


def mark_only_lora_trainable(model: nn.Module, also: tuple[str, ...] = ()) -> tuple[int, int]:
    """Freeze everything except LoRA A/B and parameters under any prefix in `also`
    (qualified-name prefixes such as "net.action_embedder"). Returns (trainable, total)
    parameter counts (numbers of elements).
    """
    if isinstance(also, str):  # a lone "net.x" would otherwise be read as its characters
        also = (also,)
    lora = {f"{n}.lora_{ab}.weight" for n, _ in _lora_layers(model) for ab in "AB"}
    used = set()
    trainable = total = 0
    for name, p in model.named_parameters():
        hits = [pre for pre in also if _under(name, pre)]
        used.update(hits)
        p.requires_grad_(name in lora or bool(hits))
        trainable += p.numel() if p.requires_grad else 0
        total += p.numel()
    unused = [pre for pre in also if pre not in used]
    if unused:  # a typo would otherwise silently leave that module frozen
        raise ValueError(f"mark_only_lora_trainable: also={unused!r} matches no parameter of the model")
    return trainable, total


def lora_state_dict(model: nn.Module) -> dict[str, torch.Tensor]:
    """Only the LoRA weights: {"<layer>.lora_A.weight": [r, in], "<layer>.lora_B.weight": [out, r]}."""
    out = {}
    for name, m in _lora_layers(model):
        out[f"{name}.lora_A.weight"] = m.lora_A.weight.detach()
        out[f"{name}.lora_B.weight"] = m.lora_B.weight.detach()
    return out


def merge_lora(model: nn.Module) -> nn.Module:
    """Replace every `LoRALinear` by its base `nn.Linear` with the update merged in, in place.

    The result has the original module structure and state_dict keys (save it with the
    model's own `save_pretrained`); the base layers get their old `requires_grad` back.
    """
    for name, m in _lora_layers(model):
        m.merge()
        for p, flag in zip(m.base.parameters(), m._base_requires_grad):
            p.requires_grad_(flag)
        parent_name, _, attr = name.rpartition(".")
        setattr(model.get_submodule(parent_name), attr, m.base)
    return model


# ----------------------------------------------------------------------------------------
# Adapter files: a directory with adapter_config.json + adapter_model.safetensors


def save_adapter(model: nn.Module, directory: str | os.PathLike, cfg: LoRAConfig,
                 extra: dict[str, torch.Tensor] | None = None, metadata: dict | None = None) -> None:
    """Write the LoRA weights (+ `extra` tensors under their own names, e.g. a trained action
    embedder) to `adapter_model.safetensors` and `cfg` + `metadata` (e.g. the base model's
    path) to `adapter_config.json`, both atomically; the config is written last.
    """
    from safetensors.torch import save_file

    tensors = lora_state_dict(model)
    if not tensors:
        raise ValueError("save_adapter: the model has no LoRA layers (call apply_lora first)")
    for key, value in (extra or {}).items():
        if key in tensors:
            raise ValueError(f"save_adapter: extra tensor {key!r} collides with a LoRA weight")
        if not isinstance(value, torch.Tensor):
            raise TypeError(f"save_adapter: extra[{key!r}] is a {type(value).__name__}, not a tensor")
        tensors[key] = value
    # own, contiguous CPU copies: safetensors refuses views and storage shared between keys
    tensors = {k: v.detach().to("cpu", copy=True).contiguous() for k, v in tensors.items()}
    os.makedirs(directory, exist_ok=True)
    with atomic_path(os.path.join(directory, ADAPTER_WEIGHTS_NAME)) as tmp:
        save_file(tensors, tmp, metadata={"format": "pt", "model": "worldsmith.lora"})
    atomic_write_json(os.path.join(directory, ADAPTER_CONFIG_NAME),
                      {**to_dict(cfg), "metadata": dict(metadata or {})})


def load_adapter(directory: str | os.PathLike) -> tuple[LoRAConfig, dict[str, torch.Tensor], dict]:
    """Read a directory written by `save_adapter` -> (config, CPU tensors, metadata)."""
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    d = require_dir(directory, "LoRA adapter directory")
    cfg_path = require_file(os.path.join(d, ADAPTER_CONFIG_NAME), "LoRA adapter config")
    w_path = require_file(os.path.join(d, ADAPTER_WEIGHTS_NAME), "LoRA adapter weights")
    try:
        with open(cfg_path, encoding="utf-8") as f:
            data = json.load(f)
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise WorldsmithError(f"{cfg_path}: not valid JSON ({e})") from None
    if not isinstance(data, dict):
        raise WorldsmithError(f"{cfg_path}: expected a JSON object, got {type(data).__name__}")
    metadata = data.pop("metadata", {})
    if not isinstance(metadata, dict):
        raise WorldsmithError(f"{cfg_path}: 'metadata' must be an object, got {type(metadata).__name__}")
    try:
        cfg = from_dict(LoRAConfig, data, where=cfg_path)
    except ValueError as e:  # rank/alpha/dropout out of range
        raise WorldsmithError(f"{cfg_path}: {e}") from None
    try:
        tensors = load_file(w_path, device="cpu")
    except (SafetensorError, OSError) as e:
        raise WorldsmithError(f"{w_path}: cannot read safetensors ({e})") from None
    return cfg, tensors, metadata


def load_lora_weights(model: nn.Module, tensors: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Copy LoRA A/B weights into a model already passed through `apply_lora` (same config).

    Every LoRA weight of the model must be present with its shape, and no LoRA weight may
    be left over; the other (non-LoRA) tensors are returned for the caller to load.
    """
    own = lora_state_dict(model)
    if not own:
        raise WorldsmithError("load_lora_weights: the model has no LoRA layers "
                              "(call apply_lora with the adapter's config first)")
    missing = [k for k in own if k not in tensors]
    if missing:
        raise WorldsmithError(f"LoRA weights: missing key {missing[0]!r}"
                              + (f" (and {len(missing) - 1} more)" if len(missing) > 1 else ""))
    rest = {}
    for key, t in tensors.items():
        if key in own:
            if tuple(t.shape) != tuple(own[key].shape):
                raise WorldsmithError(f"LoRA weights: {key!r} has shape {tuple(t.shape)}, "
                                      f"the model expects {tuple(own[key].shape)} (different rank?)")
        elif key.endswith(_LORA_SUFFIXES):
            raise WorldsmithError(f"LoRA weights: unexpected key {key!r} "
                                  "(the adapter's targets/under differ from the model's)")
        else:
            rest[key] = t
    with torch.no_grad():
        for key, param in own.items():  # detached views of the parameters: copy_ writes through
            param.copy_(tensors[key])
    return rest
