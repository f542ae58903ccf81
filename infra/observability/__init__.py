"""Observability as code: scrape config, alert rules, Alertmanager routes, Grafana dashboards."""
