"""Classes named by import path, ``package.module:Class`` or ``path/to/file.py:Class``,
so that a trainer subclass or a plugin can be used without installing a package (as
pytest's ``-p``), and a run records what trained it.

A class defined in a script (module ``__main__``) is recorded as its file path: importing
that file again (as multiprocessing's spawn does; its ``if __name__ == "__main__"`` block
does not run) rebuilds the same class when the run is resumed.
"""
from __future__ import annotations

import importlib
import importlib.util
import sys
from pathlib import Path
from typing import Any

from vaereg.core.common.errors import PluginError, VaeregError, first_line

FILE_MARK = "__vaereg_file__"  # set on modules imported from a file path
PUBLIC = "vaereg"  # a class re-exported here is recorded by its public name, which outlives moves
# Paths that run folders recorded before vaereg.core was split into subpackages.
LEGACY_PATHS = {"vaereg.core.trainer:Trainer": "vaereg:Trainer"}


def is_import_path(name: str) -> bool:
    return ":" in name


def empty_or_import_path(value: str) -> str | None:
    """The check of an option that names a class or is empty (``run.trainer``): None, or
    what was expected."""
    module, sep, attr = value.rpartition(":")
    if not value or (sep and module and attr):
        return None
    return "'' or an import path, package.module:Class or path/to/file.py:Class"


def normalize(path: str) -> str:
    """A file path made absolute, so the same class is recorded the same way from any
    working directory; a legacy path as today's; other module paths unchanged."""
    path = LEGACY_PATHS.get(path, path)
    module, _, attr = path.rpartition(":")
    if module.endswith(".py"):
        return f"{Path(module).expanduser().resolve()}:{attr}"
    return path


def class_path(cls: type) -> str:
    """How ``cls`` is recorded: ``vaereg:Name`` for a class of vaereg's public API,
    ``module:qualname``, or ``file.py:qualname`` for a class from a script or from a file
    imported by path."""
    if cls.__module__.startswith(PUBLIC + ".") and \
            getattr(sys.modules[PUBLIC], cls.__qualname__, None) is cls:
        return f"{PUBLIC}:{cls.__qualname__}"
    module = sys.modules.get(cls.__module__)
    file = getattr(module, FILE_MARK, None) or (
        getattr(module, "__file__", None) if cls.__module__ == "__main__" else None)
    where = str(Path(file).resolve()) if file else cls.__module__
    return f"{where}:{cls.__qualname__}"


def _import_file(file: Path) -> Any:
    name = f"vaereg_file_{abs(hash(str(file)))}"
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, file)
    module = importlib.util.module_from_spec(spec)
    setattr(module, FILE_MARK, str(file))
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    except BaseException:
        del sys.modules[name]
        raise
    return module


def import_object(path: str, what: str) -> Any:
    """The object at ``path``. A module or attribute that is not there is bad input
    (:class:`VaeregError`); an exception raised by the module's own code, a
    :class:`PluginError` that chains it."""
    module_name, sep, attr = normalize(path).rpartition(":")
    if not sep or not module_name or not attr:
        raise VaeregError(f"{what} '{path}': expected an import path, package.module:Class "
                          f"or path/to/file.py:Class")
    file = Path(module_name) if module_name.endswith(".py") else None
    try:
        if file is not None and not file.is_file():
            raise VaeregError(f"{what} '{path}': no file {file}")
        module = _import_file(file) if file else importlib.import_module(module_name)
    except VaeregError:
        raise
    except ModuleNotFoundError as error:
        if not module_name.startswith(error.name or "\0"):
            raise PluginError(f"{what} '{path}' failed to import: {first_line(error)}") from error
        raise VaeregError(f"{what} '{path}': {first_line(error)} (is its folder on "
                          f"PYTHONPATH?)") from None
    except Exception as error:  # the module's own code failed
        raise PluginError(f"{what} '{path}' failed to import: {type(error).__name__}: "
                          f"{first_line(error)}") from error
    obj = module
    for part in attr.split("."):
        if not hasattr(obj, part):
            raise VaeregError(f"{what} '{path}': {module_name} has no attribute '{attr}'")
        obj = getattr(obj, part)
    return obj


def names(path: str, obj: Any) -> bool:
    """Whether ``path`` imports to ``obj`` (a re-export, a moved module's legacy path)."""
    try:
        return import_object(path, "path") is obj
    except (VaeregError, PluginError):
        return False


def same_class(first: str, second: str) -> bool:
    """Whether two recorded paths name one class."""
    if normalize(first) == normalize(second):
        return True
    try:
        return names(second, import_object(first, "path"))
    except (VaeregError, PluginError):
        return False
