"""Writing files so that a crash never leaves half of one.

>>> from gatkit.files import atomic_write
>>> atomic_write("results/summary.json", b'{"accuracy": 0.83}')   # doctest: +SKIP
>>> atomic_write("model.pt", lambda file: torch.save(state, file))  # doctest: +SKIP
"""

from __future__ import annotations

import os
import secrets
import stat
from pathlib import Path
from typing import BinaryIO, Callable

__all__ = ["FileWriteError", "atomic_write"]


class FileWriteError(OSError):
    """The target folder cannot be created or written to, or the finished file cannot be moved
    into place. The message names the path and the reason."""


def atomic_write(path: str | os.PathLike, data: bytes | Callable[[BinaryIO], object]) -> Path:
    """Replace ``path`` with ``data`` so that readers see the old file or the new one, never half.

    Parameters
    ----------
    path : str or os.PathLike
        The file to write; missing parent folders are created.
    data : bytes or callable
        The new contents, or a function that writes them to the binary file it is given
        (for example ``lambda file: torch.save(obj, file)``).

    Returns
    -------
    pathlib.Path
        ``path``.

    Raises
    ------
    FileWriteError
        The folder cannot be created or written to, or the rename fails.
        Whatever ``data`` raises is passed on unchanged.

    Notes
    -----
    The bytes go to a hidden temporary file in the same folder (so the final rename stays
    on one file system, where ``os.replace`` is atomic), are flushed to disk with ``fsync``,
    and then replace ``path`` in one step. If anything goes wrong before that step, including
    Ctrl-C (``KeyboardInterrupt``), the temporary file is deleted and ``path`` is unchanged.
    The new file gets the permissions of the file it replaces, or the usual ones
    (``0o666`` less the umask) when there was none.
    """
    path = Path(path)
    temporary = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        # os.open, not tempfile.mkstemp: mkstemp would make the file private (0600).
        handle = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o666)
    except OSError as error:
        raise FileWriteError(f"cannot write {path}: {error.strerror or error} "
                             f"(the folder {path.parent} must exist or be creatable, and be writable)"
                             ) from error
    try:
        with os.fdopen(handle, "wb") as file:
            if callable(data):
                data(file)
            else:
                file.write(data)
            file.flush()
            os.fsync(file.fileno())
        try:
            os.chmod(temporary, stat.S_IMODE(path.stat().st_mode))
        except FileNotFoundError:
            pass  # a new file: keep the umask's permissions
        try:
            os.replace(temporary, path)
        except OSError as error:
            raise FileWriteError(f"cannot replace {path}: {error.strerror or error}") from error
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
    return path
