"""Shared fixtures: a throwaway CA, the two API simulators, moto server, and the handler's environment."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import trustme

from tests.support.keys import FULLENRICH_KEY, LEMLIST_KEY
from tests.support.simulators import ApiSimulator


@pytest.fixture(scope="session")
def ca() -> trustme.CA:
    return trustme.CA()


@pytest.fixture(scope="session")
def server_cert(ca: trustme.CA) -> trustme.LeafCert:
    return ca.issue_cert("127.0.0.1", "localhost")


@pytest.fixture(scope="session")
def ca_file(ca: trustme.CA, tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("ca") / "ca.pem"
    ca.cert_pem.write_to_path(str(path))
    return path


@pytest.fixture
def fullenrich_api(server_cert: trustme.LeafCert) -> Iterator[ApiSimulator]:
    simulator = ApiSimulator("fullenrich", server_cert, FULLENRICH_KEY, balance=5000).start()
    yield simulator
    simulator.stop()


@pytest.fixture
def lemlist_api(server_cert: trustme.LeafCert) -> Iterator[ApiSimulator]:
    simulator = ApiSimulator("lemlist", server_cert, LEMLIST_KEY, balance=800).start()
    yield simulator
    simulator.stop()
