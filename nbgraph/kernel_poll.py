"""Hearing a widget click while a cell keeps the kernel busy.

A click on the Stop button reaches the kernel as a ``comm_msg`` on its shell
channel, but the kernel reads that channel only between cells: the click
would wait until training is over. ``KernelPoller.poll()``, called from the
running cell, reads the pending shell messages itself: widget messages are
handled on the spot; anything else (the next cell's ``execute_request``...)
is handed back, in order, to the kernel's own dispatcher, to run after this
cell as usual.

This leans on ipykernel internals, named here and nowhere else:

* ``kernel.shell_channel_thread.manager.get_shell_channel_to_subshell_pair(None)
  .to_stream``: the ZMQStream through which ipykernel 7's shell-channel thread
  forwards the main shell's messages to the main thread;
* that stream's ``socket``, ``_recv_callback``, ``_recv_copy`` and
  ``_run_callback`` (tornado's ZMQStream, via pyzmq);
* ``kernel.session`` (``feed_identities``, ``unpack``, ``deserialize``),
  ``kernel.shell_handlers`` (for comm messages: the comm manager's
  ``comm_open``/``comm_msg``/``comm_close``, plain functions) and ``kernel.log``.

``TESTED_IPYKERNEL`` is the range ``tests/test_train.py`` runs against a real
kernel (and ``pyproject.toml`` declares). With another ipykernel, or another
kind of kernel, the poller stays inactive: the Stop button then acts after
the cell, and interrupting the kernel still ends training cleanly.
"""

import sys
import threading
import time

__all__ = ["KernelPoller", "running_kernel", "TESTED_IPYKERNEL"]

TESTED_IPYKERNEL = ((7, 0), (8, 0))     # >= 7.0, < 8.0
COMM_TYPES = ("comm_open", "comm_msg", "comm_close")


def running_kernel():
    """The running ipykernel Kernel, or None (plain Python, terminal IPython)."""
    ipython = sys.modules.get("IPython")
    shell = ipython.get_ipython() if ipython is not None else None
    return getattr(shell, "kernel", None) if shell is not None else None


def _tested_version():
    try:
        import ipykernel
        version = tuple(int(p) for p in ipykernel.__version__.split(".")[:2])
    except (ImportError, ValueError, AttributeError):
        return False
    low, high = TESTED_IPYKERNEL
    return low <= version < high


def _as_bytes(frame):
    return frame if isinstance(frame, bytes) else frame.bytes


class KernelPoller:
    """Handle pending widget messages while a cell runs; ``active`` says whether it can."""

    def __init__(self, kernel=None):
        self.kernel = kernel if kernel is not None else running_kernel()
        self.stream = self._find_stream(self.kernel)
        self.handled = 0      # widget messages handled here
        self.passed_on = 0    # other messages handed back to the kernel
        self._main = threading.main_thread()
        self._waiter = None

    @property
    def active(self):
        return self.stream is not None

    @staticmethod
    def _find_stream(kernel):
        if kernel is None or not _tested_version():
            return None
        try:
            pair = kernel.shell_channel_thread.manager.get_shell_channel_to_subshell_pair(None)
            stream = pair.to_stream
            stream.socket, stream._recv_callback     # noqa: B018 -- present, or inactive
        except Exception:           # a layout we do not know: do nothing
            return None
        return stream if stream._recv_callback is not None else None

    def poll(self, limit=100):
        """Handle up to ``limit`` pending messages; returns how many were read.

        Only from the main thread, which owns the stream (it runs the cell).
        """
        if self.stream is None or threading.current_thread() is not self._main:
            return 0
        import zmq
        socket, copy = self.stream.socket, getattr(self.stream, "_recv_copy", False)
        count = 0
        while count < limit:
            try:
                frames = socket.recv_multipart(zmq.NOBLOCK, copy=copy)
            except zmq.Again:
                break
            count += 1
            try:
                self._handle(frames)
            except Exception as err:    # never let a bad message break training
                self.kernel.log.error("nbgraph: could not handle a shell message: %r", err)
        return count

    def wait(self, timeout):
        """Sleep up to ``timeout`` seconds, waking as soon as a message arrives
        (then handle it): a click is heard at once, not at the next poll."""
        if self.stream is None or threading.current_thread() is not self._main:
            time.sleep(timeout)
            return 0
        import zmq
        if self._waiter is None:
            self._waiter = zmq.Poller()
            self._waiter.register(self.stream.socket, zmq.POLLIN)
        if self._waiter.poll(max(0, int(timeout * 1000))):
            return self.poll()
        return 0

    def _handle(self, frames):
        session = self.kernel.session
        idents, parts = session.feed_identities(frames, copy=False)
        # Peek at the header without deserializing: deserialize() records the
        # signature, and the kernel would then reject the message as a replay.
        msg_type = session.unpack(_as_bytes(parts[1])).get("msg_type")
        if msg_type in COMM_TYPES:
            msg = session.deserialize(parts, content=True, copy=False)
            handler = self.kernel.shell_handlers.get(msg_type)
            if handler is not None:
                handler(self.stream, idents, msg)   # the comm manager's: plain functions
            self.handled += 1
        else:
            # As the stream would have done had it read the message itself.
            self.stream._run_callback(self.stream._recv_callback, frames)
            self.passed_on += 1
