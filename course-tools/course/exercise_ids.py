"""Exercise ids ("1.3", "10.2"): the one sort key the checks, the generator and the test report share.

A module of its own so that the chapter generator can use it without importing every check.
"""


def exercise_order(exercise_id: str) -> tuple[int, ...]:
    """Sort key for exercise ids: "2.1" before "10.1", as in the chapters."""
    return tuple(int(part) for part in exercise_id.split("."))
