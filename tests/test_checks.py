"""The exercise checks: they pass the reference, reject known mistakes, and stay in step with the chapters."""

import ast
import inspect
import itertools
import re
import textwrap
from pathlib import Path

import pytest
import torch

from course.chapters import find_exercises
from course.checks import REGISTRY, Case, Check, exercise, verify
from course.checks.core import outcomes_in

ROOT = Path(__file__).resolve().parents[1]
SOLUTIONS = sorted((ROOT / "solutions").glob("[0-9][0-9]_*.py"))
CALL = re.compile(r"""exercise\(\s*["'](\d+\.\d+)["']""")
CHECKS = sorted(REGISTRY.values(), key=lambda c: tuple(map(int, c.id.split("."))))
MISTAKES = [(check, explanation) for check in CHECKS for explanation in check.mistakes]


def _chapter_number(path: Path) -> int:
    return int(path.name[:2])


def test_registry_and_chapters_list_the_same_exercises():
    in_chapters = {}
    for solution in SOLUTIONS:
        text = solution.read_text()
        headings = find_exercises(text)
        calls = CALL.findall(text)
        assert [h.id for h in headings] == calls, f"{solution.name}: each heading needs one exercise() call, in order"
        for heading in headings:
            assert int(heading.id.split(".")[0]) == _chapter_number(solution), f"{heading.id} in {solution.name}"
            in_chapters[heading.id] = heading.title
    assert set(in_chapters) == set(REGISTRY), "registry and chapter headings differ"
    for exercise_id, title in in_chapters.items():
        assert REGISTRY[exercise_id].title == title, f"title of {exercise_id}"


def test_every_chapter_has_three_to_five_exercises():
    for solution in SOLUTIONS:
        assert 3 <= len(find_exercises(solution.read_text())) <= 5, solution.name


def _solution_regions(text: str) -> dict[str, list[str]]:
    """Exercise id -> the code of its solution regions, parsed (so comments and layout do not count)."""
    regions, current, inside, lines = {}, None, False, []
    for line in text.splitlines():
        heading = re.match(r"^#\s+#{2,4}\s+Exercise\s+(\d+\.\d+)\s*:", line)
        if heading:
            current = heading.group(1)
        elif line.strip() == "### BEGIN SOLUTION":
            inside, lines = True, []
        elif line.strip() == "### END SOLUTION":
            inside = False
            regions.setdefault(current, []).append(ast.dump(ast.parse(textwrap.dedent("\n".join(lines)))))
        elif inside:
            lines.append(line)
    return regions


def test_no_two_exercises_share_a_solution():
    """Every exercise is a new skill: no exercise's solution repeats another's (ignoring comments
    and layout)."""
    seen: dict[tuple[str, ...], str] = {}
    for solution in SOLUTIONS:
        for exercise_id, regions in _solution_regions(solution.read_text()).items():
            key = tuple(regions)
            assert key not in seen, f"exercise {exercise_id} repeats exercise {seen[key]}"
            seen[key] = exercise_id
    assert len(seen) == len(REGISTRY)


def _required_arguments(function) -> int | None:
    try:
        parameters = inspect.signature(function).parameters.values()
    except (TypeError, ValueError):
        return None
    return sum(p.default is p.empty and p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD) for p in parameters)


def test_no_exercise_is_answered_by_another_exercises_solution(capsys):
    """Every exercise is a new skill: no exercise's reference passes another exercise's check
    (the checks of layer classes and training code, which drive their answers, are compared
    among themselves by their suites)."""
    plain = [check for check in CHECKS if check.run is None]
    repeats = []
    for answer, check in itertools.permutations(plain, 2):
        if _required_arguments(answer.reference) != _required_arguments(check.reference):
            continue
        try:
            verify(check, answer.reference)
        except Exception:  # noqa: BLE001 - rejected (or not even applicable): not a repeat
            continue
        repeats.append(f"the solution of {answer.id} passes the check of {check.id}")
    assert not repeats, "; ".join(repeats)


