"""The errors conda-shared raises on purpose: a message and the next step that fixes it."""

from __future__ import annotations

import errno
from collections.abc import Sequence

from .text import CommandLine, quoted


class SharedError(Exception):
    """A problem the user can fix; rendered as one line, never as a traceback.

    `command` is the conda-shared command (verb and arguments) that is the next step, when
    there is one: the CLI prints it the way the user called conda-shared, with their --root.
    `alternative` is a second way out, (its words, its command), spelled the same way.
    """

    exit_code = 1

    def __init__(
        self,
        message: str,
        next_step: str,
        *,
        command: Sequence[str] = (),
        alternative: tuple[str, Sequence[str]] | None = None,
    ) -> None:
        self.message = message.rstrip(". ")
        self.next_step = next_step
        self.command = tuple(command)
        self.alternative = alternative
        super().__init__(self.text(CommandLine()))

    def next_step_for(self, command_line: CommandLine) -> str:
        """The next step, with its command spelled for `command_line`."""
        if not self.command:
            return self.next_step
        step = f"{self.next_step}: {command_line(*self.command)}"
        if self.alternative is not None:
            words, command = self.alternative
            step += f", {words}: {command_line(*command)}"
        return step

    def text(self, command_line: CommandLine) -> str:
        return f"{self.message}. {self.next_step_for(command_line)}"


class InputError(SharedError):
    """The command line, a file or a name given by the user is not usable."""

    exit_code = 2


class PolicyError(SharedError):
    """A site policy (for example the channel policy) refuses the command as typed."""

    exit_code = 3


_NEXT_STEP = {
    errno.EACCES: "Run as a user who may do this, or choose a path you can write",
    errno.EPERM: "Run as a user who may do this, or choose a path you can write",
    errno.ENOTDIR: "A part of that path is a file, not a directory: choose another path",
    errno.EISDIR: "That path is a directory: name a file",
    errno.ENOSPC: "Free space on that file system, then run the command again",
    errno.EDQUOT: "Free space within your quota, then run the command again",
    errno.EROFS: "That file system is mounted read-only: choose a writable destination",
    errno.ENOLCK: "That file system has no locks (NFS without a lock daemon): choose a local "
    "destination, or ask the admin to enable NFS locking",
    errno.ELOOP: "A symlink there points back to itself: fix or remove that link",
    errno.ENAMETOOLONG: "Choose a shorter path",
    errno.EIO: "The disk reported an I/O error: check the file system, then run again",
}


def from_os_error(error: OSError) -> SharedError:
    """An OSError nobody handled closer to its cause, as one line with a next step."""
    where = " -> ".join(quoted(f) for f in (error.filename, error.filename2) if f is not None)
    reason = error.strerror or str(error)
    message = f"{reason}: {where}" if where else reason
    next_step = _NEXT_STEP.get(error.errno or 0, "Check that path, then run the command again")
    return SharedError(message, next_step)


def as_conda_error(
    error: SharedError | OSError, command_line: CommandLine | None = None
) -> Exception:
    """A CondaError subclass named like ours, so conda prints it (and its --json) natively.

    `command_line` spells the next-step command (default: `conda shared` with no --root).
    """
    from conda.exceptions import CondaError

    if isinstance(error, OSError):
        error = from_os_error(error)
    error_type = type(
        type(error).__name__,
        (CondaError,),
        # Older CondaError.__str__ %-formats the message; ours may hold '%' (URLs).
        {"return_code": error.exit_code, "__str__": lambda self: str(self.message)},
    )
    return error_type(error.text(command_line or CommandLine()))  # type: ignore[no-any-return]
