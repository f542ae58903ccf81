"""Test doubles: stand-ins for servers that cannot run on this machine (named as doubles everywhere)."""
