"""The errors a user can fix, each with a message that names the problem and the fix. The command line
prints them as one line; they live here, free of torch, so that commands which do not train start fast."""


class DataError(ValueError):
    """Input data that cannot be used."""


class RunError(ValueError):
    """A run directory (or an output path) that cannot be read or written as asked."""


class TrainingError(RuntimeError):
    """Training cannot go on (a non-finite loss); the message says where and what to change."""


class ExportError(RuntimeError):
    """An exported graph failed its checks; nothing was written."""


__all__ = ["DataError", "ExportError", "RunError", "TrainingError"]
