"""Post-import hooks, and this server's address.

Start-up stays fast: a moto module is patched when moto imports it (a
post-import hook, after_import below), not imported by this package.
moto's CloudFormation imports most of its services (about 1.5 s), on the
first stack.

configure() tells the package this server's own address, the ResponseURL
of custom resources' requests (scripts/moto_server.py passes it).
"""

import importlib.abc
import importlib.machinery
import sys
from typing import Any, Callable

_HOOKS: dict[str, list[Callable[[Any], None]]] = {}


def after_import(module_name: str, hook: Callable[[Any], None]) -> None:
    """Runs hook(module) once the module is imported (now, if it is)."""
    module = sys.modules.get(module_name)
    if module is not None:
        hook(module)
    else:
        _HOOKS.setdefault(module_name, []).append(hook)


class _AfterImport(importlib.abc.MetaPathFinder):
    """Finds hooked modules as the path finder does, and runs the hooks
    right after the module's code."""

    def find_spec(self, fullname, path, target=None):
        if fullname not in _HOOKS:
            return None
        spec = importlib.machinery.PathFinder.find_spec(fullname, path, target)
        if spec is None or spec.loader is None:
            return None
        exec_module = spec.loader.exec_module

        def exec_and_hook(module):
            exec_module(module)
            for hook in _HOOKS.pop(fullname, ()):
                hook(module)

        spec.loader.exec_module = exec_and_hook  # one loader per spec
        return spec


sys.meta_path.insert(0, _AfterImport())

# This server's own address, for ResponseURLs (set by moto_server.py).
_SERVER_URL = "http://127.0.0.1:5000"


def configure(server_url: str) -> None:
    global _SERVER_URL
    _SERVER_URL = server_url.rstrip("/")


def server_url() -> str:
    """This server's own address, as configure() was told it."""
    return _SERVER_URL
