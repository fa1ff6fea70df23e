"""Writing files so that a process stopped mid-write never leaves half a file, and nothing is overwritten by
surprise; and one writer at a time in a folder (`sole_writer`)."""

from __future__ import annotations

import contextlib
import errno
import hashlib
import os
import shutil
import signal
import stat
import threading
import tempfile
from contextlib import contextmanager
from dataclasses import dataclass
from fnmatch import fnmatch
from pathlib import Path
from typing import IO, Any, Callable, Iterator

from filelock import FileLock, Timeout

from ssvae.errors import RunError, listed, type_name
from ssvae.runtime import user_path


@contextmanager
def atomic_open(path: Path, mode: str = "w", follow_link: bool = False, replace: bool = True) -> Iterator[IO]:
    """A file that appears at ``path`` only once it is complete: written under a temporary name in the same
    folder and renamed; on an error the temporary file is removed and ``path`` is untouched. A link at ``path``
    is replaced itself (a file of a folder ssvae writes, which a link placed there must not turn into a write
    elsewhere), or with ``follow_link`` stays, and the file it points to is the one written (the file a user
    names as --out, as the shell's ``>`` writes). A file replaced keeps its permissions and group, as after
    the shell's ``>`` (`take_access`). Without ``replace`` a file that appeared at ``path`` meanwhile (another
    job's of the same --out) is kept, and the RunError says it exists (`_publish`)."""
    shown = path
    with new_folders(shown.parent):  # the folders asked for, not those a link at path names
        path = Path(os.path.realpath(shown)) if follow_link else Path(os.path.realpath(shown.parent)) / shown.name
        try:
            fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=hidden_prefix(path.name), suffix=".tmp")
        except OSError as error:  # name the file asked for, not the temporary one
            raise OSError(error.errno, error.strerror, str(shown)) from error
        try:
            take_access(Path(tmp), path, directory=False)
            with os.fdopen(fd, mode, **({} if "b" in mode else {"newline": "", "encoding": "utf-8"})) as f:
                yield f
            _publish(Path(tmp), path, replace, shown)
        except OSError as error:
            Path(tmp).unlink(missing_ok=True)
            if error.filename is None and error.errno in (errno.ENOSPC, errno.EDQUOT, errno.EFBIG):  # name it
                raise OSError(error.errno, error.strerror, str(shown)) from error
            raise
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise


# the most bytes of a name that a temporary name beside it keeps: the system takes 255 in a name (NAME_MAX),
# and the temporary name adds a dot before, and a dot, 8 random characters and ".tmp" after
KEPT_OF_A_NAME = 200


def hidden_prefix(name: str) -> str:
    """The start of a temporary name beside the file or folder ``name``: hidden, and naming it, so that a name the
    system takes (up to 255 bytes) is not refused as too long for its temporary name's sake. A name of more than
    `KEPT_OF_A_NAME` bytes keeps its first 183 (not within a character) and 16 hex digits of a digest of the whole,
    so that two names alike in their first bytes keep lock files of their own (`_lock_places`); bytes that are
    no UTF-8 (surrogate escapes) are kept as they are, not dropped, for the same reason."""
    whole = name.encode(errors="surrogateescape")
    if len(whole) <= KEPT_OF_A_NAME:
        return f".{name}."
    kept, size = [], 0
    for char in name:
        size += len(char.encode(errors="surrogateescape"))
        if size > KEPT_OF_A_NAME - 17:
            break
        kept.append(char)
    return "." + "".join(kept) + "~" + hashlib.sha256(whole).hexdigest()[:16] + "."


def _publish(tmp: Path, path: Path, replace: bool, shown: Path) -> None:
    """Rename the complete file ``tmp`` to ``path``; without ``replace``, never over a file there (one that
    appeared after the check before the work), which a hard link tells atomically. ``shown``: the path as the
    user gave it."""
    if replace:
        os.replace(tmp, path)
        return
    try:
        os.link(tmp, path)
    except FileExistsError:
        raise _taken(shown) from None
    except OSError:  # no hard links here (FAT, some network file systems)
        _publish_exclusively(tmp, path, shown)
        return
    with contextlib.suppress(OSError):  # published: a temporary name left over is no failure
        tmp.unlink()


