"""The API keys secret, read and replaced as a whole, with the caller's own credentials: the write
side of `credit-monitor keys set` (the function itself only reads, through adapters/secrets.py).

Secrets Manager has no conditional PutSecretValue, so a write is a compare-and-set in two steps:

1. PutSecretValue stores the new JSON as a new version under a label of its own, not AWSCURRENT:
   the function keeps reading the version that was current.
2. UpdateSecretVersionStage moves AWSCURRENT to it with RemoveFromVersionId = the version that was
   read. Secrets Manager refuses that move when AWSCURRENT is no longer on that version, so a
   write made by anyone between the read and this move is never overwritten: SecretChanged.

Either way the run's own label is then removed. A run killed between the two steps leaves one
labelled version that is never current (the function never reads it); nothing else remains.
"""

from __future__ import annotations

import contextlib
import uuid
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import boto3
from botocore.exceptions import BotoCoreError, ClientError

from credit_monitor.adapters.aws import BOTO_CONFIG

if TYPE_CHECKING:
    from mypy_boto3_secretsmanager import SecretsManagerClient

CURRENT = "AWSCURRENT"
PENDING_PREFIX = "credit-monitor-keys-set-"
"""The label a new version carries until it becomes current; one per run, so two runs never share it."""


class SecretStoreError(RuntimeError):
    """The secret could not be read or written. The message names the secret and the AWS error
    code; it never holds a value (callers redact it against the key all the same)."""


class SecretChanged(SecretStoreError):
    """Someone wrote the secret after it was read: nothing was changed, run again."""


@dataclass(frozen=True)
class SecretRead:
    """What was read, and the version a write must replace (None: no current version)."""

    secret_id: str
    exists: bool
    version_id: str | None
    secret_string: str | None


class SecretStore:
    def __init__(self, secret_id: str, client: SecretsManagerClient | None = None) -> None:
        self.secret_id = secret_id
        self._client: Any = client or boto3.client("secretsmanager", config=BOTO_CONFIG)

    @property
    def where(self) -> str:
        """The secret and its region, for messages: a secret in another region is the usual miss."""
        return f"{self.secret_id!r} in {self._client.meta.region_name}"

    def read(self) -> SecretRead:
        try:
            reply = self._client.get_secret_value(SecretId=self.secret_id, VersionStage=CURRENT)
        except ClientError as exc:
            if _code(exc) != "ResourceNotFoundException":
                raise self._error("read", exc) from None
            # No such secret, or a secret created without a value: only DescribeSecret tells which.
            return SecretRead(self.secret_id, self._exists(), None, None)
        except BotoCoreError as exc:
            raise self._error("read", exc) from None
        if "SecretString" not in reply:
            raise SecretStoreError(f"secret {self.secret_id!r} is binary; the keys are a JSON SecretString")
        return SecretRead(self.secret_id, True, reply["VersionId"], reply["SecretString"])

    def write(self, read: SecretRead, secret_string: str) -> str:
        """Replace the version `read` saw with `secret_string`; its new VersionId. SecretChanged,
        with nothing changed, if the secret's current version is no longer the one read."""
        token = str(uuid.uuid4())
        if not read.exists:
            return self._create(secret_string, token)
        label = PENDING_PREFIX + token
        try:
            version = self._client.put_secret_value(
                SecretId=self.secret_id,
                SecretString=secret_string,
                ClientRequestToken=token,  # a retried call is the same version, not a second one
                VersionStages=[label],
            )["VersionId"]
        except (ClientError, BotoCoreError) as exc:
            raise self._error("write", exc) from None
        try:
            self._make_current(version, read.version_id)
        finally:
            with contextlib.suppress(ClientError, BotoCoreError):
                self._client.update_secret_version_stage(
                    SecretId=self.secret_id, VersionStage=label, RemoveFromVersionId=version
                )
        return str(version)

    def _make_current(self, version: str, replaces: str | None) -> None:
        move = {"SecretId": self.secret_id, "VersionStage": CURRENT, "MoveToVersionId": version}
        if replaces is not None:
            move["RemoveFromVersionId"] = replaces
        try:
            self._client.update_secret_version_stage(**move)
        except (ClientError, BotoCoreError) as exc:
            try:
                current = self._current_version()
            except (ClientError, BotoCoreError):
                raise self._error("write", exc) from None
            if current == version:  # a retried move whose first attempt had succeeded
                return
            if current != replaces:
                raise SecretChanged(
                    f"secret {self.secret_id!r} changed after it was read (someone else wrote it);"
                    " nothing was changed: run the command again"
                ) from None
            raise self._error("write", exc) from None

    def _create(self, secret_string: str, token: str) -> str:
        try:
            reply = self._client.create_secret(
                Name=self.secret_id, SecretString=secret_string, ClientRequestToken=token
            )
        except ClientError as exc:
            if _code(exc) == "ResourceExistsException":
                raise SecretChanged(
                    f"secret {self.secret_id!r} was created by someone else after it was read;"
                    " nothing was changed: run the command again"
                ) from None
            raise self._error("create", exc) from None
        except BotoCoreError as exc:
            raise self._error("create", exc) from None
        return str(reply["VersionId"])

    def _exists(self) -> bool:
        try:
            self._client.describe_secret(SecretId=self.secret_id)
        except ClientError as exc:
            if _code(exc) == "ResourceNotFoundException":
                return False
            raise self._error("read", exc) from None
        except BotoCoreError as exc:
            raise self._error("read", exc) from None
        return True

    def _current_version(self) -> str | None:
        stages = self._client.describe_secret(SecretId=self.secret_id).get("VersionIdsToStages", {})
        return next((version for version, labels in stages.items() if CURRENT in labels), None)

    def _error(self, verb: str, exc: ClientError | BotoCoreError) -> SecretStoreError:
        return SecretStoreError(f"cannot {verb} secret {self.where}: {exc}")


def _code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))
