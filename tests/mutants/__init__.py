"""Mutation suites for the exercise checks: plausible wrong answers that every check must reject.

A check is only as good as the wrong answers it catches. The registered mistakes of each check
(``Check.mistakes``) carry targeted hints; the mutants here are many more wrong answers, in
families, that a learner who gets an exercise *almost* right could write:

* **generic families**, generated for every exercise from its reference by :func:`generic_mutants`:
  the output scaled, shifted, negated, reordered or of another dtype; an input edited in place;
  for exercises on a graph, the edges read in the other direction, with self-loops dropped or
  doubled, or processed in sorted order;
* **specific families**, written per chapter in ``tests/mutants/chNN.py`` with :func:`mutant`: a
  global max instead of a per-neighbourhood one, the wrong axis, an off-by-one, ...

``tests/test_mutations.py`` feeds every mutant to the real ``exercise()`` check and requires all
of them to be rejected; correct answers written another way (:func:`alternative`) must pass.
"""

from __future__ import annotations

import importlib
import inspect
import pkgutil
from dataclasses import dataclass
from typing import Any, Callable

import torch

from course.checks import REGISTRY, Check


@dataclass(frozen=True)
class Mutant:
    """One wrong (or, for an alternative, one right) answer to an exercise."""

    exercise: str
    family: str
    name: str
    function: Callable


MUTANTS: list[Mutant] = []
ALTERNATIVES: list[Mutant] = []


def mutant(exercise: str, family: str) -> Callable[[Callable], Callable]:
    """Register the decorated function as a wrong answer to ``exercise``, in ``family``."""
    def register(function: Callable) -> Callable:
        MUTANTS.append(Mutant(exercise, family, function.__name__, function))
        return function
    return register


def add_mutant(exercise: str, family: str, name: str, function: Callable) -> Callable:
    """Register ``function`` as a wrong answer named ``name``: for members generated in a loop."""
    function.__name__ = name
    return mutant(exercise, family)(function)


def alternative(exercise: str) -> Callable[[Callable], Callable]:
    """Register the decorated function as a correct answer to ``exercise``, written another way."""
    def register(function: Callable) -> Callable:
        ALTERNATIVES.append(Mutant(exercise, "alternative", function.__name__, function))
        return function
    return register


# --- generic families ------------------------------------------------------------------------------

def _first_tensor(result: Any) -> torch.Tensor | None:
    if isinstance(result, torch.Tensor):
        return result
    if isinstance(result, (tuple, list)) and result and isinstance(result[0], torch.Tensor):
        return result[0]
    return None


def _map_output(reference: Callable, change: Callable[[torch.Tensor], torch.Tensor]) -> Callable:
    def wrong(*args, **kwargs):
        result = reference(*args, **kwargs)
        if isinstance(result, torch.Tensor):
            return change(result)
        if isinstance(result, (tuple, list)):
            return type(result)(change(item) if isinstance(item, torch.Tensor) else item for item in result)
        return change(torch.as_tensor(result)).item()
    return wrong


def _shifted(t: torch.Tensor) -> torch.Tensor:
    if t.is_floating_point():
        return t + 1e-2 * (t.abs().max().clamp(min=1.0))
    return t + 1


def _scaled(t: torch.Tensor) -> torch.Tensor:
    return t * 2 if not t.dtype == torch.bool else ~t


def _negated(t: torch.Tensor) -> torch.Tensor:
    return -t if t.dtype != torch.bool else ~t


def _first_rows_swapped(t: torch.Tensor) -> torch.Tensor:
    if t.dim() == 0 or t.shape[0] < 2:
        return _shifted(t)
    order = torch.arange(t.shape[0])
    order[0], order[-1] = order[-1].item(), order[0].item()
    return t[order]


def _other_dtype(t: torch.Tensor) -> torch.Tensor:
    return t.double() if t.dtype != torch.float64 else t.float()


def _as_counts(t: torch.Tensor) -> torch.Tensor:
    return t.round().long() if t.is_floating_point() else t.float()


def _edge_argument(reference: Callable) -> int | None:
    names = list(inspect.signature(reference).parameters)
    return names.index("edge_index") if "edge_index" in names else None


def _with_edges(reference: Callable, position: int, change: Callable[[torch.Tensor], torch.Tensor]) -> Callable:
    def wrong(*args, **kwargs):
        args = list(args)
        args[position] = change(args[position])
        return reference(*args, **kwargs)
    return wrong


