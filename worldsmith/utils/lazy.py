"""Lazy package exports (PEP 562), so that importing a package's `cli.py` does not load torch.

`worldsmith --help` imports every command group's `cli.py`, and importing `pkg.cli` runs
`pkg/__init__.py` first. Packages whose public names live in torch-heavy modules declare them
here instead of importing them; the module is imported the first time a name is used.
"""

from __future__ import annotations

from importlib import import_module
from typing import Callable


def lazy_exports(package: str, exports: dict[str, str]) -> tuple[Callable[[str], object], list[str]]:
    """(`__getattr__`, `__all__`) for `package`, whose names map to their submodule (".denoiser")."""

    def __getattr__(name: str):
        if name not in exports:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        module = import_module(exports[name], package)
        pkg = import_module(package)
        # every name of that submodule at once, later lookups skip this function; this also undoes
        # the import system binding the submodule itself to the package (diffusion.generate: the
        # function, not the module of the same name)
        for other, where in exports.items():
            if where == exports[name]:
                setattr(pkg, other, getattr(module, other))
        return getattr(module, name)

    return __getattr__, list(exports)
