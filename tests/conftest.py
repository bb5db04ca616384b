"""Reports of the unit tests."""

import sys


def pytest_terminal_summary(terminalreporter):
    module = sys.modules.get("test_mutations")
    if module is None or not module.KILLS:
        return
    terminalreporter.write_sep("=", "mutation suites")
    by_chapter: dict[int, list[int]] = {}
    for exercise, (killed, total) in module.KILLS.items():
        tally = by_chapter.setdefault(int(exercise.split(".")[0]), [0, 0])
        tally[0] += killed
        tally[1] += total
    for chapter, (killed, total) in sorted(by_chapter.items()):
        terminalreporter.write_line(f"chapter {chapter:02d}: {killed} of {total} mutants rejected")
    killed = sum(k for k, _ in by_chapter.values())
    total = sum(t for _, t in by_chapter.values())
    terminalreporter.write_line(f"in all: {killed} of {total} mutants rejected ({killed / total:.1%})")
