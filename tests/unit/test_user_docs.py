"""The user docs (README.md, and docs/ outside docs/development/) speak to users: they name no test,
no internal module or source path (only src/ and the accounts files a user puts there), no library
internals, and no path outside the repository. Development pages may name anything."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.support.harness import REPO

USER_DOCS = sorted(
    [REPO / "README.md"]
    + [
        page
        for page in (REPO / "docs").rglob("*.md")
        if "development" not in page.relative_to(REPO / "docs").parts
    ]
)
INTERNALS = {
    "a test file": re.compile(r"\btest_\w+\.py\b"),
    "the tests folder": re.compile(r"(?<![\w.-])tests/"),
    "a Python source file": re.compile(r"\b[\w/]+\.py\b"),
    "a repository script": re.compile(r"(?<![\w.-])scripts[/.]\w"),
    "a source path other than an accounts file": re.compile(r"(?<![\w.-])src/(?=[\w-])(?![\w/-]*\.toml\b)"),
    "an internal module": re.compile(r"(?<!python -m )\bcredit_monitor\b"),
    "urllib3's internals": re.compile(r"\burllib3\b|\bPoolManager\b"),
}
PARENT = re.compile(r"(?:\.\./)+[^\s)`'\"]*")
LINK_TARGET = re.compile(r"\]\(([^)#\s]+)")
COMMENT = re.compile(r"<!--.*?-->", re.DOTALL)
"""Not shown to a reader: the markers of generated sections name the script that writes them."""


def shown(page: Path) -> str:
    """The page as a reader sees it: its text less HTML comments (line numbers kept)."""
    return COMMENT.sub(lambda match: "\n" * match.group(0).count("\n"), page.read_text(encoding="utf-8"))


def test_the_pages_checked_are_the_users() -> None:
    names = {page.relative_to(REPO).as_posix() for page in USER_DOCS}
    assert {"README.md", "docs/getting-started.md", "docs/reference/cli.md", "docs/removal.md"} <= names
    assert not [name for name in names if name.startswith("docs/development/")]


@pytest.mark.parametrize("page", USER_DOCS, ids=lambda page: page.relative_to(REPO).as_posix())
def test_a_user_page_names_no_internals(page: Path) -> None:
    text = shown(page)
    found = [
        f"line {text.count(chr(10), 0, match.start()) + 1}: {what}: {match.group(0)!r}"
        for what, pattern in INTERNALS.items()
        for match in pattern.finditer(text)
    ]
    assert found == []


@pytest.mark.parametrize("page", USER_DOCS, ids=lambda page: page.relative_to(REPO).as_posix())
def test_a_user_page_names_no_path_outside_the_repository(page: Path) -> None:
    """`../` only in a link to another page of the docs, which resolves inside the repository."""
    text = shown(page)
    links = {match.start(1) for match in LINK_TARGET.finditer(text)}
    outside = [
        match.group(0)
        for match in PARENT.finditer(text)
        if match.start() not in links or not (page.parent / match.group(0)).resolve().is_relative_to(REPO)
    ]
    assert outside == []


def test_the_check_finds_what_it_looks_for() -> None:
    """Each pattern catches the kind of line the docs once had, and lets the user's own paths be."""
    caught = {
        "a test file": "`test_accounts.py` routes two clients",
        "the tests folder": "(`tests/support/aws_front.py`)",
        "a Python source file": "which `sizing.py` does not promise",
        "a repository script": "What `make deploy` does (`scripts/deploy.py`)",
        "a source path other than an accounts file": "The version is in `src/credit_monitor/__init__.py`",
        "an internal module": "`credit_monitor.providers`",
        "urllib3's internals": "One urllib3 `PoolManager` per Lambda sandbox",
    }
    for what, line in caught.items():
        assert INTERNALS[what].search(line), what
    fine = (
        "put it in `src/accounts.toml` or `src/clients/acme.toml`, in `src/`; python -m credit_monitor check"
    )
    assert [what for what, pattern in INTERNALS.items() if pattern.search(fine)] == []
    assert PARENT.search("(`../shared/tools/lambda-box`)")
