"""Prometheus, promtool, Alertmanager and amtool built from Go modules at the versions the stacks
deploy (`tools`), and the build that caches them by version in `.tools/bin` (`build`)."""
