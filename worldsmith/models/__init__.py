"""World-model networks: `dit` (diffusion transformer over tokenizer latents), `embedders` (action conditioning)."""
