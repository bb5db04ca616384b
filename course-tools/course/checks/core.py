"""The exercise registry and the one call a chapter makes after each exercise.

In a chapter::

    def add_self_loops(edge_index, num_nodes):
        ...
    add_self_loops = exercise("1.2", add_self_loops)

``exercise`` runs the learner's function on the registered cases and compares it with the
reference:

- not attempted (the stub raises ``NotImplementedError("Exercise X.Y: ...")``): say so and return the reference, so the
  rest of the chapter runs;
- wrong: raise ``AssertionError`` naming the case and what differs (type, then shape, then dtype,
  then values), followed by a hint; when the result matches a known mistake, the hint is that
  mistake's own explanation;
- right: print a pass line and return the learner's function, which later cells use.

An exception raised inside the learner's function propagates with its traceback.
"""

from __future__ import annotations

import copy
import math
import re
from dataclasses import dataclass, field
from typing import Any, Callable

import torch

from course.exercise_ids import exercise_order

PASS, SKIP = "\u2705", "\u23ed\ufe0f"

# How the three messages of ``exercise`` end, and the outcome each reports (read back from a
# cell's output by the test suite's exercise summary).
OUTCOMES = {"passed": "passed", "not attempted yet": "not attempted", "is not right yet": "not right"}
_OUTCOME_LINE = re.compile(rf"Exercise (\d+\.\d+) \(.*\) ({'|'.join(OUTCOMES)})")


@dataclass(frozen=True)
class Case:
    """One input on which the learner's function must agree with the reference."""

    label: str
    args: tuple
    kwargs: dict = field(default_factory=dict)


@dataclass(frozen=True)
class Check:
    """A registered exercise.

    Parameters
    ----------
    id, title
        ``"1.2"`` and the heading's title, as in the chapter's ``## Exercise 1.2: title``.
    reference
        The correct function.
    cases
        Builds the cases lazily (some load Cora), in the order they are tried.
    hint
        What to look at when the result is wrong in an unrecognised way.
    mistakes
        Known wrong implementations, each mapped to the explanation shown when the learner's
        result equals theirs. Tests feed every one of them to the check.
    normalise
        Applied to both results before comparing, for results whose order does not matter.
    run
        How an answer meets a case, for answers that are not plain functions of the case's
        inputs (a layer class, a training step): ``run(answer, *args, **kwargs)`` builds or
        drives the answer and returns what is compared (e.g. a dict of outputs, parameters
        after a step, where dropout was applied). The reference and the mistakes go through the
        same ``run``. Without it the answer is called with the case's arguments.
    """

    id: str
    title: str
    reference: Callable
    cases: Callable[[], list[Case]]
    hint: str
    mistakes: dict[str, Callable] = field(default_factory=dict)
    normalise: Callable[[Any], Any] = staticmethod(lambda result: result)
    needs_gradients: bool = False  # the result must stay differentiable (the cases' inputs require grad)
    run: Callable[..., Any] | None = None  # see below
    rtol: float = 1.3e-6
    atol: float = 1e-5


REGISTRY: dict[str, Check] = {}


def as_float64(result: Any) -> Any:
    """A normaliser for numeric results: Python numbers and floating tensors alike, as float64 tensors.

    Any floating dtype is then fine for a share or a score; anything else (an int count, a
    tuple) is compared as it is, and reported as such.
    """
    if isinstance(result, (int, float)) and not isinstance(result, bool):
        return torch.tensor(float(result), dtype=torch.float64)
    if isinstance(result, torch.Tensor) and result.is_floating_point():
        return result.double()
    return result


def register(check: Check) -> Check:
    """Add ``check`` to the registry (ids are unique)."""
    if check.id in REGISTRY:
        raise ValueError(f"exercise {check.id} is registered twice")
    REGISTRY[check.id] = check
    return check


def difference(got: Any, expected: Any, *, rtol: float, atol: float, name: str = "result") -> str | None:
    """Describe how ``got`` differs from ``expected`` (type, shape, dtype, values), or ``None``."""
    if isinstance(expected, torch.Tensor):
        if not isinstance(got, torch.Tensor):
            return f"{name} should be a torch.Tensor, got {type(got).__name__}"
        if got.layout != expected.layout:
            return f"{name} is a {_layout_name(got)} tensor, expected a {_layout_name(expected)} one"
        got, expected = _dense(got), _dense(expected)
        if got.shape != expected.shape:
            return f"{name} has shape {tuple(got.shape)}, expected {tuple(expected.shape)}"
        if got.dtype != expected.dtype:
            return f"{name} has dtype {got.dtype}, expected {expected.dtype}"
        try:
            torch.testing.assert_close(got, expected, rtol=rtol, atol=atol, equal_nan=True)
        except AssertionError as error:
            values = (f"\nyours:    {_show(got)}\nexpected: {_show(expected)}"
                      if expected.numel() <= SHOWN_VALUES else "")
            return f"{name} has the right shape but wrong values:\n{error}{values}"
        return None
    if isinstance(expected, dict):
        if not isinstance(got, dict) or got.keys() != expected.keys():
            return f"{name} should be a dict with keys {sorted(expected)}, got {got!r:.80}"
        for key, value in expected.items():
            problem = difference(got[key], value, rtol=rtol, atol=atol, name=f"{name}[{key!r}]")
            if problem:
                return problem
        return None
    if isinstance(expected, (tuple, list)):
        if not isinstance(got, (tuple, list)) or len(got) != len(expected):
            return f"{name} should be a sequence of {len(expected)} items, got {got!r:.80}"
        for index, (g, e) in enumerate(zip(got, expected)):
            problem = difference(g, e, rtol=rtol, atol=atol, name=f"{name}[{index}]")
            if problem:
                return problem
        return None
    if isinstance(expected, float):
        if not isinstance(got, (int, float)) or not math.isclose(got, expected, rel_tol=rtol, abs_tol=atol):
            return f"{name} is {got!r}, expected {expected!r}"
        return None
    if got != expected:
        return f"{name} is {got!r:.80}, expected {expected!r:.80}"
    return None


