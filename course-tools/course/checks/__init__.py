"""Self-checking exercises: ``exercise(id, fn)`` after each exercise, and the registry behind it.

Each chapter's checks live in ``course-tools/course/checks/chNN.py`` and register themselves on import.
"""

import importlib
import pkgutil

from course.checks.core import REGISTRY, Case, Check, exercise, register, verify

for _module in pkgutil.iter_modules(__path__):
    if _module.name.startswith("ch"):
        importlib.import_module(f"{__name__}.{_module.name}")

__all__ = ["REGISTRY", "Case", "Check", "exercise", "register", "verify"]
