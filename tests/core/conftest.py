import pytest

from maestro_mcp.core.models import ProjectCreate
from maestro_mcp.core.service import Service


@pytest.fixture
def project_id(service: Service) -> str:
    """The id of a new project named "Demo"."""
    return service.create_project(ProjectCreate(name="Demo")).value.id