def _without_self_loops(edge_index: torch.Tensor) -> torch.Tensor:
    return edge_index[:, edge_index[0] != edge_index[1]]


def _loops_doubled(edge_index: torch.Tensor) -> torch.Tensor:
    return torch.cat([edge_index, edge_index[:, edge_index[0] == edge_index[1]]], dim=1)


def _edited_in_place(reference: Callable) -> Callable:
    def wrong(*args, **kwargs):
        result = reference(*args, **kwargs)
        for arg in args:
            if isinstance(arg, torch.Tensor) and arg.numel():
                flat = arg.values() if arg.layout == torch.sparse_csr else arg.view(-1)
                flat[0] = ~flat[0] if arg.dtype == torch.bool else flat[-1] + 1
                break
            if isinstance(arg, dict) and arg:  # an adjacency dict: one more neighbour for one node
                next(iter(arg.values())).append(-1)
                break
        return result
    return wrong


def generic_mutants(check: Check) -> list[Mutant]:
    """The generic families for ``check``, built from its reference; see the module docstring.

    None for a check with a ``run`` (a layer class, a training step): its answers are not
    functions whose output can be edited, so its suite is all specific.
    """
    if check.run is not None:
        return []
    reference, found = check.reference, []

    def add(family: str, name: str, function: Callable) -> None:
        found.append(Mutant(check.id, family, name, function))

    add("output", "scaled by 2", _map_output(reference, _scaled))
    add("output", "shifted by 1% of its largest entry", _map_output(reference, _shifted))
    add("output", "negated", _map_output(reference, _negated))
    add("order", "first and last rows swapped", _map_output(reference, _first_rows_swapped))
    add("dtype", "rounded to integers (or made float)", _map_output(reference, _as_counts))
    add("in place", "an input edited in place", _edited_in_place(reference))
    if not _floats_compared_as_any_dtype(check):
        add("dtype", "float64 (or float32)", _map_output(reference, _other_dtype))
    position = _edge_argument(reference)
    if position is not None:
        add("direction", "edges read target -> source", _with_edges(reference, position, lambda e: e.flip(0)))
        cases = check.cases()
        # Only where edge_index is the one per-edge input: dropping columns of it alone would
        # leave e or alpha with rows for edges that are gone, and the mutant would just crash.
        if any(_has_self_loops(case.args[position]) for case in cases) and not _has_per_edge_inputs(cases[0], position):
            add("self-loops", "self-loops left out", _with_edges(reference, position, _without_self_loops))
            add("self-loops", "self-loops counted twice", _with_edges(reference, position, _loops_doubled))
    return [m for m in found if (m.exercise, m.family) not in EQUIVALENT
            and (m.exercise, m.family, m.name) not in EQUIVALENT]


def _has_per_edge_inputs(case, position: int) -> bool:
    num_edges = case.args[position].shape[1]
    return any(isinstance(arg, torch.Tensor) and arg.dim() and arg.shape[0] == num_edges
               for index, arg in enumerate(case.args) if index != position)


def _has_self_loops(edge_index: torch.Tensor) -> bool:
    return bool((edge_index[0] == edge_index[1]).any())


#: (exercise, family) pairs, or (exercise, family, name) for one member, where a generic mutant
#: computes the same function as the reference, so no check could reject it; each chapter's
#: module says why when it adds one.
EQUIVALENT: set[tuple[str, ...]] = set()


def _floats_compared_as_any_dtype(check: Check) -> bool:
    """Checks whose normaliser turns every floating result into float64 accept any float dtype."""
    probe = check.normalise(torch.zeros(1, dtype=torch.float16))
    return isinstance(probe, torch.Tensor) and probe.dtype != torch.float16


def load_specific_families() -> None:
    """Import ``tests/mutants/chNN.py``, whose decorators register the specific families."""
    for module in pkgutil.iter_modules(__path__):
        importlib.import_module(f"{__name__}.{module.name}")


def all_mutants() -> list[Mutant]:
    """Every generic and specific mutant, ordered by exercise."""
    load_specific_families()
    generic = [m for check in REGISTRY.values() for m in generic_mutants(check)]
    return sorted(generic + MUTANTS, key=lambda m: tuple(int(p) for p in m.exercise.split(".")))
