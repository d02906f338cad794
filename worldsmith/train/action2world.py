"""Action-conditioned post-training (Action2World): a pretrained world model learns robot actions.

Cosmos-Predict2's robot recipe: start from a Video2World checkpoint, add small MLPs that
embed the per-frame actions into the timestep modulation (`DiTConfig.action_dim`,
`models/embedders.py`), and fine-tune on robot videos with their actions, predicting the
next frames from the current ones. Here the whole network can be fine-tuned, or only LoRA
adapters on the attention and MLP projections plus the new action MLPs
(`--lora-rank`, `models/lora.py`); a LoRA run exports only the adapter and the action MLPs,
merged into the base model when loaded (`inference/action.py`).

Windows are short (`data.num_frames` = 9: 3 latent frames for a 4x tokenizer) and the model
conditions on 1 or 2 latent frames (1 or 5 pixel frames), the context the robot environment
(`envs/`) rolls out with. Text is a fixed prompt (empty by default): the actions carry the task.
Actions are divided per dimension by their spread in the training clips (stored in the model
config) so that metres and radians reach the MLPs at unit scale; post-training an action model
further (`--init` an action2world directory) keeps the scale its action MLPs learnt on.
"""

from __future__ import annotations

import dataclasses
import logging
import os
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn as nn

from ..diffusion import Denoiser, DiffusionConfig
from ..models.dit import DiT, DiTConfig
from ..utils import config as cfgutil
from ..utils.atomic import atomic_write_json
from ..utils.errors import WorldsmithError, require_dir
from .config import OptimConfig, TrainConfig
from .trainer import unwrap
from .video2world import Video2WorldTask, Video2WorldTrainConfig, WorldDataConfig, read_world_model

log = logging.getLogger(__name__)
ADAPTER_CONFIG = "adapter_config.json"


@dataclass
class Action2WorldTrainConfig(Video2WorldTrainConfig):
    """A post-training run: a Video2World run config plus the base model, actions and LoRA."""

    init: str = ""
    """The pretrained world model directory (`worldsmith train --task video2world` output `model/`)."""
    action_key: str = "actions"
    """Clip-dataset array with the per-frame actions [T, A] (row t moves frame t -> t+1)."""
    prompt: str = ""
    """The fixed text every sample is conditioned on."""
    lora_rank: int = 0
    """0: full fine-tuning; > 0: LoRA adapters of this rank (the base weights stay frozen)."""
    lora_alpha: float = 16.0
    lora_targets: tuple[str, ...] = ("q_proj", "k_proj", "v_proj", "output_proj", "layer1", "layer2")
    action_lr_mult: float = 1.0
    """Learning-rate multiplier of the new action MLPs (they start at zero). Measured at 10x
    (BENCHMARKS.md, robot section): their embeddings grew from ~1/70 to ~1/3 of the timestep
    embedding, but through the output bias; the model still predicted the same frames from
    true, zeroed or shuffled actions. So the default stays at Cosmos's 1x; the knob is here
    for longer runs and other data."""
    latent_window: int = 0
    """0: train on whole windows of `data.num_frames` frames (the first latent frame a single
    image). n > 0: each sample is a run of n consecutive latent frames at a random offset of the
    (longer) window, so most start on a 4-frame latent, as the context of a latent-space
    rollout does (`inference/action.py`: after the first chunk the model conditions on its own
    latents, with no decode + re-encode between chunks)."""
    self_forcing: float = 0.0
    """Share of each batch trained on the model's own prediction as context ("self forcing"):
    for those windows (3 latent frames: needs `latent_window=3`) the second latent frame is replaced by the
    model's one-pass posterior mean of it (no gradient; the first frame and its actions as
    context, as a rollout's first chunk is made), and the third is learnt from the first and
    that prediction. A rollout after its first chunk conditions on its own blurred output,
    which true-frame training never shows; this teaches the model to go from there to the true
    next frame. 0 (default): every window is true frames. Validation loss stays on true frames."""


