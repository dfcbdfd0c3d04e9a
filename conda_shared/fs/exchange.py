"""A plain folder and a symlink change places: in one step (renameat2 RENAME_EXCHANGE) or two.

Linux's renameat2 with RENAME_EXCHANGE swaps two names atomically (ext4, xfs, btrfs, tmpfs;
not NFS). glibc >= 2.28 exports it; older glibc is reached through the raw syscall.
"""

from __future__ import annotations

import errno
import os
from collections.abc import Callable
from pathlib import Path

RENAME_EXCHANGE = 2
_AT_FDCWD = -100
#: the renameat2 syscall number where glibc lacks the wrapper
_SYSCALL_NUMBERS = {"x86_64": 316, "aarch64": 276, "ppc64le": 357}
#: what a kernel or file system says when it cannot exchange: fall back to two renames
_UNSUPPORTED = frozenset({errno.EINVAL, errno.ENOSYS, errno.ENOTSUP, errno.EOPNOTSUPP})


def exchange_names(first: Path, second: Path) -> None:
    """Swap the names `first` and `second` (both must exist) in one step.

    OSError(ENOSYS) when neither glibc nor the kernel offers renameat2; EINVAL or ENOTSUP
    when the file system cannot exchange.
    """
    call = _renameat2()
    if call is None:
        raise OSError(errno.ENOSYS, "renameat2 is not available here", os.fspath(first))
    if call(_AT_FDCWD, os.fsencode(first), _AT_FDCWD, os.fsencode(second), RENAME_EXCHANGE):
        import ctypes

        code = ctypes.get_errno()
        raise OSError(code, os.strerror(code), os.fspath(first), None, os.fspath(second))


def replace_with_link(link: Path, target: Path, *, displaced: Path) -> bool:
    """Put the symlink `link` in the place of the folder `target`, and move that folder to
    `displaced` (same file system). True when the switch was one step; False when the file
    system could not exchange and two renames did it (then `target` is missing between them).

    Every state in between is one the caller's journal can finish: `link` and `target` both
    present (nothing done), `target` a link and the folder under `link`'s old name, or (two
    renames) the folder at `displaced` and `link` not moved yet.
    """
    try:
        exchange_names(link, target)
    except OSError as error:
        if error.errno not in _UNSUPPORTED:
            raise
        os.rename(target, displaced)
        os.rename(link, target)
        return False
    os.rename(link, displaced)  # `link`'s name now holds the folder
    return True


def _renameat2() -> Callable[..., int] | None:
    # ctypes loads here, not with the module: every command imports fs, few exchange names.
    import ctypes
    import platform

    libc = ctypes.CDLL(None, use_errno=True)
    wrapper = getattr(libc, "renameat2", None)
    if wrapper is not None:
        return wrapper  # type: ignore[no-any-return]
    number = _SYSCALL_NUMBERS.get(platform.machine())
    if number is None:
        return None
    syscall = libc.syscall
    return lambda *args: syscall(number, *args)
