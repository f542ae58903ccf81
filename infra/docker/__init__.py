"""The Docker engine this project talks to: found, or started on a Debian machine (daemon.py)."""