def _publish_exclusively(tmp: Path, path: Path, shown: Path) -> None:
    """`_publish` without hard links: an empty file made at ``path`` first (O_EXCL: only where none is), then
    the rename over it, or the empty file removed again."""
    try:
        os.close(os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY))
    except FileExistsError:
        raise _taken(shown) from None
    try:
        os.replace(tmp, path)
    except BaseException:
        path.unlink(missing_ok=True)
        raise


@contextmanager
def new_folders(folder: Path) -> Iterator[None]:
    """``folder`` and the missing folders above it, made now and removed again (those left empty) where the
    block fails: a command that fails leaves no trace of the path it was given (a mistyped --out or
    --data-dir)."""
    made = []  # those this call made, one at a time: not one another process made meanwhile, nor one ".." passes
    try:
        for level in (*reversed(folder.parents), folder):
            if level.is_dir():  # asked first: macOS answers mkdir("/") with EISDIR, Windows a drive with EACCES
                continue
            try:
                level.mkdir()
            except OSError:
                if not level.is_dir():  # a file in the way, or no permission: the error says which
                    raise
                continue  # another process made it meanwhile
            made.append(level)
        yield
    except BaseException:
        for f in reversed(made):
            with contextlib.suppress(OSError):
                f.rmdir()
        raise


def usual_mode(directory: bool) -> int:
    """The permissions ``open`` or ``mkdir`` would give a new file or folder under the process's umask. The
    temporary names above are created owner-only (0600, 0700), which would otherwise stay after the rename and
    hide predictions, images and model folders from other users, services and containers."""
    umask = os.umask(0)
    os.umask(umask)
    return (0o777 if directory else 0o666) & ~umask


def take_access(path: Path, replaced: Path, directory: bool) -> None:
    """Give ``path``, about to replace ``replaced``, that one's permissions and group (a group the user is not
    in stays the user's), so that a file or folder kept private stays so; where nothing is replaced, the
    usual ones of a new file or folder (`usual_mode`), as where a link is replaced (not what it names). A file
    takes no setuid or setgid bit."""
    try:
        status = replaced.stat() if not replaced.is_symlink() else None
    except FileNotFoundError:
        status = None
    if status is None:
        path.chmod(usual_mode(directory))
        return
    if hasattr(os, "chown"):  # Windows has no groups to keep
        with contextlib.suppress(PermissionError):
            os.chown(path, -1, status.st_gid)
    path.chmod(stat.S_IMODE(status.st_mode) & (0o7777 if directory else 0o777))


def write_atomic(path: Path, data: bytes | str, follow_link: bool = False, replace: bool = True) -> None:
    """Write ``data`` to ``path`` atomically (see `atomic_open`)."""
    with atomic_open(path, "wb", follow_link, replace) as f:
        f.write(data.encode() if isinstance(data, str) else data)


# Hidden subfolders of a run folder where its earlier files wait while new ones are written over them
# (`OutputFolder.replacing`): named the first while they move there, the second once all have, the third
# while they are deleted once the new files stand in for them.
SETTING_ASIDE, SET_ASIDE, DISCARDED = ".setting-aside", ".set-aside", ".discarded"
# A run folder's lock inside it, held with the one beside it (`sole_writer`): neither ssvae's file nor the user's.
LOCK_INSIDE = ".ssvae.lock"
HELD_HERE: set[Path] = set()  # the lock files this process holds, which `being_written` does not count


