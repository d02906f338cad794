"""Causal video tokenizers: continuous (CV, latents for diffusion) and discrete (DV, FSQ tokens
for autoregressive models), Cosmos-style (Haar patching, factorized causal blocks).

Public API:
- `preset(name)` / `preset_names()` / `TokenizerConfig`: `cv4x8x8-tiny`, `dv4x4x4-small`, ...
- `CausalVideoTokenizer(cfg)`: `encode`/`decode`, `save_pretrained`/`from_pretrained`.
- `encode_video(model, frames, chunk_frames=, tile=)` / `decode_video(...)`: any length/size.
- `FSQ(levels)`: the finite scalar quantiser.
- `TokenizerTask`, `TokenizerTrainConfig`: training with `worldsmith.train.Trainer`.
- `evaluate(model_dir, data)`: PSNR/SSIM, throughput and the copy-last baseline.
"""

from ..utils.lazy import lazy_exports

__getattr__, __all__ = lazy_exports(__name__, {
    "TokenizerConfig": ".config", "preset": ".config", "preset_names": ".config", "FSQ": ".fsq",
    "decode_video": ".inference", "encode_video": ".inference", "CausalVideoTokenizer": ".model",
    "build_tokenizer": ".model",
})
