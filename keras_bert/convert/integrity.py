"""File integrity for checkpoints and weights: atomic writes, leftovers of killed writes, and one-line
errors for damaged files.

Atomic writes go to `.tmp-<pid>-<random><suffix>` in the target's folder and are `os.replace`d over
the target, so a kill leaves the old file or the new one, never a torn one; a SIGKILL during the
write leaves the temporary file, which `remove_stale_temporaries` deletes when training starts
again. Only names of exactly that pattern are touched (plus the names earlier versions used), and
never one whose writing process is still alive.

Only the standard library here: training, tasks and export may all import it.
"""

from __future__ import annotations

import contextlib
import os
import re
import struct
import tempfile
import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import BinaryIO

TEMP_PREFIX = ".tmp-"
RESTART_ADVICE = "remove it to start over, or restore a backup copy of it"
REDOWNLOAD_ADVICE = "re-download or re-convert the weights"

# `.tmp-<pid>-<mkstemp letters><suffix>`: ours. Earlier versions wrote `.tmp-<8 letters>.npz`
# (training state) and `.<name>.<8 letters>` (safetensors), without the writer's pid.
_OURS = re.compile(r"\.tmp-(?P<pid>\d+)-[a-z0-9_]+\.(?:npz|keras|safetensors|json)")
_EARLIER = re.compile(r"\.tmp-[a-z0-9_]{8}\.npz|\.model\.safetensors\.[a-z0-9_]{8}")


class CorruptCheckpointError(ValueError):
    """A checkpoint or weights file is truncated or unreadable. The message is one line: the
    path, what is wrong with it, and what to do."""

    def __init__(self, path: str | os.PathLike, problem: str, advice: str) -> None:
        self.path, self.problem, self.advice = str(path), one_line(problem), advice
        super().__init__(f"{self.path}: {self.problem}; {advice}.")


def one_line(text: object) -> str:
    """`text` with every run of whitespace (newlines included) made one space."""
    return " ".join(str(text).split())


@contextlib.contextmanager
def atomic_file(path: str | os.PathLike, suffix: str | None = None) -> Iterator[Path]:
    """Yields a temporary path beside `path`; when the block ends without error the file there is
    fsync'ed and renamed to `path`, otherwise it is removed. `suffix` defaults to `path`'s
    (some writers, e.g. Keras' `.keras`, check it)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(
        prefix=f"{TEMP_PREFIX}{os.getpid()}-", suffix=suffix or path.suffix, dir=path.parent
    )
    os.close(fd)
    try:
        yield Path(tmp)
        with open(tmp, "rb+") as f:
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_atomically(path: str | os.PathLike, write: Callable[[BinaryIO], object]) -> None:
    """Calls `write(file)` on a temporary file beside `path`, then renames it to `path`."""
    with atomic_file(path) as tmp, open(tmp, "wb") as f:
        write(f)


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return False  # Our own writes are never in flight when a run starts.
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # Someone else's live process.
    return True


def remove_stale_temporaries(
    folder: str | os.PathLike, log: Callable[[str], object] = print
) -> list[Path]:
    """Deletes the temporary files that killed atomic writes left in `folder`; returns them.

    Says so on one `log` line when there were any. A file whose writer (the pid in its name) is
    still running is kept: another process may be writing there right now.
    """
    folder = Path(folder)
    if not folder.is_dir():
        return []
    removed, kept = [], []
    for entry in sorted(folder.iterdir()):
        ours = _OURS.fullmatch(entry.name)
        if not (ours or _EARLIER.fullmatch(entry.name)) or not entry.is_file():
            continue
        if ours and _alive(int(ours["pid"])):
            kept.append(entry.name)
            continue
        entry.unlink(missing_ok=True)
        removed.append(entry)
    if removed:
        names = ", ".join(p.name for p in removed)
        log(
            f"Removed {len(removed)} leftover temporary file(s) of an interrupted save in {folder}: {names}"
        )
    if kept:
        log(
            f"Kept temporary file(s) in {folder} that a running process is writing: {', '.join(kept)}"
        )
    return removed


def zip_damage(path: str | os.PathLike) -> str | None:
    """What is wrong with a `.npz` / `.keras` zip archive that failed to open or read, in a few
    words: empty, not a zip archive, truncated (how many bytes, and the member cut); None when its
    layout looks whole (then a member's contents are damaged)."""
    path = Path(path)
    size = path.stat().st_size
    if size == 0:
        return "empty file (0 bytes)"
    with open(path, "rb") as f:
        data = f.read()
    if not data.startswith(b"PK\x03\x04"):
        return f"not a zip archive ({size} bytes starting with {data[:8]!r})"
    offset = 0
    while data.startswith(b"PK\x03\x04", offset):  # The local header of each member, in order.
        if offset + 30 > size:
            return f"truncated: {size} bytes, cut inside the header of a member at byte {offset}"
        (flags,) = struct.unpack_from("<H", data, offset + 6)
        (compressed,) = struct.unpack_from("<I", data, offset + 18)
        name_len, extra_len = struct.unpack_from("<HH", data, offset + 26)
        name_end = offset + 30 + name_len
        if name_end + extra_len > size:
            return f"truncated: {size} bytes, cut inside the header of a member at byte {offset}"
        name = data[offset + 30 : name_end].decode("utf-8", "replace")
        if compressed == 0xFFFFFFFF:  # ZIP64: the sizes are in the extra field.
            compressed = _zip64_compressed_size(data[name_end : name_end + extra_len])
        if flags & 0x8 or compressed is None:
            break  # Sizes only after the data (streamed): cannot walk further.
        end = name_end + extra_len + compressed
        if end > size:
            return f"truncated: {size} of at least {end} bytes (member {name!r} is cut)"
        offset = end
    if offset == size:
        return f"truncated: {size} bytes, the archive's directory (at its end) is missing"
    # The directory: an entry per member, the ZIP64 end record and locator, the end record.
    while data.startswith(b"PK\x01\x02", offset) and offset + 46 <= size:
        offset += 46 + sum(struct.unpack_from("<HHH", data, offset + 28))
    if data.startswith(b"PK\x06\x06", offset) and offset + 12 <= size:
        offset += 12 + struct.unpack_from("<Q", data, offset + 4)[0]
    if data.startswith(b"PK\x06\x07", offset):
        offset += 20
    if data.startswith(b"PK\x05\x06", offset) and offset + 22 <= size:
        offset += 22 + struct.unpack_from("<H", data, offset + 20)[0]
        if offset <= size:
            return None
    return f"truncated: {size} bytes, the archive's directory (at its end) is cut"


def check_zip_archive(path: str | os.PathLike, advice: str) -> None:
    """Raises `CorruptCheckpointError` when the zip archive at `path` cannot be opened (reads only
    its directory, not the members); does nothing for a path that is not a file."""
    if not Path(path).is_file():
        return
    try:
        with zipfile.ZipFile(path):
            pass
    except (zipfile.BadZipFile, EOFError, OSError) as error:
        raise CorruptCheckpointError(path, zip_damage(path) or one_line(error), advice) from error


def _zip64_compressed_size(extra: bytes) -> int | None:
    position = 0
    while position + 4 <= len(extra):
        header_id, length = struct.unpack_from("<HH", extra, position)
        if header_id == 0x0001 and length >= 16:
            return struct.unpack_from("<Q", extra, position + 12)[0]
        position += 4 + length
    return None


__all__ = [
    "CorruptCheckpointError",
    "atomic_file",
    "check_zip_archive",
    "one_line",
    "remove_stale_temporaries",
    "write_atomically",
    "zip_damage",
]
