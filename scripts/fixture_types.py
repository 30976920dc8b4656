"""Classes pickled into ptfs's test fixtures (19_objects.pt).

make-fixtures.py writes them and oracle.py loads them; both live in
scripts/, so `import fixture_types` finds this file from either.
"""

import collections
import dataclasses


@dataclasses.dataclass
class Point:
    """A dataclass: NEWOBJ of the class, then BUILD with its __dict__."""
    x: int
    y: float


Pair = collections.namedtuple("Pair", "left right")
Pair.__module__ = __name__


class Opaque:
    """A state that is not a dict: shown under .__getstate__()."""

    def __init__(self, n):
        self.n = n

    def __getstate__(self):
        return (self.n, "opaque")

    def __setstate__(self, state):
        self.n = state[0]

    def __eq__(self, other):
        return type(other) is Opaque and other.n == self.n