#: A wrong result with at most this many entries is printed in full, next to the expected one.
SHOWN_VALUES = 24


def _show(tensor: torch.Tensor) -> str:
    """A small tensor's values, rounded to 4 significant digits, as nested lists."""
    if tensor.is_floating_point():
        return str(_rounded(tensor.tolist()))
    return str(tensor.tolist())


def _rounded(value: Any) -> Any:
    return [_rounded(item) for item in value] if isinstance(value, list) else float(f"{value:.4g}")


def _layout_name(tensor: torch.Tensor) -> str:
    return "dense" if tensor.layout == torch.strided else f"sparse ({str(tensor.layout).split('_', 1)[1].upper()})"


def _dense(tensor: torch.Tensor) -> torch.Tensor:
    return tensor.to_dense() if tensor.layout != torch.strided else tensor


def run_case(check: Check, function: Callable, case: Case) -> tuple[Any, tuple, dict]:
    """Run ``function`` (an answer, the reference or a mistake) on its own copy of the case's
    inputs, through ``check.run`` if the check has one; return the result and that copy.

    The copy keeps a function that edits its inputs in place from corrupting the case, and lets
    the caller see whether it did.
    """
    args, kwargs = _clone(case.args), _clone(case.kwargs)
    if check.run is not None:
        return check.run(function, *args, **kwargs), args, kwargs
    return function(*args, **kwargs), args, kwargs


def _clone(value: Any) -> Any:
    # deepcopy cannot copy sparse CSR tensors; clone() can.
    if isinstance(value, torch.Tensor):
        return value.clone()
    if isinstance(value, (tuple, list)):
        return type(value)(_clone(item) for item in value)
    if isinstance(value, dict):
        clone = copy.copy(value)  # keeps the dict's type (e.g. a defaultdict)
        clone.update((key, _clone(item)) for key, item in value.items())
        return clone
    return copy.deepcopy(value)


def _without_graph(result: Any) -> Any:
    return result.detach() if isinstance(result, torch.Tensor) else result


def _diagnose(check: Check, got: Any, case: Case, *, detached: bool = False) -> str:
    """The explanation of the first registered mistake that gives ``got`` (and is ``detached``
    from autograd exactly when the learner's result is), else the check's general hint."""
    for explanation, mistake in check.mistakes.items():
        try:
            theirs = run_case(check, mistake, case)[0]
        except Exception:  # a mistake may not even run on this case; it is then not the match
            continue
        if check.needs_gradients and isinstance(theirs, torch.Tensor) and theirs.requires_grad == detached:
            continue
        if difference(got, check.normalise(_without_graph(theirs)), rtol=check.rtol, atol=check.atol) is None:
            return explanation
    return check.hint


def verify(check: Check, function: Callable) -> int:
    """Raise ``AssertionError`` unless ``function`` matches the reference; return the cases passed.

    ``NotImplementedError`` from ``function`` propagates (the caller treats it as not attempted).
    """
    cases = check.cases()
    for case in cases:
        got, args, kwargs = run_case(check, function, case)
        detached = check.needs_gradients and isinstance(got, torch.Tensor) and not got.requires_grad
        got = check.normalise(_without_graph(got))
        expected = check.normalise(_without_graph(run_case(check, check.reference, case)[0]))
        problem = difference(got, expected, rtol=check.rtol, atol=check.atol)
        if problem is None and detached:
            problem = ("your result is cut off from autograd (it does not require grad), so training "
                       "would get no gradients from it")
        inputs_changed = difference((args, kwargs), (case.args, case.kwargs), rtol=0, atol=0)
        if problem is None and inputs_changed:
            problem = "your function changed its inputs in place"
            hint = "Build and return new tensors; later cells still need the originals."
        elif problem is not None:
            hint = _diagnose(check, got, case, detached=detached)
        if problem is not None:
            raise AssertionError(
                f"Exercise {check.id} ({check.title}) is not right yet.\n"
                f"On the case '{case.label}': {problem}\n"
                f"Hint: {hint}"
            )
    return len(cases)


def exercise(exercise_id: str, function: Callable) -> Callable:
    """Check the learner's ``function`` for exercise ``exercise_id``; see the module docstring."""
    if exercise_id not in REGISTRY:
        known = ", ".join(sorted(REGISTRY, key=exercise_order))
        raise KeyError(f"no exercise {exercise_id!r}; the registered ones are {known}")
    check = REGISTRY[exercise_id]
    name = getattr(function, "__name__", "your function")
    try:
        passed = verify(check, function)
    except NotImplementedError as error:
        if not str(error).startswith(f"Exercise {check.id}"):
            raise  # not the stub: e.g. a PyTorch operation that does not support sparse tensors
        print(f"{SKIP}  Exercise {check.id} ({check.title}) not attempted yet: using the reference "
              f"solution so the chapter runs on. Fill in `{name}` and rerun its cell to check it.")
        return check.reference
    print(f"{PASS} Exercise {check.id} ({check.title}) passed: `{name}` matches the reference "
          f"on {passed} case{'s' if passed != 1 else ''}.")
    return function


def outcomes_in(text: str) -> dict[str, str]:
    """The exercises a cell's output reports on: ``{"1.3": "passed" | "not attempted" | "not right"}``."""
    return {exercise_id: OUTCOMES[ending] for exercise_id, ending in _OUTCOME_LINE.findall(text)}

