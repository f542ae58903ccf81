"""The live stack on a real Docker engine: engine start-up, preflight checks, compose bring-up."""
