"""Fetching a file from its owner's backend (substrapp.assetfiles.fetch_from_owner), against a
small HTTP server standing for the owner."""

import functools
import hashlib
import threading
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from compute.cache import AssetCache
from substrapp import worker
from substrapp.assetfiles import FileAccessDenied, FileElsewhere, OwnerNotFound, fetch_from_owner
from substrapp.models import Model
from substrapp.peers import register_peer

OWNER = "OwnerOrgMSP"
CONTENT = b"the opener\n" * 1000
ANSWERS = {"/ok/": 200, "/forbidden/": 403, "/missing/": 404, "/unauthorized/": 401, "/broken/": 500}


class Owner(BaseHTTPRequestHandler):
    seen = []

    def do_GET(self):
        Owner.seen.append(self.headers.get("Authorization"))
        status = ANSWERS[self.path]
        self.send_response(status)
        body = CONTENT if status == 200 else b"{}"
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture
def owner(db):
    server = ThreadingHTTPServer(("127.0.0.1", 0), Owner)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    register_peer(OWNER, "incoming", "outgoing", url=f"http://127.0.0.1:{server.server_port}")
    Owner.seen.clear()
    yield
    server.shutdown()
    server.server_close()


CHECKSUM = hashlib.sha256(CONTENT).hexdigest()


def fetch(path, checksum=CHECKSUM):
    # Only the path of the registered address is used, on the peer's configured URL.
    return fetch_from_owner(OWNER, "mychannel", f"http://elsewhere.invalid{path}", checksum)


def test_the_owners_file_is_served_when_its_checksum_matches(owner, settings):
    with fetch("/ok/") as stream:
        assert stream.read() == CONTENT
    assert Owner.seen[0].startswith("Basic ")


def test_a_model_over_the_upload_limit_arrives_from_its_owner(owner, settings):
    # A task's model is not a user's upload: a 4 GiB model must travel although uploads stop at 1 GiB.
    settings.UPLOAD_MAX_BYTES = len(CONTENT) - 1
    with fetch("/ok/") as stream:
        assert stream.read() == CONTENT


def test_a_peer_that_sends_more_than_the_peer_file_limit_is_cut_off(owner, settings):
    settings.PEER_FILE_MAX_BYTES = len(CONTENT) - 1
    with pytest.raises(FileElsewhere, match="over"):
        fetch("/ok/")


def test_a_file_that_is_not_the_registered_one_is_refused(owner):
    with pytest.raises(FileElsewhere, match="checksum"):
        fetch("/ok/", checksum="0" * 64)


@pytest.mark.parametrize(
    ("path", "error"),
    [("/forbidden/", FileAccessDenied), ("/missing/", OwnerNotFound), ("/unauthorized/", FileElsewhere),
     ("/broken/", FileElsewhere)],
)  # fmt: skip
def test_the_owners_refusals(owner, path, error):
    with pytest.raises(error):
        fetch(path)


def test_no_credentials_for_the_owner(db):
    with pytest.raises(FileElsewhere, match="no credentials"):
        fetch_from_owner("UnknownMSP", "mychannel", "http://x/ok/", "0" * 64)


# A worker's model input: downloaded straight into the asset cache


def peers_model(checksum=CHECKSUM):
    return Model(key=str(uuid.uuid4()), owner=OWNER, channel="mychannel", address="http://x/ok/", checksum=checksum)


def test_a_peers_model_is_written_into_the_cache_as_it_arrives_and_nothing_else_is_left(owner, tmp_path):
    cache = AssetCache(tmp_path, max_bytes=10**9)
    with cache.use(CHECKSUM, functools.partial(worker._fetch_model, peers_model())) as path:
        assert path.read_bytes() == CONTENT
    assert list((tmp_path / "incoming").iterdir()) == []


def test_a_peers_model_that_is_not_the_registered_one_never_enters_the_cache(owner, tmp_path):
    cache = AssetCache(tmp_path, max_bytes=10**9)
    wrong = "0" * 64
    with (
        pytest.raises(FileElsewhere, match="checksum"),
        cache.use(wrong, functools.partial(worker._fetch_model, peers_model(wrong))),
    ):
        pass
    assert list((tmp_path / "incoming").iterdir()) == []
    assert list((tmp_path / "entries").iterdir()) == []
