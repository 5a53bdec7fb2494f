"""Where `make deploy` keeps your settings and which accounts file it packages, decided here once so
that the CLI's `keys` and `init` look where the deploy looks.

samconfig.toml holds the project's defaults and is tracked by git; samconfig.local.toml, next to it,
holds your own settings and is not, so a `git pull` never conflicts with them. The accounts file a
deploy packages is the path given (`make deploy ACCOUNTS=...`), else the one an earlier deploy
recorded in samconfig.local.toml, else src/accounts.toml when it exists, else none: the zero-config
accounts.
"""

from __future__ import annotations

import enum
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

from credit_monitor.account import ConfigError

SAMCONFIG = "samconfig.toml"
LOCAL_SAMCONFIG = "samconfig.local.toml"
DEFAULT_ACCOUNTS_FILE = Path("src", "accounts.toml")
"""Relative to the repository's root: where `credit-monitor init` writes and the deploy looks."""
RECORD_TABLE = "make_deploy"
RECORD_KEY = "accounts_file"
"""`[make_deploy] accounts_file = "..."` in samconfig.local.toml: the file the last deploy packaged."""


class Origin(enum.Enum):
    """How the accounts file was chosen, as the deploy says it."""

    GIVEN = "given"
    RECORDED = f"recorded in {LOCAL_SAMCONFIG} by an earlier deploy"
    DEFAULT = f"found at {DEFAULT_ACCOUNTS_FILE.as_posix()}"
    NONE = f"no {DEFAULT_ACCOUNTS_FILE.as_posix()}, none given or recorded"
    DECLINED = "none, as asked"


@dataclass(frozen=True)
class AccountsChoice:
    path: Path | None
    """The accounts file; None for the zero-config accounts."""
    origin: Origin


def choose_accounts_file(
    given: Path | None, recorded: str | None, root: Path, exists: Callable[[Path], bool]
) -> AccountsChoice:
    """The path given, else the recorded one (relative to `root`, the repository), else
    src/accounts.toml when `exists` says so, else none. Pure: `exists` is the only question asked."""
    if given is not None:
        return AccountsChoice(given, Origin.GIVEN)
    if recorded:
        return AccountsChoice(root / recorded, Origin.RECORDED)
    default = root / DEFAULT_ACCOUNTS_FILE
    if exists(default):
        return AccountsChoice(default, Origin.DEFAULT)
    return AccountsChoice(None, Origin.NONE)


def recorded_accounts_file(local_settings: Mapping[str, object]) -> str | None:
    """The accounts file an earlier deploy recorded in samconfig.local.toml (parsed), if any."""
    table = local_settings.get(RECORD_TABLE)
    value = table.get(RECORD_KEY) if isinstance(table, dict) else None
    return value if isinstance(value, str) and value.strip() else None


def repository_root(start: Path) -> Path | None:
    """The nearest folder from `start` up that holds a samconfig.toml: the clone `make deploy` runs in."""
    return next((folder for folder in (start, *start.parents) if (folder / SAMCONFIG).is_file()), None)


def accounts_file_to_write(start: Path) -> Path:
    """Where `credit-monitor init` writes by default: src/accounts.toml of the clone `start` is in,
    as a path from `start`; ./accounts.toml outside a clone."""
    root = repository_root(start.resolve())
    if root is None:
        return Path("accounts.toml")
    target = root / DEFAULT_ACCOUNTS_FILE
    return target.relative_to(start.resolve()) if target.is_relative_to(start.resolve()) else target


def deployed_accounts_file(start: Path) -> Path | None:
    """The accounts file `make deploy` would package, seen from `start` (the CLI's current folder);
    None for the zero-config accounts, or outside a clone. ConfigError when samconfig.local.toml
    cannot be read: guessing past it could name another file than the deploy's."""
    root = repository_root(start.resolve())
    if root is None:
        return None
    path = root / LOCAL_SAMCONFIG
    try:
        local = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        local = {}
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read it ({exc}); pass --accounts FILE") from None
    return choose_accounts_file(None, recorded_accounts_file(local), root, Path.is_file).path
