"""A report as HTML (self-contained: CSS inline, plots as base64 PNG) and as Markdown.

Both show the same things: the verdict and its tally, the table (check, subject, verdict, value,
normal range), the evidence per item (how it was measured and the figures behind the value),
and the plots with the PromQL behind each. Jinja2 autoescapes the HTML (finding details hold
log lines and URLs).
"""

from __future__ import annotations

import base64
import json
from typing import Any

from runbooks.reports.model import Report

__all__ = ["html", "markdown"]

COLOURS = {"ok": "#1e8449", "warn": "#b9770e", "fail": "#c0392b", "n/a": "#7f8c8d"}

HTML = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{{ r.title }}</title>
<style>
body { font-family: "DejaVu Sans", Arial, sans-serif; margin: 24px; color: #222; background: #fff; }
h1 { font-size: 20px; margin: 0 0 4px; } h2 { font-size: 16px; margin-top: 28px; }
.meta { color: #555; font-size: 13px; }
.verdict { display: inline-block; padding: 2px 10px; border-radius: 4px; color: #fff; font-weight: bold; }
table.findings { border-collapse: collapse; margin-top: 12px; width: 100%; font-size: 13px; }
table.findings th { background: #2c3e50; color: #fff; text-align: left; padding: 6px 8px; }
table.findings td { border-bottom: 1px solid #ddd; padding: 5px 8px; vertical-align: top; }
td.v { font-weight: bold; color: #fff; text-align: center; white-space: nowrap; }
details { margin: 4px 0; font-size: 13px; } pre { background: #f4f6f7; padding: 6px; overflow-x: auto; }
figure { margin: 12px 0; } figcaption { font-size: 12px; color: #555; word-break: break-all; }
</style></head><body>
<h1>{{ r.title }}</h1>
<div class="meta">stack <b>{{ r.stack }}</b> &middot; generated {{ r.generated }} &middot; window {{ r.window }}
{% for k, v in r.meta.items() %} &middot; {{ k }} {{ v }}{% endfor %}</div>
<p><span class="verdict" style="background: {{ colours[r.verdict] }}">{{ r.verdict }}</span>
{% for v, n in r.counts.items() %} {{ n }} {{ v }}{% if not loop.last %},{% endif %}{% endfor %}</p>
<table class="findings" id="findings">
<tr><th>check</th><th>subject</th><th>verdict</th><th>value</th><th>normal range</th></tr>
{% for f in r.findings %}<tr><td>{{ f.check }}</td><td>{{ f.subject }}</td>
<td class="v" style="background: {{ colours[f.verdict] }}">{{ f.verdict }}</td>
<td>{{ f.detail }}</td><td>{{ f.normal or "-" }}</td></tr>
{% endfor %}</table>
{% if r.plots %}<h2>Series behind the SLO items</h2>
{% for p in r.plots %}<figure><img alt="{{ p.title }}" src="data:image/png;base64,{{ b64(p.png) }}">
<figcaption>{{ p.query }}</figcaption></figure>
{% endfor %}{% endif %}
<h2>Evidence per item</h2>
{% for f in r.findings %}<details><summary><b>{{ f.check }}</b> {{ f.subject }}: {{ f.verdict }}</summary>
<div>measured: {{ f.how or "see the check's module" }}</div>
{% if f.data %}<pre>{{ figures(f.data) }}</pre>{% endif %}</details>
{% endfor %}
{% if r.notes %}<h2>Notes</h2><ul>{% for n in r.notes %}<li>{{ n }}</li>{% endfor %}</ul>{% endif %}
</body></html>
"""


def _figures(data: dict[str, Any]) -> str:
    return json.dumps(data, indent=1, default=str, ensure_ascii=False)


def html(report: Report) -> str:
    from jinja2 import Environment

    env = Environment(autoescape=True)
    template = env.from_string(HTML)
    return template.render(
        r=report, colours=COLOURS, figures=_figures, b64=lambda data: base64.b64encode(data).decode("ascii")
    )


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def markdown(report: Report, images: dict[str, str]) -> str:
    """Markdown with the plots as files beside it (`images`: plot key -> relative file name)."""
    tally = ", ".join(f"{n} {v}" for v, n in report.counts.items())
    meta = "".join(f" · {k} {v}" for k, v in report.meta.items())
    out = [f"# {report.title}", "", f"stack **{report.stack}** · generated {report.generated} · window "
           f"{report.window}{meta}", "", f"**{report.verdict}**: {tally}", "",
           "| check | subject | verdict | value | normal range |", "|---|---|---|---|---|"]  # fmt: skip
    for f in report.findings:
        out.append(f"| {f.check} | {_cell(f.subject)} | {f.verdict} | {_cell(f.detail)} | {_cell(f.normal or '-')} |")
    if report.plots:
        out += ["", "## Series behind the SLO items", ""]
        for p in report.plots:
            out += [f"![{p.title}]({images[p.key]})", "", f"`{p.query}`", ""]
    out += ["", "## Evidence per item", ""]
    for f in report.findings:
        out += [f"### {f.check} {f.subject}: {f.verdict}", "", f"measured: {f.how or '-'}", ""]
        if f.data:
            out += ["```json", _figures(f.data), "```", ""]
    if report.notes:
        out += ["## Notes", "", *[f"- {n}" for n in report.notes], ""]
    return "\n".join(out) + "\n"
