"""The S3 storage of the backend (STORAGES["default"] when BACKEND_S3_BUCKET is set): django-storages'
S3Storage that creates its bucket on first write and reads objects as streams."""

import threading

from boto3.s3.transfer import TransferConfig
from botocore.exceptions import ClientError
from storages.backends.s3 import S3Storage as BaseS3Storage
from storages.utils import clean_name

_MISSING = {"404", "NoSuchBucket", "NoSuchKey"}


class S3Storage(BaseS3Storage):
    def __init__(self, **options):
        options.setdefault("transfer_config", _transfer_config())
        super().__init__(**options)
        self._bucket_ready = False
        self._bucket_lock = threading.Lock()

    def _save(self, name, content):
        self.create_bucket_if_missing()
        return super()._save(name, content)

    def create_bucket_if_missing(self) -> None:
        """Once per process. Two processes racing to create it both succeed."""
        with self._bucket_lock:
            if self._bucket_ready:
                return
            client = self.connection.meta.client
            try:
                client.head_bucket(Bucket=self.bucket_name)
            except ClientError as error:
                if error.response["Error"]["Code"] not in _MISSING:
                    raise
                try:
                    client.create_bucket(Bucket=self.bucket_name, **self._location())
                except client.exceptions.BucketAlreadyOwnedByYou:
                    pass
            self._bucket_ready = True

    def open_stream(self, name: str):
        """The object's body as a stream (`read(n)`, `iter_chunks()`, `close()`); S3File would
        first copy the whole object into memory. FileNotFoundError if there is none."""
        key = self._normalize_name(clean_name(name))
        try:
            return self.connection.meta.client.get_object(Bucket=self.bucket_name, Key=key)["Body"]
        except ClientError as error:
            if error.response["Error"]["Code"] in _MISSING:
                raise FileNotFoundError(f"no stored file {name!r}") from error
            raise

    def _location(self) -> dict:
        # us-east-1 is the default region and S3 refuses it as an explicit constraint.
        if self.region_name and self.region_name != "us-east-1":
            return {"CreateBucketConfiguration": {"LocationConstraint": self.region_name}}
        return {}


def _transfer_config() -> TransferConfig:
    config = TransferConfig(max_concurrency=4)
    # An upload of unknown size holds at most 4 parts of 8 MiB in memory (s3transfer's default: 10).
    config.max_in_memory_upload_chunks = 4
    return config
