"""Archives are checked before anything is extracted, and extraction cannot leave its folder."""

import io
import stat
import tarfile
import zipfile

import pytest

from substrapp import archives
from substrapp.archives import ArchiveError, ArchiveLimits, check_function_archive, inspect_archive, safe_extract

LIMITS = ArchiveLimits(max_expanded_bytes=1024 * 1024, max_members=50)
DOCKERFILE = b"FROM python:3.11-slim\nCOPY . /app\n"


def tar_of(*members, mode: str = "w:gz") -> io.BytesIO:
    """An archive of members: (name, bytes) for a file, (name, bytes, mode) for one with a mode,
    or a TarInfo for anything else."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode=mode) as tar:
        for member in members:
            if isinstance(member, tarfile.TarInfo):
                tar.addfile(member)
                continue
            name, data, *file_mode = member
            info = tarfile.TarInfo(name)
            info.size = len(data)
            info.mode = file_mode[0] if file_mode else 0o644
            tar.addfile(info, io.BytesIO(data))
    buffer.seek(0)
    return buffer


def tar_entry(name: str, kind: bytes, linkname: str = "") -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type = kind
    info.linkname = linkname
    return info


def zip_of(*members) -> io.BytesIO:
    """(name, bytes) for a file, or (ZipInfo, bytes)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in members:
            archive.writestr(name, data)
    buffer.seek(0)
    return buffer


def zip_symlink(name: str, target: str) -> zipfile.ZipInfo:
    info = zipfile.ZipInfo(name)
    info.create_system = 3
    info.external_attr = (stat.S_IFLNK | 0o777) << 16
    return info, target.encode()


# Good archives


@pytest.mark.parametrize("mode", ["w:gz", "w", "w:bz2", "w:xz"])
def test_a_good_tar_is_extracted_with_its_folders_and_executable_files(tmp_path, mode):
    archive = tar_of(
        ("Dockerfile", DOCKERFILE),
        tar_entry("src", tarfile.DIRTYPE),
        ("src/function.py", b"print('hi')\n"),
        ("./run.sh", b"#!/bin/sh\n", 0o4775),
        mode=mode,
    )

    contents = safe_extract(archive, tmp_path / "out", LIMITS)

    assert contents.format == "tar"
    assert contents.files == ("Dockerfile", "src/function.py", "run.sh")
    assert (tmp_path / "out" / "src" / "function.py").read_bytes() == b"print('hi')\n"
    assert stat.S_IMODE((tmp_path / "out" / "run.sh").stat().st_mode) == 0o755  # no setuid, no group write
    assert stat.S_IMODE((tmp_path / "out" / "Dockerfile").stat().st_mode) == 0o644


def test_a_zip_made_like_the_sdk_makes_samples_is_extracted(tmp_path):
    archive = zip_of(("data.csv", b"a,b\n1,2\n"), ("images/1.png", b"\x89PNG"), ("images/", b""))

    contents = safe_extract(archive, tmp_path / "sample", LIMITS)

    assert contents.format == "zip"
    assert contents.expanded_size == 12
    assert (tmp_path / "sample" / "data.csv").read_bytes() == b"a,b\n1,2\n"
    assert (tmp_path / "sample" / "images" / "1.png").read_bytes() == b"\x89PNG"


def test_an_archive_is_recognized_by_its_content_not_its_name(tmp_path):
    path = tmp_path / "function.tar.gz"
    path.write_bytes(zip_of(("Dockerfile", DOCKERFILE)).getvalue())

    assert inspect_archive(path, LIMITS).format == "zip"


def test_an_uploaded_file_is_read_from_its_first_byte(tmp_path):
    archive = tar_of(("Dockerfile", DOCKERFILE))
    archive.read(10)

    assert check_function_archive(archive, LIMITS).files == ("Dockerfile",)


def test_the_limits_come_from_the_settings_by_default(settings):
    settings.ARCHIVE_MAX_MEMBERS = 1

    with pytest.raises(ArchiveError, match="more than 1 members"):
        inspect_archive(tar_of(("a", b"1"), ("b", b"2")))


# Attacks and mistakes, each refused with a message naming the member