def resolve_config(init: str, config_file: str | None = None, overrides: list[str] | None = None,
                   **fields) -> Action2WorldTrainConfig:
    """Defaults from the base model at `init` -> file -> --set overrides -> explicit fields."""
    if not init:
        raise WorldsmithError("--init: the pretrained world model directory is required")
    net_cfg, diff_cfg, meta = read_world_model(init)
    diff_cfg = dataclasses.replace(diff_cfg, cond_frame_choices=(1, 2), text_dropout=0.0)
    net_cfg = dataclasses.replace(net_cfg, action_cumulative=True)  # docs/design.md: cumulative action features
    text_encoder = meta.get("text_encoder", "minilm")
    cfg = Action2WorldTrainConfig(
        preset="init", model=net_cfg, diffusion=diff_cfg, init=init,
        tokenizer=os.path.join(init, meta.get("tokenizer", "tokenizer")),
        text_encoder="" if text_encoder == "minilm" else text_encoder,
        text_max_length=int(meta.get("text_max_length", 64)),
        data=WorldDataConfig(num_frames=9, size=int(meta.get("size", 64))),
        train=TrainConfig(steps=1000, batch_size=8, ema_decay=0.99,
                          optim=OptimConfig(lr=2e-4, warmup_steps=50)))
    cfg = cfgutil.resolve(cfg, config_file, overrides)
    if cfg.diffusion.anchor == "still":  # rollouts and latent-window crops re-anchor on the last latent
        raise WorldsmithError(f"--init {init}: diffusion.anchor='still' is not supported for action2world; "
                              f"post-train with --set diffusion.anchor=last_cond or from a last_cond base")
    for dotted, value in fields.items():
        if value is not None:
            cfg = cfgutil.merge(cfg, cfgutil.parse_overrides([f"{dotted.replace('__', '.')}={value}"]))
    if cfg.model.patch_spatial != net_cfg.patch_spatial:  # a finer patch than the base: models/repatch.py
        from ..models.repatch import repatched_config

        same_patch = dataclasses.replace(cfg.model, patch_spatial=net_cfg.patch_spatial,
                                         rope_position_scale=net_cfg.rope_position_scale)
        cfg = dataclasses.replace(cfg, model=repatched_config(same_patch, cfg.model.patch_spatial))
    if cfg.lora_rank < 0:
        raise WorldsmithError(f"--lora-rank {cfg.lora_rank}: expected >= 0 (0 = full fine-tuning)")
    if cfg.action_lr_mult <= 0:
        raise WorldsmithError(f"action_lr_mult={cfg.action_lr_mult}: expected > 0")
    if cfg.latent_window and cfg.latent_window < 2:  # its upper bound is checked when the task is built
        raise WorldsmithError(f"latent_window={cfg.latent_window}: expected 0 (whole windows) or >= 2 "
                              f"(conditioning + predicted latent frames)")
    if cfg.data.stride != 1:
        raise WorldsmithError(f"data.stride={cfg.data.stride}: action conditioning needs every frame (stride 1)")
    if not 0.0 <= cfg.self_forcing <= 1.0:
        raise WorldsmithError(f"self_forcing={cfg.self_forcing}: expected a share in [0, 1]")
    if cfg.self_forcing and cfg.latent_window != 3:
        raise WorldsmithError(f"self_forcing={cfg.self_forcing}: needs latent_window=3 (a true frame, the model's "
                              f"prediction of the next, then the frame to learn); got {cfg.latent_window}")
    return cfg


def action_scale(root: str, key: str, max_clips: int = 256) -> np.ndarray:
    """Per-dimension spread (std, floored) of the actions in up to `max_clips` training clips -> [A]."""
    from ..data.format import SHARD_DIR, load_array
    from ..data.reader import _group_by_shard, iter_shard_clips, read_manifest

    rows = [r for r in read_manifest(root) if r["split"] == "train"][:max_clips]
    acts = []
    for shard, keys in _group_by_shard(rows).items():
        for rec in iter_shard_clips(os.path.join(root, SHARD_DIR, shard), set(keys), decode=False):
            data = rec["members"].get(f"{key}.npy")
            if data is not None:
                a = load_array(data)
                acts.append(a.reshape(len(a), -1)[:-1])  # the last row moves past the clip end
    if not acts:
        raise WorldsmithError(f"--data {root}: no training clip has a '{key}' array (robot actions); "
                              f"generate robot clips (worldsmith sim generate --scenario robot_push) or import "
                              f"them (worldsmith data import-bridge)")
    allacts = np.concatenate(acts).astype(np.float64)  # [N, A]
    std = allacts.std(axis=0)
    return np.maximum(std, 1e-3 * max(float(std.max()), 1e-6))  # a constant dimension keeps a finite scale


