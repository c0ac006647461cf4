"""Helpers for error messages, importable without Paddle (the converter loads Paddle only when needed)."""


def preview(items, limit=8):
    """The first `limit` items, comma-separated, and how many more there are."""
    items = list(items)
    more = f', ... (+{len(items) - limit} more)' if len(items) > limit else ''
    return ', '.join(map(str, items[:limit])) + more
