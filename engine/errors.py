"""One exception for every problem the user can fix: a path, a flag value, a file's contents.

Its message names the path or flag and says what to change. Each command's ``main()`` catches
``UserError`` once and exits with ``error: <message>`` (status 1); any other exception is a bug and
keeps its traceback. Subclasses also derive from the built-in type a caller may expect
(``FileNotFoundError``, ``ValueError``), so library code stays usable without this module.
Importable without Paddle.
"""


class UserError(Exception):
    """The user must change something; the message names it and the fix."""


class MissingInput(UserError, FileNotFoundError):
    """A file or folder the options name does not exist."""


class BadInput(UserError, ValueError):
    """An option value or a file's contents that cannot work."""


def preview(items, limit=8):
    """The first `limit` items, comma-separated, and how many more there are."""
    items = list(items)
    more = f', ... (+{len(items) - limit} more)' if len(items) > limit else ''
    return ', '.join(map(str, items[:limit])) + more


def counted_problems(*kinds):
    """'N <what>: a, b, ...' for each (what, items) pair with items: the lists of offending keys that
    checkpoint loading and conversion report."""
    return [f'{len(items)} {what}: {preview(items)}' for what, items in kinds if items]
