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

from .config import TokenizerConfig, preset, preset_names
from .fsq import FSQ
from .inference import decode_video, encode_video
from .model import CausalVideoTokenizer, build_tokenizer

__all__ = ["TokenizerConfig", "preset", "preset_names", "FSQ", "CausalVideoTokenizer", "build_tokenizer",
           "encode_video", "decode_video"]