class Action2WorldTask(Video2WorldTask):
    """Post-train a Video2World model on clips with per-frame actions (full or LoRA)."""

    def __init__(self, cfg: Action2WorldTrainConfig, tokenizer=None, text_encoder=None):
        super().__init__(cfg, tokenizer, text_encoder)
        self.arrays = (cfg.action_key,)
        if not self.cfg.data.root:
            raise WorldsmithError("--data: a clip dataset of robot clips with actions is required")
        from ..tokenizer.model import check_fingerprint

        check_fingerprint(self.tokenizer, read_world_model(cfg.init)[2], cfg.init, cfg.tokenizer, arg="--init")
        scale = action_scale(self.cfg.data.root, cfg.action_key)
        if self.cfg.model.action_scale:  # --init is an action model (or --set gave one): keep the scale its
            carried = tuple(float(s) for s in self.cfg.model.action_scale)  # action MLPs were trained on
            if len(carried) != len(scale):
                raise WorldsmithError(f"--init {cfg.init}: its model takes {len(carried)}-dimensional actions; "
                                      f"--data {self.cfg.data.root} has {len(scale)}-dimensional '{cfg.action_key}'")
            log.info("action_scale carried over from --init (this data's would be %s)",
                     ", ".join(f"{s:.4g}" for s in scale))
            scale = np.asarray(carried)
        st = self.tokenizer.cfg.temporal_compression
        model = dataclasses.replace(self.cfg.model, action_dim=len(scale), actions_per_frame=st,
                                    action_scale=tuple(float(s) for s in scale))
        self.cfg = dataclasses.replace(self.cfg, model=model)
        n_lat = 1 + (cfg.data.num_frames - 1) // st
        if cfg.latent_window > n_lat:
            raise WorldsmithError(f"latent_window={cfg.latent_window}: longer than the {n_lat} latent frames of "
                                  f"data.num_frames={cfg.data.num_frames}")

    def build_model(self) -> nn.Module:
        """The base Denoiser's weights in an action-conditioned net (new action MLPs at zero), LoRA-wrapped."""
        base = load_action_denoiser(self.cfg.init) if is_adapter(self.cfg.init) else Denoiser.from_pretrained(self.cfg.init)
        net = DiT(self.cfg.model)
        missing, unexpected = net.load_state_dict(base_weights_for(net.cfg, base.net, log_repatch=True), strict=False)
        if unexpected or any(not k.startswith("action_embedder.") for k in missing):
            raise WorldsmithError(f"--init {self.cfg.init}: weights do not fit the model "
                                  f"(missing {missing[:3]}, unexpected {unexpected[:3]})")
        den = Denoiser(net, self.cfg.diffusion)
        if self.cfg.lora_rank > 0:
            from ..models.lora import apply_lora, mark_only_lora_trainable

            apply_lora(net, self.lora_config(), under="blocks")
            trainable, total = mark_only_lora_trainable(den, also=("net.action_embedder",))
            log.info("LoRA rank %d: %d of %d parameters trainable (%.1f%%)", self.cfg.lora_rank, trainable, total,
                     100.0 * trainable / total)
        return den

    def param_groups(self, model: nn.Module) -> list[dict]:
        """The action MLPs at `action_lr_mult` times the base learning rate, the rest at 1x."""
        action, rest = [], []
        for name, p in unwrap(model).named_parameters():
            if p.requires_grad:
                (action if ".action_embedder." in f".{name}" else rest).append(p)
        return [{"params": rest, "lr_mult": 1.0}, {"params": action, "lr_mult": self.cfg.action_lr_mult}]

    def lora_config(self):
        from ..models.lora import LoRAConfig

        return LoRAConfig(rank=self.cfg.lora_rank, alpha=self.cfg.lora_alpha, targets=tuple(self.cfg.lora_targets))

    def cache_prompt(self, caption: str) -> str:
        """Every window trains on the run's fixed prompt: the actions carry the task."""
        return self.cfg.prompt

    def cache_prompt_rule(self) -> str:
        return f"fixed:{self.cfg.prompt}"

    def batch_cond(self, batch: dict, generator: torch.Generator | None = None) -> tuple[torch.Tensor, dict]:
        """Latent + the fixed prompt + the window's actions [B, (T'-1)*k, A] (the last row leaves the window).

        With `latent_window` n, each sample is cut to n latent frames from a random offset j
        (drawn from `generator`, or torch's global generator): latent frame j ends at pixel
        frame k*j, so its actions are rows k*j .. k*(j+n-1)-1.
        """
        latent, cond = self.latent_and_text(batch)
        k, acts = self.cfg.model.actions_per_frame, batch[self.cfg.action_key]
        n = self.cfg.latent_window
        if not n or n >= latent.shape[2]:
            cond["actions"] = acts[:, :(latent.shape[2] - 1) * k].to(latent.device)
            return latent, cond
        offsets = torch.randint(0, latent.shape[2] - n + 1, (latent.shape[0],), generator=generator).tolist()
        cond["actions"] = torch.stack([acts[b, k * j:k * (j + n - 1)] for b, j in enumerate(offsets)]).to(latent.device)
        return torch.stack([latent[b, :, j:j + n] for b, j in enumerate(offsets)]), cond

    def loss(self, model, batch, step):
        """The denoising loss; with `self_forcing` > 0, a share of the windows condition on the
        model's own prediction of their second latent frame (`self_forced`)."""
        if not self.cfg.self_forcing:
            return super().loss(model, batch, step)
        latent, cond = self.batch_cond(batch)
        den = unwrap(model)
        latent, n_cond, chosen = self_forced(den, latent, cond, self.cfg.self_forcing)
        loss, info = den.loss(latent, cond, num_cond_frames=n_cond)
        return loss, {"sigma_mean": float(info["sigma"].mean()),
                      "cond_frames_mean": float(info["num_cond_frames"].float().mean()),
                      "self_forced": float(chosen.float().mean())}

    def log_samples(self, model, batch, writer, step):
        """No TensorBoard videos for action runs (the action fidelity benchmark shows rollouts)."""

    def export(self, model, out_dir: str) -> None:
        """Full fine-tuning: a self-contained model directory. LoRA: the adapter + action MLPs only.

        Both hold tokenizer/ and world_model.json (with "task": "action2world" and the action
        layout); a LoRA directory's adapter_config.json names the base model it merges into.
        """
        den = unwrap(model)
        os.makedirs(out_dir, exist_ok=True)
        if self.cfg.lora_rank > 0:
            from ..models.lora import save_adapter

            extra = {f"action_embedder.{k}": v for k, v in den.net.action_embedder.state_dict().items()}
            save_adapter(den.net, out_dir, self.lora_config(), extra=extra, metadata={
                # relative to the adapter, so base + adapter can move (or ship) together
                "base_model": os.path.relpath(os.path.abspath(self.cfg.init), os.path.abspath(out_dir)),
                "model": cfgutil.to_dict(self.cfg.model), "diffusion": cfgutil.to_dict(self.cfg.diffusion)})
        else:
            den.save_pretrained(out_dir)
        self.tokenizer.save_pretrained(os.path.join(out_dir, "tokenizer"))
        _, _, base_meta = read_world_model(self.cfg.init)
        atomic_write_json(os.path.join(out_dir, "world_model.json"), {
            **base_meta, "tokenizer": "tokenizer", "tokenizer_fingerprint": self.tokenizer.fingerprint(),
            "captions": "", "task": "action2world",
            "prompt": self.cfg.prompt, "num_frames": self.cfg.data.num_frames,
            "action": {"dim": self.cfg.model.action_dim, "per_latent_frame": self.cfg.model.actions_per_frame,
                       "key": self.cfg.action_key, "lora_rank": self.cfg.lora_rank,
                       "latent_window": self.cfg.latent_window},
            "latent_shape": list(self.tokenizer.cfg.latent_shape(self.cfg.data.num_frames, self.cfg.data.size,
                                                                 self.cfg.data.size)),
        })


