import pytest

from maestro_mcp.core.models import ProjectCreate
from maestro_mcp.core.service import Service
from tests.support.core import Clock


@pytest.fixture
def project_id(service: Service) -> str:
    """The id of a new project named "Demo"."""
    return service.create_project(ProjectCreate(name="Demo")).value.id


@pytest.fixture
def clock(service: Service) -> Clock:
    """The service runs on a clock the test moves (leases and deadlines are about time);
    a module whose every test needs it makes it autouse with ``pytestmark``."""
    fake = Clock()
    service.clock = fake
    return fake