@dataclass(frozen=True)
class OutputFolder:
    """A folder ssvae writes as a whole (a run directory, a model folder): what to call it in messages and
    the names of the files it writes there, the first of which it always writes. ``sets_aside``: new files
    are written over earlier ones in the folder itself (`replacing`), as a run's are."""

    kind: str
    files: tuple[str, ...]
    sets_aside: bool = False

    def owns(self, entry: Path) -> bool:
        """Whether ssvae writes ``entry`` in such a folder: one of its files, the temporary file of an
        interrupted write of one (`atomic_open`'s names), or a subfolder of `replacing` (no link) that holds
        only such files."""
        if entry.is_dir():
            return (self.sets_aside and not entry.is_symlink() and entry.name in (SETTING_ASIDE, SET_ASIDE, DISCARDED)
                    and all(not inner.is_dir() and self.owns(inner) for inner in entry.iterdir()))
        return entry.is_file() and any(fnmatch(entry.name, pattern)
                                       for name in self.files for pattern in (name, f".{name}.*.tmp"))

    def foreign(self, path: Path) -> list[str]:
        """What in the folder ``path`` ssvae would not have written there: subfolders and files of other
        names, sorted."""
        return sorted(f"{p.name}/" if p.is_dir() else p.name for p in _entries(path) if not self.owns(p))

    def check(self, path: Path, replace: bool) -> None:
        """Refuse to overwrite an existing output folder unless ``replace``, which takes only a folder of this
        kind: one that holds its first file (or holds it aside: `replacing`) and nothing ssvae would not write
        there (whose files the writer removes or swaps), so a mistyped --out never deletes a user's files."""
        _check_parents(path)
        if path.is_symlink() and not path.exists():  # no folder is made at the far end of a link
            raise RunError(f"{path} is a link to {os.path.realpath(path)}, which does not exist: make that folder or "
                           f"give --out another name")
        if not path.exists() or (path.is_dir() and not _entries(path)):
            return
        if not path.is_dir():
            raise RunError(f"{path} is a file, not a folder: give --out a new name for the {self.kind}")
        # said as the answer to --force where it was given, else as what --force would do
        kept = "so --force (replace=True) leaves it alone" if replace else "and --force (replace=True) would keep it"
        if not any((where / self.files[0]).is_file() for where in (path, path / SETTING_ASIDE, path / SET_ASIDE)):
            if not self.foreign(path):  # ssvae's files alone, its first removed since: the user's to settle
                held = listed(sorted(p.name for p in _entries(path)), 3)
                raise RunError(f"{path} holds files of a {self.kind} ({held}) but not its {self.files[0]}, {kept}: "
                               f"restore {self.files[0]}, delete the folder, or choose another --out")
            raise RunError(f"{path} is not a {self.kind} written by ssvae (it has no {self.files[0]}), {kept}: "
                           f"choose another --out")
        if foreign := self.foreign(path):
            raise RunError(f"{path} holds what ssvae does not write in a {self.kind} ({listed(foreign, 3)}), {kept}: "
                           f"move those out or choose another --out")
        if not replace:
            raise _taken(path)

    @contextmanager
    def replacing(self, path: Path) -> Iterator[Callable[[], None]]:
        """Write new files into ``path`` in place of those ssvae wrote there, keeping the folder itself (its
        permissions, a link to it, a mount). The earlier files wait in a hidden subfolder (moved, not copied:
        the same file system) until the writer calls the function yielded, once its output can stand in for
        them (a run's first checkpoint; later calls do nothing); if it stops before (an error, Ctrl-C), its
        files are removed and the earlier ones put back, and a folder it made is removed, so that training
        there again needs no --force. What a writer killed before left half-done is put right first: the
        subfolder's name says whether the files beside it are the earlier ones (`SETTING_ASIDE`), new ones
        (`SET_ASIDE`), or new ones that stand in for them (`DISCARDED`)."""
        self._put_back(path)
        made, started, kept = not path.exists(), False, False

        def keep_new() -> None:
            nonlocal kept
            if kept:
                return
            kept = True  # first: a signal while they are deleted must not put back what is half gone
            if (path / SET_ASIDE).is_dir():
                (path / SET_ASIDE).rename(path / DISCARDED)
                shutil.rmtree(path / DISCARDED, ignore_errors=True)

        try:
            earlier = [entry for entry in path.iterdir() if self.owns(entry)] if path.is_dir() else []
            if earlier:
                (path / SETTING_ASIDE).mkdir()
                for entry in earlier:
                    entry.rename(path / SETTING_ASIDE / entry.name)
                (path / SETTING_ASIDE).rename(path / SET_ASIDE)
            started = True  # what the folder holds beside SET_ASIDE from now on is the writer's
            yield keep_new
        except BaseException:
            if not kept:
                with uninterrupted():  # a second Ctrl-C would leave the earlier files half put back
                    self._put_back(path, remove_new=started)
                    if made and path.is_dir() and not any(path.iterdir()):
                        path.rmdir()
            raise
        keep_new()

    def _put_back(self, path: Path, remove_new: bool = False) -> None:
        """The files `replacing` set aside in ``path``, back in their place, and new files beside them removed
        (with ``remove_new``, also where none were set aside: a writer's own files in a folder it found
        free); what a discard cut short left, removed."""
        shutil.rmtree(path / DISCARDED, ignore_errors=True)
        if (path / SET_ASIDE).is_dir() or (remove_new and path.is_dir()):
            for entry in path.iterdir():
                if entry.is_file() and self.owns(entry):
                    entry.unlink()
        if (path / SET_ASIDE).is_dir():
            (path / SET_ASIDE).rename(path / SETTING_ASIDE)
        if (path / SETTING_ASIDE).is_dir():
            for entry in (path / SETTING_ASIDE).iterdir():
                entry.rename(path / entry.name)
            (path / SETTING_ASIDE).rmdir()


