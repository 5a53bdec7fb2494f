"""The provider registry: adding a third API is one module and one line here."""

from credit_monitor.providers import fullenrich, lemlist
from credit_monitor.providers.base import Provider, RateLimit, Request, RetryPolicy

PROVIDERS: tuple[Provider, ...] = (
    fullenrich.PROVIDER,
    lemlist.PROVIDER,
)
"""The zero-config pair, configured from environment variables when there is no accounts file."""

CATALOGUE: dict[str, Provider] = {provider.name: provider for provider in PROVIDERS}
"""Every built-in provider by name, for an accounts file's `provider`."""

__all__ = ["CATALOGUE", "PROVIDERS", "Provider", "RateLimit", "Request", "RetryPolicy"]
