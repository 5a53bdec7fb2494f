"""API keys from one Secrets Manager secret, cached by Powertools Parameters across warm invocations."""

from __future__ import annotations

from collections.abc import Mapping

from aws_lambda_powertools.utilities.parameters import SecretsProvider
from aws_lambda_powertools.utilities.parameters.exceptions import GetParameterError
from botocore.config import Config

from credit_monitor.adapters import aws
from credit_monitor.config import account_key_var
from credit_monitor.keys import parse_api_keys, strip_keys
from credit_monitor.model import CheckError, FailureKind

SECRET_MAX_AGE_SECONDS = 6 * 60 * 60
"""Long on purpose: a rotated key shows up as a 401, which forces a fresh read anyway."""

_BOTO_CONFIG = Config(connect_timeout=2, read_timeout=3, retries={"mode": "standard", "max_attempts": 3})


class SecretsManagerKeySource:
    def key_hint(self, account_id: str) -> str:
        return f'add "{account_id}": "<key>" to the secret\'s JSON'

    def __init__(self, secret_id: str, provider: SecretsProvider | None = None) -> None:
        self._secret_id = secret_id
        self._provider = provider or SecretsProvider(boto3_client=aws.client("secretsmanager", _BOTO_CONFIG))

    def api_keys(self, *, refresh: bool = False) -> Mapping[str, str]:
        try:
            raw = self._provider.get(self._secret_id, max_age=SECRET_MAX_AGE_SECONDS, force_fetch=refresh)
        except GetParameterError as exc:
            # Powertools' message carries the AWS error (e.g. ResourceNotFound), never the value.
            raise CheckError(
                FailureKind.SECRET, f"could not read secret {self._secret_id!r}: {exc}"
            ) from None
        if isinstance(raw, bytes):
            raise CheckError(FailureKind.SECRET, "secret is binary; store the keys as a JSON SecretString")
        return parse_api_keys(raw if isinstance(raw, str) else None)


class EnvironmentKeySource:
    """The CLI's keys: already in memory, nothing to refresh; stripped as the secret's are."""

    def key_hint(self, account_id: str) -> str:
        return f"set {account_key_var(account_id)}"

    def __init__(self, keys: Mapping[str, str]) -> None:
        self._keys = strip_keys(keys)

    def api_keys(self, *, refresh: bool = False) -> Mapping[str, str]:
        return self._keys
