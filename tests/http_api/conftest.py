from collections.abc import Iterator

import pytest
from starlette.testclient import TestClient

from http_api import Settings
from tests.support.servers import in_process


@pytest.fixture
def client(settings: Settings) -> Iterator[TestClient]:
    """The app in-process (see ``in_process``), its lifespan running for the test."""
    with in_process(settings) as test_client:
        yield test_client