# Signals that end a process and that ssvae takes as Ctrl-C (`ssvae.cli`): SIGTERM (docker stop, SLURM,
# systemd) and SIGHUP (a terminal or ssh session closed), where the system has it
ENDING_SIGNALS = tuple(getattr(signal, name) for name in ("SIGTERM", "SIGHUP") if hasattr(signal, name))


@contextmanager
def uninterrupted() -> Iterator[None]:
    """Ctrl-C and the `ENDING_SIGNALS` held back until the block ends, then each kind held delivered once, to
    the handler set before: for undoing a write that a first one stopped, which a second (a user pressing
    again) would leave half undone. The handler set meanwhile passes signals on as the one before would once
    the block is over, so one that arrives while the handlers are put back is not lost, nor is a handler left
    behind that swallows signals. Only Python's main thread sets handlers; elsewhere, and where a handler was
    not set from Python, the block runs as it is."""
    signums = (signal.SIGINT, *ENDING_SIGNALS)
    handlers = {signum: signal.getsignal(signum) for signum in signums}
    if threading.current_thread() is not threading.main_thread() or None in handlers.values():
        yield
        return
    held: list[int] = []
    holding = True

    def hold(signum: int, frame: Any) -> None:
        if holding:
            held.append(signum)
        else:
            _deliver(signum, handlers[signum], frame)

    try:
        for signum in signums:
            signal.signal(signum, hold)
        yield
    finally:
        holding = False
        for signum, handler in handlers.items():
            signal.signal(signum, handler)
        _deliver_each(list(dict.fromkeys(held)), handlers)


def _deliver_each(signums: list[int], handlers: dict[int, Any]) -> None:
    """Deliver each of ``signums`` to its handler in ``handlers``, even where an earlier one raised."""
    if signums:
        try:
            _deliver(signums[0], handlers[signums[0]], None)
        finally:
            _deliver_each(signums[1:], handlers)


def _deliver(signum: int, handler: Any, frame: Any) -> None:
    """What ``handler``, as `signal.getsignal` gives it, does with ``signum``: call it, ignore it, or the
    system's default (end the process)."""
    if callable(handler):
        handler(signum, frame)
    elif handler == signal.SIG_DFL:
        signal.signal(signum, signal.SIG_DFL)
        signal.raise_signal(signum)


def _entries(path: Path) -> list[Path]:
    """What the folder ``path`` holds, but for its lock (`LOCK_INSIDE`), which a writer may hold there now."""
    return [entry for entry in path.iterdir() if entry.name != LOCK_INSIDE]


def given_path(path: str | os.PathLike, name: str) -> Path:
    """``path`` as a Path (`user_path`: ``~`` the home folder), or a RunError for an empty one, which pathlib
    reads as the current folder (the command line refuses it before; this is the Python API's check), or one
    of another type."""
    if not isinstance(path, (str, os.PathLike)):
        raise RunError(f"{name} must be a path, got {type_name(path)}")
    if os.fspath(path) == "":
        raise RunError(f"{name} is an empty path: give the name of a folder")
    return user_path(path)


