"""credit-monitor: watch FullEnrich and lemlist credit balances from a scheduled Lambda."""

__version__ = "1.1.0"
USER_AGENT = f"credit-monitor/{__version__}"