def self_forced(den: Denoiser, latent: torch.Tensor, cond: dict, share: float,
                generator: torch.Generator | None = None) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Windows `latent` [B, C, 3, h, w] -> (windows, conditioning frames per window [B], chosen [B]).

    Each window is chosen with probability `share`; a chosen one gets its second latent frame
    replaced by the model's one-pass posterior mean of it (`sampling_plan(den, "mean")`, read
    from the first frame and the first `k` actions, exactly as a rollout's chunk is predicted)
    and conditions on 2 frames, so the third is learnt from the model's own output. The others
    keep their frames and draw 1 or 2 conditioning frames as usual (`cond_frame_choices`)."""
    from ..diffusion.conditioning import sample_num_cond_frames
    from ..diffusion.generate import MEAN_SAMPLER, generate, sampling_plan

    B, T, dev = latent.shape[0], latent.shape[2], latent.device
    if T != 3:
        raise ValueError(f"self_forced: expected windows of 3 latent frames, got {T}")
    gen_device = generator.device if generator is not None else dev
    chosen = (torch.rand(B, generator=generator, device=gen_device) < share).to(dev)
    n_cond = sample_num_cond_frames(B, tuple(den.cfg.cond_frame_choices), T, generator, dev)
    n_cond = torch.where(chosen, torch.full_like(n_cond, 2), n_cond)
    if not bool(chosen.any()):
        return latent, n_cond, chosen
    idx = chosen.nonzero().flatten()
    k = den.net.cfg.actions_per_frame
    sub = {key: v[idx] for key, v in cond.items() if isinstance(v, torch.Tensor) and v.shape[:1] == (B,)}
    sub["actions"] = cond["actions"][idx, :k]
    plan = sampling_plan(den, MEAN_SAMPLER, 1)
    was_training = den.training
    den.eval()
    try:
        pred = generate(den, (len(idx), latent.shape[1], 2, *latent.shape[3:]), sub, guidance=0.0,
                        cond_latent=latent[idx, :, :1], num_cond_frames=1, steps=plan["steps"],
                        sampler=plan["sampler"], sigma_max=plan["sigma_max"], init_noise=plan["init_noise"])
    finally:
        den.train(was_training)
    latent = latent.clone()
    latent[idx, :, 1] = pred[:, :, 1].to(latent.dtype)
    return latent, n_cond, chosen


def base_weights_for(cfg: DiTConfig, base: DiT, log_repatch: bool = False) -> dict[str, torch.Tensor]:
    """The base net's weights for a net of shape `cfg`: re-patched (`models/repatch.py`) when the
    post-training run chose a finer spatial patch than the base's."""
    state = base.state_dict()
    if base.cfg.patch_spatial == cfg.patch_spatial:
        return state
    from ..models.repatch import repatch_state_dict

    if log_repatch:
        log.info("re-patched the base model: spatial patch %d -> %d", base.cfg.patch_spatial, cfg.patch_spatial)
    return repatch_state_dict(state, base.cfg, cfg)


