"""The digest's Jinja2 templates, installed as the package `cxbot.templates` (see pyproject.toml)
so an installed cxbot finds them with importlib.resources."""
