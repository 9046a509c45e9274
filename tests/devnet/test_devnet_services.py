"""`python -m devnet up --services`: PostgreSQL databases of its own and a SeaweedFS S3 server for
the backends' files. One network, one test: start, round trip a dataset, stop."""

import json

import psycopg
import substra

from devnet.postgres import ADMIN_URL
from devnet.s3 import S3Server
from tests.devnet.test_devnet import client, devnet, eventually, recorded_pids, running


def test_services_network_stores_in_s3_and_down_drops_everything(tmp_path):
    state_dir = tmp_path / "net"
    started = devnet("up", "--orgs", "2", "--state-dir", str(state_dir), "--services")
    try:
        assert started.returncode == 0, started.stdout + started.stderr
        recorded = json.loads((state_dir / "processes.json").read_text())
        assert len(recorded["databases"]) == 3  # the orchestrator's and one per backend
        s3 = S3Server.recorded(state_dir / "s3")
        pids = [*recorded_pids(state_dir), s3["pid"]]
        described = json.loads((state_dir / "network.json").read_text())

        (tmp_path / "opener.py").write_text("import substratools as tools\n")
        (tmp_path / "description.md").write_text("# A dataset\n")
        spec = substra.sdk.schemas.DatasetSpec(
            name="on s3",
            data_opener=tmp_path / "opener.py",
            description=tmp_path / "description.md",
            permissions={"public": True, "authorized_ids": []},
            logs_permission={"public": True, "authorized_ids": []},
        )
        key = client(described["orgs"][0]).add_dataset(spec)
        org2 = client(described["orgs"][1])
        assert eventually(lambda: key in {dataset.key for dataset in org2.list_dataset()})
        server = S3Server(state_dir / "s3", s3["access_key"], s3["secret_key"])
        server.ports = s3["ports"]
        assert server.client().list_objects_v2(Bucket="myorg1msp")["KeyCount"] == 2  # opener, description
    finally:
        stopped = devnet("down", "--state-dir", str(state_dir))
    assert stopped.returncode == 0, stopped.stderr
    assert [pid for pid in pids if running(pid)] == []
    names = [url.rsplit("/", 1)[1] for url in recorded["databases"]]
    with psycopg.connect(ADMIN_URL) as conn:
        left = conn.execute("SELECT datname FROM pg_database WHERE datname = ANY(%s)", (names,)).fetchall()
    assert left == []
