"""Every exercise check rejects every mutant of its suite and accepts correct answers written another way.

The suites are in ``tests/mutants/``; the terminal summary reports their size and kill rate per
chapter (``tests/conftest.py``).
"""

import pytest

from course.checks import REGISTRY, verify
from course.checks.core import run_case
from mutants import ALTERNATIVES, all_mutants

SUITE = all_mutants()
#: exercise id -> [killed, total], read by the terminal summary.
KILLS: dict[str, list[int]] = {}


@pytest.mark.parametrize("mutant", SUITE, ids=lambda m: f"{m.exercise}-{m.family}-{m.name}")
def test_the_check_rejects_the_mutant(mutant):
    tally = KILLS.setdefault(mutant.exercise, [0, 0])
    tally[1] += 1
    with pytest.raises(AssertionError):
        verify(REGISTRY[mutant.exercise], mutant.function)
    tally[0] += 1


@pytest.mark.parametrize("mutant", SUITE, ids=lambda m: f"{m.exercise}-{m.family}-{m.name}")
def test_the_mutant_runs_on_every_case(mutant):
    """A mutant that crashes is no plausible answer: each one must run, and be wrong, quietly."""
    check = REGISTRY[mutant.exercise]
    for case in check.cases():
        run_case(check, mutant.function, case)  # run_case gives the mutant its own copy of the inputs


@pytest.mark.parametrize("answer", ALTERNATIVES, ids=lambda m: f"{m.exercise}-{m.name}")
def test_a_correct_answer_written_another_way_passes(answer):
    assert verify(REGISTRY[answer.exercise], answer.function) > 0


def test_every_exercise_has_a_suite_and_an_alternative_answer():
    assert {m.exercise for m in SUITE} == set(REGISTRY)
    assert {a.exercise for a in ALTERNATIVES} == set(REGISTRY), "add an @alternative for each exercise"