@contextmanager
def sole_writer(folder: Path | None, inside: bool = True) -> Iterator[None]:
    """Hold ``folder``'s lock while writing it (None: nothing to hold), so that a second writer, another process
    given the same folder (by any path or link), is refused instead of mixing its files in. The lock is held in
    each place of `_lock_places` that takes a file: beside the folder as given and beside the folder a link
    names, and, with ``inside`` (a folder written in place, as a run's is, not swapped), inside the folder
    where it exists (`LOCK_INSIDE`). Two writers of which one cannot write beside the folder (a mount point
    such as docker's -v, a folder of one's own in another user's) so still meet in one place. The files are
    removed at the end (a killed writer's stay, and the system releases their locks). The folders made to hold
    the lock are removed after where they are left empty (the writer stopped before writing the folder): a
    mistyped --out leaves no trace."""
    if folder is None:
        yield
        return
    given = Path(os.path.abspath(folder))  # "." too has a name and a parent
    missing = [parent for parent in given.parents if not parent.exists()]  # deepest first
    given.parent.mkdir(parents=True, exist_ok=True)
    try:
        with contextlib.ExitStack() as locks:
            places = _lock_places(folder, inside)
            denied = [error for place in places if (error := locks.enter_context(_lock(place, folder)))]
            if len(denied) == len(places):
                where = "beside the folder it writes or in it" if inside else "beside the folder it writes"
                raise RunError(f"{folder}: ssvae keeps a lock file {where}, and none of those places takes one "
                               f"({denied[0].strerror}): make the folder writable, or give another")
            yield
    finally:
        for parent in missing:  # one that holds anything fails, as then do those above it
            with contextlib.suppress(OSError):
                parent.rmdir()


def _lock_places(folder: Path, inside: bool = True) -> list[Path]:
    """The lock files of ``folder`` (`sole_writer`), as real paths, each once: beside it as given, beside the
    folder a link names (where that folder's parent is there) and, with ``inside``, inside it: ``.NAME.lock``,
    a long name cut as `hidden_prefix` cuts it."""
    given, named = Path(os.path.abspath(folder)), Path(os.path.realpath(folder))
    places = [given.parent / f"{hidden_prefix(given.name)}lock"]
    places += [named.parent / f"{hidden_prefix(named.name)}lock"] if named != given and named.parent.is_dir() else []
    places += [named / LOCK_INSIDE] if inside and named.is_dir() else []
    # a link among the parents resolved, but not one at the lock file's own name, which `_lock` refuses
    return list(dict.fromkeys(Path(os.path.realpath(place.parent)) / place.name for place in places))


@contextmanager
def _lock(place: Path, folder: Path) -> Iterator[OSError | None]:
    """The lock file ``place`` held; a RunError naming ``folder`` where another process holds it. Yields the
    error where ``place`` takes no file (no permission, a read-only mount), None where it is held. A link or
    a folder by the lock file's name is refused: the lock would open (and truncate) the file a link names,
    and then delete it."""
    if place.is_symlink() or (place.exists() and not place.is_file()):
        raise RunError(f"{place} is a {'link' if place.is_symlink() else 'folder'} where ssvae keeps a lock file "
                       f"of {folder} (ssvae makes no such thing): remove it, then run the command again")
    lock, denied = FileLock(place), None
    try:
        lock.acquire(timeout=0)
    except Timeout:
        raise RunError(f"{folder} is being written by another ssvae process now (a training, a --resume of it, "
                       f"or an export): let it finish, or choose another --out") from None
    except OSError as error:
        if error.errno not in (errno.EACCES, errno.EPERM, errno.EROFS):
            raise
        denied = error
    if denied is not None:
        yield denied
        return
    HELD_HERE.add(place)
    try:
        yield None
    finally:
        HELD_HERE.discard(place)
        lock.release()
        place.unlink(missing_ok=True)


def being_written(folder: Path) -> bool:
    """Whether another process holds ``folder``'s lock now (`sole_writer`): a training or an export writing it.
    Only lock files already there are tried, so that a reader leaves none behind; this process's own are not
    (a resume reading the folder it holds)."""
    return any(place.is_file() and place not in HELD_HERE and _locked_elsewhere(place)
               for place in _lock_places(folder))


