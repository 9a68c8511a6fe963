"""The one exception type users see.

Every check of user input (arrays, files, options, checkpoints) raises :class:`InputError` with a one-line
message that names the problem and what to change. The CLI prints it as ``infogauss: error: <message>`` and
exits with status 2; library callers can catch it as a ``ValueError``.
"""


class InputError(ValueError):
    """Bad user input: the message is one line, names the problem and says what to do."""
