"""Small shared helpers: user-facing errors, atomic writes, progress bars, config, devices."""
