"""worldsmith: build world foundation models for physical AI.

Simulate or curate video, tokenize it, train diffusion world models, predict and
evaluate how well they follow physics. Runs small on a laptop CPU, big on GPUs.
"""

__version__ = "0.1.0"