@pytest.mark.parametrize(
    ("member", "message"),
    [
        (("../evil", b"x"), r"'../evil': a member may not climb out of the archive with '..'"),
        (("a/../../evil", b"x"), r"may not climb out"),
        (("/etc/passwd", b"x"), r"'/etc/passwd': a member may not have an absolute path"),
        (("..\\evil", b"x"), r"may not climb out"),
        (tar_entry("etc", tarfile.SYMTYPE, "/etc"), r"'etc': links are not accepted \(a symbolic link to '/etc'\)"),
        (tar_entry("here", tarfile.SYMTYPE, "Dockerfile"), r"links are not accepted"),
        (tar_entry("passwd", tarfile.LNKTYPE, "../../etc/passwd"), r"'passwd': links are not accepted \(a hard"),
        (tar_entry("null", tarfile.CHRTYPE), r"'null': device files are not accepted"),
        (tar_entry("disk", tarfile.BLKTYPE), r"device files are not accepted"),
        (tar_entry("pipe", tarfile.FIFOTYPE), r"'pipe': named pipes are not accepted"),
    ],
)
def test_a_dangerous_tar_member_is_refused_before_anything_is_extracted(tmp_path, member, message):
    archive = tar_of(("Dockerfile", DOCKERFILE), ("good.txt", b"fine"), member)

    with pytest.raises(ArchiveError, match=message):
        safe_extract(archive, tmp_path / "out", LIMITS)

    assert not (tmp_path / "out").exists()
    assert not (tmp_path / "evil").exists()


@pytest.mark.parametrize(
    ("member", "message"),
    [
        (("../evil", b"x"), r"'../evil': a member may not climb out"),
        (("/etc/passwd", b"x"), r"'/etc/passwd': a member may not have an absolute path"),
        (("C:/Windows/evil", b"x"), r"may not have an absolute path"),
        (zip_symlink("etc", "/etc"), r"'etc': links are not accepted"),
    ],
)
def test_a_dangerous_zip_member_is_refused_before_anything_is_extracted(tmp_path, member, message):
    archive = zip_of(("good.txt", b"fine"), member)

    with pytest.raises(ArchiveError, match=message):
        safe_extract(archive, tmp_path / "out", LIMITS)

    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("make", [tar_of, zip_of])
def test_an_archive_expanding_over_the_limit_is_refused_from_its_headers(make):
    bomb = make(("zeros", bytes(2 * 1024 * 1024)))  # a few kilobytes compressed

    assert len(bomb.getvalue()) < 20_000
    with pytest.raises(ArchiveError, match="The archive expands to more than 1048576 bytes"):
        inspect_archive(bomb, LIMITS)


@pytest.mark.parametrize("make", [tar_of, zip_of])
def test_an_archive_of_too_many_members_is_refused(make):
    archive = make(*[(f"file-{index}", b"") for index in range(51)])

    with pytest.raises(ArchiveError, match="The archive has more than 50 members"):
        inspect_archive(archive, LIMITS)


def test_a_zip_claiming_too_many_members_is_refused_before_its_directory_is_read(monkeypatch):
    archive = zip_of(*[(f"file-{index}", b"") for index in range(51)])
    monkeypatch.setattr(zipfile.ZipFile, "_RealGetContents", lambda self: pytest.fail("directory read"))

    with pytest.raises(ArchiveError, match="more than 50 members"):
        inspect_archive(archive, LIMITS)


def test_a_name_used_twice_is_refused():
    with pytest.raises(ArchiveError, match=r"'a.txt' appears twice"):
        inspect_archive(tar_of(("a.txt", b"1"), ("./a.txt", b"2")), LIMITS)


def test_a_file_where_a_folder_must_be_is_refused():
    with pytest.raises(ArchiveError, match=r"'a/b.txt': 'a' is a file in the archive, not a folder"):
        inspect_archive(tar_of(("a", b"1"), ("a/b.txt", b"2")), LIMITS)


def test_an_archive_with_no_file_is_refused():
    with pytest.raises(ArchiveError, match="The archive holds no file"):
        inspect_archive(tar_of(tar_entry("empty", tarfile.DIRTYPE)), LIMITS)