@pytest.mark.parametrize("check", CHECKS, ids=lambda c: c.id)
def test_reference_passes_its_own_check(check, capsys):
    assert exercise(check.id, check.reference) is check.reference
    # The test suite's exercise summary reads the outcome back from this line.
    assert outcomes_in(capsys.readouterr().out) == {check.id: "passed"}


@pytest.mark.parametrize("check, explanation", MISTAKES, ids=lambda v: v.id if isinstance(v, Check) else v[:40])
def test_each_known_mistake_is_rejected_with_its_own_hint(check, explanation):
    with pytest.raises(AssertionError) as info:
        exercise(check.id, check.mistakes[explanation])
    message = str(info.value)
    assert f"Exercise {check.id}" in message
    assert explanation in message, f"expected the targeted hint, got:\n{message}"
    assert outcomes_in(message) == {check.id: "not right"}


@pytest.mark.parametrize("check", CHECKS, ids=lambda c: c.id)
def test_not_attempted_uses_the_reference_and_says_so(check, capsys):
    def stub(*args, **kwargs):
        raise NotImplementedError(f"Exercise {check.id}: ...")

    assert exercise(check.id, stub) is check.reference
    assert outcomes_in(capsys.readouterr().out) == {check.id: "not attempted"}


@pytest.mark.parametrize("check", CHECKS, ids=lambda c: c.id)
def test_a_learners_own_error_propagates_with_its_traceback(check):
    def buggy(*args, **kwargs):
        return [][1]

    with pytest.raises(IndexError) as info:
        exercise(check.id, buggy)
    assert any(entry.name == "buggy" for entry in info.traceback)


@pytest.mark.parametrize("check", [c for c in CHECKS if c.run is None], ids=lambda c: c.id)
def test_a_result_of_the_wrong_shape_is_reported_as_such(check):
    def wrong_shape(*args, **kwargs):
        result = check.reference(*args, **kwargs)
        return result[..., :-1] if result.dim() else result.reshape(1)

    with pytest.raises(AssertionError, match="shape"):
        exercise(check.id, wrong_shape)


def test_editing_an_input_in_place_is_rejected():
    def scale_in_place(t):
        t.mul_(2)
        return t.clone()

    check = Check("0.1", "double", lambda t: t * 2, lambda: [Case("toy", (torch.ones(3),))], hint="h")
    with pytest.raises(AssertionError, match="in place"):
        verify(check, scale_in_place)


def test_values_are_compared_after_shape_and_dtype():
    check = Check("0.2", "ones", lambda: torch.ones(2), lambda: [Case("toy", ())], hint="look again")
    with pytest.raises(AssertionError, match="dtype"):
        verify(check, lambda: torch.ones(2, dtype=torch.float64))
    with pytest.raises(AssertionError, match="wrong values(.|\n)*Hint: look again"):
        verify(check, lambda: torch.zeros(2))


def test_unknown_exercise_id_lists_the_known_ones():
    with pytest.raises(KeyError, match="1.1"):
        exercise("42.0", lambda: None)


def test_typical_wrong_answers_beyond_the_listed_mistakes_are_rejected():
    """A few plausible slips that are not in the mistakes lists must fail too."""
    wrong = {
        "1.1": lambda f: f.to_dense() / f.to_dense().sum().clamp(min=1),  # one global sum
        "1.2": lambda adj, n: torch.tensor([(a, b) for a, bs in adj.items() for b in bs]).T,  # raw pairs
        "1.3": lambda ei, n: torch.cat([ei, torch.arange(n).repeat(2, 1)[:, 1:]], dim=1),  # off by one
        "1.4": lambda ei, n: torch.ones(n, n),
    }
    for exercise_id, function in wrong.items():
        with pytest.raises(AssertionError):
            exercise(exercise_id, function)
