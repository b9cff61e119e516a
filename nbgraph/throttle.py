"""When a live view may redraw: not too often, and not too much of the time."""

import math
import time

__all__ = ["Throttle"]


class Throttle:
    """Say when it is time to redraw: at most once per ``interval`` seconds, and
    spending at most ``budget`` of the time drawing (measured with ``clock``):
    after a draw that took ``c`` seconds the next one waits ``c (1 - budget) /
    budget``, but never more than ``max_wait``, so the picture never freezes."""

    def __init__(self, interval=0.2, budget=0.05, clock=time.monotonic, max_wait=1.0):
        self.interval, self.budget, self.clock = float(interval), float(budget), clock
        self.max_wait = max(float(max_wait), self.interval)
        self.next_due = -math.inf

    def due(self):
        return self.clock() >= self.next_due

    def run(self, draw):
        start = self.clock()
        draw()
        end = self.clock()
        cost = max(0.0, end - start)
        wait = self.interval
        if self.budget > 0:
            wait = min(max(wait, cost * (1.0 - self.budget) / self.budget), self.max_wait)
        self.next_due = end + wait
