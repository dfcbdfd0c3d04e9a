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


def as_conda_error(error: SharedError) -> Exception:
    """A CondaError subclass named like ours, so conda prints it (and its --json) natively."""
    from conda.exceptions import CondaError

    error_type = type(
        type(error).__name__,
        (CondaError,),
        # Older CondaError.__str__ %-formats the message; ours may hold '%' (URLs).
        {"return_code": error.exit_code, "__str__": lambda self: str(self.message)},
    )
    return error_type(str(error))  # type: ignore[no-any-return]
