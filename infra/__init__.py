"""inferops infrastructure: the platform spec and the targets that deploy it."""
