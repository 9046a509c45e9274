"""Data already on the server: only folders under the allowed roots, links resolved, with a
checksum over their relative paths and contents."""

import hashlib
import os
import shutil
import subprocess

import pytest

from substrapp.serverpaths import ServerPathError, check_server_directory, directory_checksum


@pytest.fixture
def root(tmp_path):
    """An allowed root holding one sample folder."""
    root = tmp_path / "data"
    (root / "sample" / "images").mkdir(parents=True)
    (root / "sample" / "labels.csv").write_text("a,1\n")
    (root / "sample" / "images" / "1.png").write_bytes(b"\x89PNG1")
    return root


def check(path, root, **options):
    return check_server_directory(str(path), roots=[str(root)], **options)


def test_a_folder_inside_a_root_is_registered_with_its_checksum(root):
    registered = check(root / "sample", root)

    assert registered.path == (root / "sample").resolve()
    assert registered.files == 2
    assert registered.size == len("a,1\n") + len(b"\x89PNG1")
    assert registered.checksum == directory_checksum(root / "sample")


def test_the_data_stay_where_they_are(root):
    before = sorted(path for path in (root / "sample").rglob("*"))

    check(root / "sample", root)

    assert sorted(path for path in (root / "sample").rglob("*")) == before


def test_the_roots_come_from_the_settings_by_default(root, settings):
    settings.SERVER_DATA_ROOTS = [str(root)]

    assert check_server_directory(str(root / "sample")).files == 2


def test_no_path_is_accepted_when_no_root_is_configured(root, settings):
    settings.SERVER_DATA_ROOTS = []

    with pytest.raises(ServerPathError, match="accepts no data by path"):
        check_server_directory(str(root / "sample"))


def test_a_folder_outside_the_roots_is_refused(root, tmp_path):
    (tmp_path / "elsewhere").mkdir()
    (tmp_path / "elsewhere" / "file").write_text("x")

    with pytest.raises(ServerPathError, match="is not inside a folder this organization allows data from"):
        check(tmp_path / "elsewhere", root)


def test_a_root_itself_is_not_a_sample(root):
    with pytest.raises(ServerPathError, match="is not inside"):
        check(root, root)


def test_climbing_out_of_a_root_with_dots_is_refused(root, tmp_path):
    (tmp_path / "secret").mkdir()
    (tmp_path / "secret" / "key").write_text("x")

    with pytest.raises(ServerPathError, match="is not inside"):
        check(f"{root}/sample/../../secret", root)


def test_a_link_from_a_root_to_a_folder_outside_is_refused(root, tmp_path):
    (root / "etc").symlink_to("/etc")

    with pytest.raises(ServerPathError, match="is not inside"):
        check(root / "etc", root)


def test_a_link_inside_the_folder_leading_outside_the_root_is_refused(root):
    (root / "sample" / "passwd").symlink_to("/etc/passwd")

    with pytest.raises(ServerPathError, match="passwd: a link leads outside the folder data is allowed from"):
        check(root / "sample", root)


def test_a_link_inside_the_folder_to_a_file_of_the_same_root_counts_as_that_file(root):
    (root / "shared.bin").write_bytes(b"shared")
    (root / "sample" / "shared.bin").symlink_to(root / "shared.bin")

    registered = check(root / "sample", root)

    assert registered.files == 3
    assert registered.path == (root / "sample").resolve()


def test_a_link_to_a_folder_is_followed_only_when_asked(root):
    (root / "more").mkdir()
    (root / "more" / "extra.csv").write_text("b,2\n")
    (root / "sample" / "more").symlink_to(root / "more")

    assert check(root / "sample", root).files == 2
    assert check(root / "sample", root, followlinks=True).files == 3


def test_a_loop_of_links_is_refused(root):
    (root / "sample" / "images" / "again").symlink_to(root / "sample")

    with pytest.raises(ServerPathError, match="a link leads back to a folder that holds it"):
        check(root / "sample", root, followlinks=True)


def test_a_broken_link_is_refused(root):
    (root / "sample" / "gone").symlink_to(root / "nothing")

    with pytest.raises(ServerPathError, match="gone: a broken link"):
        check(root / "sample", root)


def test_a_named_pipe_is_refused_rather_than_read(root):
    os.mkfifo(root / "sample" / "pipe")

    with pytest.raises(ServerPathError, match="only files and folders are accepted"):
        check(root / "sample", root)


@pytest.mark.parametrize(
    ("path", "message"),
    [
        ("relative/sample", "the path must be absolute"),
        ("{root}/missing", "does not exist on this organization's server"),
        ("{root}/sample/labels.csv", "is not a folder"),
    ],
)
def test_a_bad_path_is_refused_with_a_clear_message(root, path, message):
    with pytest.raises(ServerPathError, match=message):
        check(path.format(root=root), root)


def test_a_folder_with_no_file_is_refused(root):
    (root / "empty" / "subfolder").mkdir(parents=True)

    with pytest.raises(ServerPathError, match="holds no file"):
        check(root / "empty", root)


# The checksum


def write_tree(folder, files, order):
    for name in order:
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(files[name])


FILES = {"b.csv": b"2", "a/z.csv": b"1", "a-b.csv": b"3", "c/d/e.bin": bytes(range(256)) * 5000}


def test_the_checksum_does_not_depend_on_where_the_folder_is_nor_on_creation_order(tmp_path):
    write_tree(tmp_path / "one", FILES, sorted(FILES))
    write_tree(tmp_path / "two", FILES, sorted(FILES, reverse=True))

    assert directory_checksum(tmp_path / "one") == directory_checksum(tmp_path / "two")


def test_the_checksum_changes_with_a_file_content_or_name(tmp_path):
    write_tree(tmp_path / "same", FILES, FILES)
    original = directory_checksum(tmp_path / "same")

    (tmp_path / "same" / "b.csv").write_bytes(b"3")
    changed_content = directory_checksum(tmp_path / "same")
    (tmp_path / "same" / "b.csv").rename(tmp_path / "same" / "B.csv")
    changed_name = directory_checksum(tmp_path / "same")

    assert len({original, changed_content, changed_name}) == 3


def test_the_checksum_is_the_one_of_the_sha256sum_listing(tmp_path):
    write_tree(tmp_path / "tree", FILES, FILES)
    lines = sorted((name.encode(), hashlib.sha256(content).hexdigest()) for name, content in FILES.items())
    listing = b"".join(digest.encode() + b"  " + name + b"\n" for name, digest in lines)

    assert directory_checksum(tmp_path / "tree") == hashlib.sha256(listing).hexdigest()


@pytest.mark.skipif(not shutil.which("sha256sum"), reason="needs GNU coreutils")
def test_the_checksum_can_be_checked_by_hand_with_coreutils(tmp_path):
    write_tree(tmp_path / "tree", FILES, FILES)
    command = "find . -type f -printf '%P\\0' | LC_ALL=C sort -z | xargs -0 sha256sum | sha256sum"

    by_hand = subprocess.run(command, shell=True, cwd=tmp_path / "tree", capture_output=True, check=True)

    assert by_hand.stdout.split()[0].decode() == directory_checksum(tmp_path / "tree")
