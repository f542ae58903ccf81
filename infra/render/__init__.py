"""Target-neutral renderings of the spec: process flags, config files, container plans."""