def test_something_that_is_not_an_archive_is_refused():
    with pytest.raises(ArchiveError, match="neither a tar nor a zip archive"):
        inspect_archive(io.BytesIO(b"print('not an archive')\n" * 100), LIMITS)


def test_a_truncated_archive_is_refused_as_damaged(tmp_path):
    whole = tar_of(("Dockerfile", DOCKERFILE), ("data", bytes(range(256)) * 400)).getvalue()

    with pytest.raises(ArchiveError, match="damaged"):
        safe_extract(io.BytesIO(whole[: len(whole) // 2]), tmp_path / "out", LIMITS)
    assert not (tmp_path / "out").exists()


def test_an_encrypted_zip_member_is_refused():
    archive = zip_of(("secret.txt", b"x"))
    raw = bytearray(archive.getvalue())
    # Set the "encrypted" flag in the local header and in the central directory.
    for offset in (6, raw.rfind(b"PK\x01\x02") + 8):
        raw[offset] |= 0x1

    with pytest.raises(ArchiveError, match=r"'secret.txt': encrypted members are not accepted"):
        inspect_archive(io.BytesIO(bytes(raw)), LIMITS)


# Extraction checks again by itself


@pytest.mark.parametrize(
    "member",
    [("../evil", b"x"), tar_entry("etc", tarfile.SYMTYPE, "/etc"), tar_entry("p", tarfile.LNKTYPE, "/etc/passwd")],
)
def test_extraction_refuses_an_escape_even_if_the_inspection_missed_it(tmp_path, monkeypatch, member):
    monkeypatch.setattr(archives, "inspect_archive", lambda *args: None)
    archive = tar_of(("good.txt", b"fine"), member)

    with pytest.raises(ArchiveError):
        safe_extract(archive, tmp_path / "out", LIMITS)

    assert not (tmp_path / "evil").exists()
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("name", ["../evil", "sub/../../evil", "sub/../../out/../evil", "../evil/x", "../evil/"])
def test_extraction_checks_where_each_file_lands_even_if_names_were_not_checked(tmp_path, monkeypatch, name):
    monkeypatch.setattr(archives, "inspect_archive", lambda *args: None)
    monkeypatch.setattr(archives, "_normalized_name", lambda raw: raw)
    archive = tar_of(("good.txt", b"fine"), (name, b"x"))

    with pytest.raises(ArchiveError, match="outside the archive's folder"):
        safe_extract(archive, tmp_path / "out", LIMITS)

    assert not (tmp_path / "evil").exists()
    assert not (tmp_path / "out").exists()


def test_extraction_into_an_existing_folder_leaves_it_empty_on_error(tmp_path):
    (tmp_path / "out").mkdir()
    archive = tar_of(("a.txt", b"1"), ("b.txt", b"22"))

    with pytest.raises(ArchiveError, match="more than 2 bytes"):
        safe_extract(archive, tmp_path / "out", ArchiveLimits(max_expanded_bytes=2, max_members=10))

    assert list((tmp_path / "out").iterdir()) == []


def test_extraction_refuses_a_folder_that_is_not_empty(tmp_path):
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "already").write_text("here")

    with pytest.raises(ValueError, match="is not empty"):
        safe_extract(tar_of(("a.txt", b"1")), tmp_path / "out", LIMITS)


# Function archives


def test_a_function_archive_without_a_dockerfile_is_refused():
    with pytest.raises(ArchiveError, match="A function archive needs a Dockerfile at its root"):
        check_function_archive(tar_of(("function.py", b"")), LIMITS)


def test_a_function_archive_with_its_dockerfile_in_a_folder_is_refused_with_a_hint():
    archive = zip_of(("my_function/Dockerfile", DOCKERFILE), ("my_function/function.py", b""))

    with pytest.raises(ArchiveError, match="'my_function/Dockerfile' is not: archive that folder's contents"):
        check_function_archive(archive, LIMITS)


def test_a_function_archive_with_a_dockerfile_at_its_root_is_accepted():
    contents = check_function_archive(tar_of(("./Dockerfile", DOCKERFILE), ("function.py", b"")), LIMITS)

    assert contents.files == ("Dockerfile", "function.py")
