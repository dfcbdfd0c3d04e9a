"""Every file mutation conda-shared makes: atomic writes, atomic pointer swaps, locks, bounds.

One package so the rest of conda-shared says `fs.atomic_write(...)` and never touches a file
itself; its modules follow the seams: single files, locks, whole trees, journaled sets.
"""

from __future__ import annotations

from .exchange import exchange_names, replace_with_link
from .files import (
    append_stream,
    atomic_symlink,
    atomic_write,
    default_dir_mode,
    default_file_mode,
    encoded,
    ensure_within,
    is_within,
    make_dirs,
    make_symlink,
    publish_file,
    remove_file,
    remove_files,
    remove_symlink,
    remove_write_by_others,
    set_owner_and_mode,
    sync_dir,
    temp_sibling,
    temp_siblings,
    write_file,
    write_new_file,
)
from .journal import (
    finish_interrupted,
    journal_path,
    replace_together,
)
from .locks import (
    LockHeld,
    append_line,
    current_user,
    exclusive_lock,
    lock_holder,
    user_name,
)
from .trees import (
    change_owner_tree,
    link_tree,
    make_new_dir,
    private_dir_beside,
    private_temp_dir,
    publish_dir,
    remove_tree,
    rename_dir,
    writable_by_owner_only,
)

__all__ = [
    "LockHeld",
    "append_line",
    "append_stream",
    "atomic_symlink",
    "atomic_write",
    "change_owner_tree",
    "current_user",
    "default_dir_mode",
    "default_file_mode",
    "encoded",
    "ensure_within",
    "exchange_names",
    "exclusive_lock",
    "finish_interrupted",
    "is_within",
    "journal_path",
    "link_tree",
    "lock_holder",
    "make_dirs",
    "make_new_dir",
    "make_symlink",
    "private_dir_beside",
    "private_temp_dir",
    "publish_dir",
    "publish_file",
    "remove_file",
    "remove_files",
    "remove_symlink",
    "remove_tree",
    "remove_write_by_others",
    "rename_dir",
    "replace_together",
    "replace_with_link",
    "set_owner_and_mode",
    "sync_dir",
    "temp_sibling",
    "temp_siblings",
    "user_name",
    "writable_by_owner_only",
    "write_file",
    "write_new_file",
]
