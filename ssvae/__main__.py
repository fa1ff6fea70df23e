"""The command line's entry point: the `ssvae` script, and `python -m ssvae` where the script is not on PATH.
The command line is imported here, under a guard: Ctrl-C while its libraries load (onnxruntime, numpy: about
half a second) ends with one line and status 130, as it does once a command runs. Once the command has
ended, Ctrl-C, SIGTERM and SIGHUP end the process at once, quietly, with the shell's status (130, 143,
129): one arriving while the interpreter exits (torch's finalisers) printed a traceback after the command's
own last line, and an exit that hangs still stops."""

import os
import signal
import sys


def main() -> None:
    _hold_closed_descriptors()
    try:
        from ssvae.cli import main as command_line
    except (KeyboardInterrupt, ImportError) as error:
        # Ctrl-C inside an extension module's initialisation reaches Python as an ImportError
        if not isinstance(error, KeyboardInterrupt) and not isinstance(error.__context__, KeyboardInterrupt):
            raise
        print("Interrupted", file=sys.stderr)
        sys.exit(130)
    try:
        command_line(prog_name="ssvae")
    finally:
        from ssvae.files import ENDING_SIGNALS

        for signum in (signal.SIGINT, *ENDING_SIGNALS):
            if signal.getsignal(signum) is not signal.SIG_IGN:  # nohup's SIGHUP stays ignored
                signal.signal(signum, _exit_quietly)


def _hold_closed_descriptors() -> None:
    """Point standard input, output and error, where the process started with them closed (``2>&-``), at
    /dev/null: the next file opened would take the number, and what a C library (onnxruntime, torch) writes
    to "stderr" would land in that file, an output being written. Python's own streams stay None."""
    for fd in (0, 1, 2):
        try:
            os.fstat(fd)
        except OSError:
            held = os.open(os.devnull, os.O_RDWR)  # the lowest number free: fd itself, as those below are open
            if held != fd:
                os.dup2(held, fd)
                os.close(held)


def _exit_quietly(signum: int, frame: object) -> None:
    os._exit(128 + signum)


if __name__ == "__main__":
    main()
