"""Cancelling a job that runs in another thread: a token the job checks between its steps.

Pure Python (no Qt), so core functions can take a token too. The GUI's worker sets it when the
user closes a dialog or switches source; the job stops at its next check instead of the GUI
thread waiting for it to end.
"""

from __future__ import annotations

import threading


class Cancelled(Exception):  # noqa: N818 - a state the job is in, not an error
    """Raised by :meth:`CancelToken.raise_if_cancelled`; the worker ends the job quietly on it."""


class CancelToken:
    """Set once by whoever started the job; read by the job between steps (per photo, batch...)."""

    def __init__(self) -> None:
        self._event = threading.Event()

    def cancel(self) -> None:
        self._event.set()

    @property
    def cancelled(self) -> bool:
        return self._event.is_set()

    def raise_if_cancelled(self) -> None:
        """Stop the job here (raises :class:`Cancelled`) if it was cancelled."""
        if self._event.is_set():
            raise Cancelled

    @property
    def event(self) -> threading.Event:
        """The event behind the token, for core APIs that take one (``Trainer.run(cancel)``)."""
        return self._event
