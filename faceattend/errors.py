"""The one base class of problems a user can fix, shared by the core, the command line and the window.

The command line prints these (and the store's, settings' and missing-file errors) as one line;
anything else is a bug and keeps its traceback. It is a ``ValueError`` so that callers written
against the older plain ``ValueError`` still catch it.
"""


class UserError(ValueError):
    """A problem the user can fix (a wrong argument, an unusable photo or file); one line says what."""
