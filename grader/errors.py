"""The one error family: every message is written for the person who reads it."""

from __future__ import annotations


class GraderError(Exception):
    """A problem the user can fix; the CLI prints it without a traceback and exits 2."""

    exit_code = 2


class ConfigError(GraderError):
    """An assignment, its `assignment.toml` or a command-line option is wrong."""


class SubmissionError(GraderError):
    """A submission cannot be read (missing file, unreadable archive, ...)."""


class SandboxError(GraderError):
    """The sandbox could not start or confine a worker: the machine's fault, not the code's."""


class ProtocolError(GraderError):
    """The worker sent something that is not valid wire data."""


class ReplyTooLarge(ProtocolError):
    """A worker's reply went over a cap of `[limits]`; the message says which, e.g.
    "more than 512 MiB"."""
