"""Self-checking exercises: ``exercise(id, fn)`` after each exercise, and the registry behind it."""

from gatkit.checks.core import REGISTRY, Case, Check, exercise, register, verify

# Each chapter's module registers its checks on import.
from gatkit.checks import ch01  # noqa: E402,F401

__all__ = ["REGISTRY", "Case", "Check", "exercise", "register", "verify"]
