"""E-mail digests: what waits for each person, at most once an hour (docs/notifications.md)."""
