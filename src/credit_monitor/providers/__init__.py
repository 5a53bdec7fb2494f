"""The provider registry: adding a third API is one module and one line here."""

from credit_monitor.providers import fullenrich, lemlist
from credit_monitor.providers.base import Provider, RateLimit, Request, RetryPolicy

PROVIDERS: tuple[Provider, ...] = (
    fullenrich.PROVIDER,
    lemlist.PROVIDER,
)

__all__ = ["PROVIDERS", "Provider", "RateLimit", "Request", "RetryPolicy"]
