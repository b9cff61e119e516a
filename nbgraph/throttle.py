"""When a live view may redraw: not too often, and not too much of the time."""

import math
import time

__all__ = ["Throttle"]


class Throttle:
    """Say when it is time to redraw: at most once per ``interval`` seconds, and
    spending at most ``budget`` of the time drawing (measured with ``clock``).

    Each draw is timed: after one that took ``c`` seconds the next waits
    ``c (1 - budget) / budget``, so that ``c`` is ``budget`` of the time from
    one draw's start to the next's; but never more than ``max_wait``, so the
    picture never freezes. ``start(first_cost)`` holds the first draw back in
    the same way, for a first draw expected to cost ``first_cost``: a loop too
    short to afford it gets no picture before its final one.
    """

    def __init__(self, interval=0.2, budget=0.05, clock=time.monotonic, max_wait=2.0):
        self.interval, self.budget, self.clock = float(interval), float(budget), clock
        self.max_wait = max(float(max_wait), self.interval)
        self.next_due = -math.inf
        self.last_cost = None

    def due(self):
        return self.clock() >= self.next_due

    def wait_after(self, cost):
        """Seconds to wait after a draw that took ``cost``."""
        if self.budget <= 0:
            return self.interval
        return min(max(self.interval, cost * (1.0 - self.budget) / self.budget), self.max_wait)

    def start(self, first_cost=0.0):
        """Start counting now; the first draw is due as if one costing
        ``first_cost`` had just ended."""
        self.next_due = self.clock() + self.wait_after(first_cost)

    def run(self, draw):
        start = self.clock()
        draw()
        end = self.clock()
        self.last_cost = max(0.0, end - start)
        self.next_due = end + self.wait_after(self.last_cost)
