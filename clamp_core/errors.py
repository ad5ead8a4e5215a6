"""The one exception type for errors a user can cause and fix."""


class ClampError(Exception):
    """A user-facing error: the message says what was wrong and what to do.

    The CLI prints it on one line and exits non-zero; batch jobs record it and carry on.
    """
