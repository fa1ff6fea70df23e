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
            signal.signal(signum, _exit_quietly)


def _exit_quietly(signum: int, frame: object) -> None:
    os._exit(128 + signum)


if __name__ == "__main__":
    main()
