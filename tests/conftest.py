import pytest

from devnet.orchestrator import OrchestratorProcess
from devnet.postgres import create_database, drop_database
from orchestrator_client.pki import Authority

ORG1, ORG2, ORG3 = "MyOrg1MSP", "MyOrg2MSP", "MyOrg3MSP"
CHANNELS = {"mychannel": [ORG1, ORG2, ORG3], "otherchannel": [ORG1, ORG2]}


@pytest.fixture(scope="session")
def authority():
    return Authority.create()


@pytest.fixture(scope="session")
def orchestrator(tmp_path_factory, authority):
    """A real orchestrator process over a fresh PostgreSQL database, speaking mTLS."""
    url = create_database("orchestrator_test")
    process = OrchestratorProcess(tmp_path_factory.mktemp("orchestrator"), url, CHANNELS, authority)
    process.migrate()
    process.start()
    yield process
    process.stop()
    drop_database(url)
