"""cxbot: a Slack bot that runs a company's Customer-Experience council."""

__version__ = "0.1.0"
