"""The text progress line of ``ng.fit`` (terminals, scripts, logs)."""

import sys
import time

from .train import Reporter

__all__ = ["TextProgress", "status_text"]


def status_text(history):
    """"epoch 120/500  loss 0.1234  acc 97.0%  4000 steps/s": where a run is."""
    parts = [f"epoch {history.epochs}/{history.max_epochs}", f"loss {history.loss:.4g}"]
    if history.val_losses:
        parts.append(f"val {history.val_losses[-1]:.4g}")
    if history.accuracies:
        parts.append(f"acc {history.accuracies[-1]:.1%}")
    if history.wall_time > 0:
        parts.append(f"{history.steps_per_second:.0f} steps/s")
    return "  ".join(parts)


class TextProgress(Reporter):
    """A progress line.

    On a terminal the line is rewritten in place (``\\r``) at most every
    ``interval`` seconds; elsewhere (logs, CI) a new line is printed at most
    every ``log_interval`` seconds. A final line says how training ended.
    """

    def __init__(self, stream=None, interval=0.2, log_interval=5.0, clock=time.monotonic):
        self.stream = stream if stream is not None else sys.stdout
        try:
            self.tty = bool(self.stream.isatty())
        except (AttributeError, ValueError, OSError):
            self.tty = False
        self.interval = interval if self.tty else log_interval
        self.clock = clock
        self.next_due = clock() + (0.0 if self.tty else self.interval)
        self.lines = 0

    def after_epoch(self, history):
        now = self.clock()
        if now < self.next_due:
            return
        self.next_due = now + self.interval
        text = status_text(history)
        self.stream.write("\r" + text.ljust(78) if self.tty else text + "\n")
        self.stream.flush()
        self.lines += 1

    def finish(self, history):
        end = "\r" if self.tty else ""
        self.stream.write(end + history.describe().ljust(78 if self.tty else 0) + "\n")
        self.stream.flush()
