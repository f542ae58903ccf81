"""Reports a person reads: `reports/<stack>/<date>-<kind>.html` (self-contained, plots embedded as
PNG) and `.md` (plots beside it as PNG files), written by runbook.daily-check and weekly-check.

`series` asks Prometheus for the series behind each SLO item, `plots` draws them (matplotlib,
Agg: no display needed), `render` turns findings and plots into HTML and Markdown, `write` puts
them under the reports directory (`INFEROPS_REPORTS_DIR` overrides it, as tests do).
"""

__all__: list[str] = []
