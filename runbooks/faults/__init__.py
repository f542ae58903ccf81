"""Faults that real backends show, injected in front of one service: an HTTP fault proxy in the
service's own network namespace (proxy.py), the netfilter redirect that puts it there
(redirect.py), and the catalogue of modes (modes.py)."""
