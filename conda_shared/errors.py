"""The errors conda-shared raises on purpose: a message and the next step that fixes it."""

from __future__ import annotations


class SharedError(Exception):
    """A problem the user can fix; rendered as one line, never as a traceback."""

    exit_code = 1

    def __init__(self, message: str, next_step: str) -> None:
        self.message = message.rstrip(". ")
        self.next_step = next_step
        super().__init__(f"{self.message}. {self.next_step}")


class InputError(SharedError):
    """The command line, a file or a name given by the user is not usable."""

    exit_code = 2


class PolicyError(SharedError):
    """A site policy (for example the channel policy) refuses the command as typed."""

    exit_code = 3