def _locked_elsewhere(place: Path) -> bool:
    """Whether another process holds the lock file ``place``: asked with a shared lock on a read-only open, so
    that a reader may ask of another user's lock file (POSIX); elsewhere by taking it (`FileLock`)."""
    try:
        import fcntl
    except ImportError:  # Windows
        lock = FileLock(place)
        try:
            lock.acquire(timeout=0)
        except Timeout:
            return True
        except OSError:
            return False
        lock.release()
        return False
    try:
        fd = os.open(place, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
    except OSError:  # gone meanwhile, or unreadable: nothing to tell
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        return False
    except BlockingIOError:
        return True
    finally:
        os.close(fd)  # which releases a shared lock taken


def check_writable(out: Path, follow_link: bool = True, kind: str = "folder", in_place: bool = False,
                   fix: str = "give --out a place you may write to", option: str = "--out") -> None:
    """A RunError naming ``out`` where the folder that would hold it (its nearest existing parent; with
    ``follow_link``, that of the folder a link names) takes no new ``kind`` (folder or file), with the ``fix``
    and the ``option`` that gave it;
    ``in_place``: a folder written in place (a run's), whose files go into ``out`` itself where it exists.
    Found by making a folder and removing it, since permissions alone miss read-only mounts and /proc."""
    target = out.resolve() if follow_link and out.is_symlink() else out
    where = next(parent for parent in Path(os.path.abspath(target)).parents if parent.exists())
    where = out if in_place and out.is_dir() else where
    try:
        os.rmdir(tempfile.mkdtemp(dir=where, prefix=hidden_prefix(out.name)))
    except OSError as error:
        raise RunError(f"{option} {out}: {where} takes no new {kind} ({error.strerror}): {fix}") from None


def check_output(path: Path, replace: bool, streamable: bool = False) -> None:
    """Refuse to overwrite an existing output file unless ``replace``, or to write where no file can be made.
    A file output never replaces a folder, a device, a pipe or a socket (whose replacement by a file would
    break what else uses it: for a ``streamable`` output, the refusal says that --out - streams it); a link to
    a file not yet written is taken, since a write goes through it (`atomic_open`)."""
    _check_parents(path)
    if path.is_symlink() and not path.exists():
        _check_dangling_link(path, replace)
    elif path.exists():
        _check_replaceable(path, replace, streamable)
    check_writable(path, kind="file")  # before the work: /proc took predictions that could then not be saved


def _check_replaceable(path: Path, replace: bool, streamable: bool) -> None:
    """An existing ``path`` is replaced only where it is a regular file and ``replace`` says so."""
    if path.is_dir():
        raise RunError(f"{path} is a folder: give --out the name of the file to write")
    if not path.is_file():
        stream = f", or - for standard output (then > {path} or | a reader)" if streamable else ""
        raise RunError(f"{path} is not a regular file (a device, pipe or socket): give --out the name of a file "
                       f"to write{stream}")
    if not replace:
        raise _taken(path)


def _check_dangling_link(path: Path, replace: bool) -> None:
    """A link to a file not yet there is written through with ``replace`` only, since the link is there
    already, and only where the folder it names is: no folder is made at the far end of a link."""
    target = Path(os.path.realpath(path))
    if not target.parent.is_dir():
        raise RunError(f"{path} is a link to {target}, whose folder does not exist: make that folder or give "
                       f"--out another name")
    if not replace:
        raise RunError(f"{path} is a link to {target}, which does not exist yet: pass --force (in Python: "
                       f"replace=True) to write the file it names, or give --out another name")


def _check_parents(path: Path) -> None:
    if file := next((parent for parent in path.parents if parent.exists() and not parent.is_dir()), None):
        raise RunError(f"{file} is a file, so it cannot hold {path}: give --out a path through folders")
    if link := next((parent for parent in path.parents if parent.is_symlink() and not parent.exists()), None):
        raise RunError(f"{link} is a link to {os.path.realpath(link)}, which does not exist: make that folder or "
                       f"give --out another path")


def _taken(path: Path) -> RunError:
    return RunError(f"{path} already exists: choose another --out or pass --force to replace it (in Python: "
                    f"another out, or replace=True)")


__all__ = ["atomic_open", "write_atomic", "being_written", "check_output", "check_writable", "given_path",
           "hidden_prefix", "take_access", "OutputFolder", "SET_ASIDE", "sole_writer", "new_folders"]