def is_adapter(model_dir: str) -> bool:
    """Whether `model_dir` is a LoRA run's export (adapter + action MLPs; its base holds the rest)."""
    return os.path.isfile(os.path.join(model_dir, ADAPTER_CONFIG))


MAX_ADAPTER_CHAIN = 16  # a LoRA run continued from a LoRA run names that adapter as its base; deeper is a loop


def load_action_denoiser(model_dir: str, device: str | torch.device = "cpu", _depth: int = 0) -> Denoiser:
    """An exported Action2World model: a full checkpoint, or base + LoRA adapter merged at load time
    (the base may itself be an adapter, when a LoRA run continued another: merged first)."""
    d = require_dir(model_dir, "action world model directory")
    if not is_adapter(d):
        den = Denoiser.from_pretrained(d, device=device)
        if den.net.action_embedder is None:
            raise WorldsmithError(f"{d}: not an action-conditioned model (no action_dim in config.json); "
                                  f"post-train it with `worldsmith train --task action2world --init {d}`")
        return den
    from ..models.lora import apply_lora, load_adapter, load_lora_weights, merge_lora
    from ..utils.config import from_dict

    lora_cfg, tensors, meta = load_adapter(d)
    where = os.path.join(d, ADAPTER_CONFIG)
    for field in ("base_model", "model", "diffusion"):
        if field not in meta:
            raise WorldsmithError(f"{where}: missing '{field}'")
    base_dir = os.path.normpath(os.path.join(d, meta["base_model"]))  # relative to the adapter (or absolute)
    if not os.path.isdir(base_dir):
        raise WorldsmithError(f"{where}: base model {base_dir} not found (the adapter merges into it)")
    if _depth >= MAX_ADAPTER_CHAIN:
        raise WorldsmithError(f"{where}: more than {MAX_ADAPTER_CHAIN} adapters deep through 'base_model' (a loop?)")
    base = (load_action_denoiser(base_dir, _depth=_depth + 1) if is_adapter(base_dir)
            else Denoiser.from_pretrained(base_dir))
    net = DiT(from_dict(DiTConfig, meta["model"], where=where))
    net.load_state_dict(base_weights_for(net.cfg, base.net), strict=False)  # a LoRA run may re-patch its base
    apply_lora(net, lora_cfg, under="blocks")
    rest = load_lora_weights(net, tensors)
    emb = {k.removeprefix("action_embedder."): v for k, v in rest.items() if k.startswith("action_embedder.")}
    try:
        net.action_embedder.load_state_dict(emb)
    except RuntimeError as e:
        raise WorldsmithError(f"{d}: action embedder weights do not match ({str(e).splitlines()[0]})") from None
    merge_lora(net)
    return Denoiser(net, from_dict(DiffusionConfig, meta["diffusion"], where=where)).to(device)
