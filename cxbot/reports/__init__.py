"""The chair's weekly digest: computed by SQL aggregates (`digest`), rendered by Jinja2
templates in `templates/` as Slack Block Kit, plain text and a standalone HTML report."""
