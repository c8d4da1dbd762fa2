"""Domain errors: every bad input ends in one of these, with a message naming what is wrong."""

from __future__ import annotations


class LstmvisError(Exception):
    """Base class; the CLI prints ``str(error)`` as one line on stderr and exits non-zero."""


class InputError(LstmvisError):
    """Input data (files, arrays, config keys, values) is malformed or inconsistent."""


class QueryError(LstmvisError):
    """A query names an unknown source, cell or track, or has out-of-range parameters."""


class SqlRejected(LstmvisError):
    """A user SQL statement tried to write, attach, install or touch files, or hit a limit."""
