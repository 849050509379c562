"""What a tus server's store holds, read directly (not through the server): `DirStore` for a file store
(@tus/file-store: ``<id>`` + ``<id>.json``; tusd's filestore: ``<id>`` + ``<id>.info``) and `S3Store` for a bucket
(@tus/s3-store and tusd's s3store: the finished ``<id>`` object + ``<id>.info``). boto3 comes with the optional extra
``[centre]``.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator, Protocol
from urllib.parse import urlsplit

MAX_INFO_BYTES = 1024 * 1024      # an .info/.json describing one upload is a few hundred bytes
READ_BLOCK = 1024 * 1024


class StoreError(RuntimeError):
    """The store cannot be read; the message names the fix."""


@dataclass(frozen=True)
class StoredUpload:
    id: str
    size: int | None                   # the upload's declared length (Upload-Length)
    stored: int                        # bytes of the upload's data object or file that exist now
    metadata: dict[str, str] = field(default_factory=dict)
    created: str | None = None

    @property
    def complete(self) -> bool:
        return self.size is not None and self.stored == self.size


class Store(Protocol):
    description: str

    def uploads(self) -> Iterator[StoredUpload]: ...

    def blocks(self, upload_id: str) -> Iterator[bytes]: ...


def _upload_from_info(upload_id: str, info: dict, stored: int) -> StoredUpload:
    """@tus/* writes {id, size, offset, metadata, creation_date}; tusd {ID, Size, Offset, MetaData, ...}."""
    size = info.get("size", info.get("Size"))
    metadata = info.get("metadata", info.get("MetaData")) or {}
    return StoredUpload(id=upload_id, size=int(size) if isinstance(size, (int, float, str)) and str(size).isdigit()
                        else None, stored=stored,
                        metadata={str(k): str(v) for k, v in metadata.items() if v is not None},
                        created=info.get("creation_date"))


class DirStore:
    def __init__(self, directory: str | os.PathLike) -> None:
        self.directory = Path(directory)
        if not self.directory.is_dir():
            raise StoreError(f"{self.directory} is not a directory. Fix: give --dir the tus server's store "
                             f"directory (@tus/file-store's `directory`, tusd's -upload-dir).")
        self.description = str(self.directory)

    def uploads(self) -> Iterator[StoredUpload]:
        for info_path in sorted(list(self.directory.glob("*.json")) + list(self.directory.glob("*.info"))):
            upload_id = info_path.stem
            blob = self.directory / upload_id
            try:
                if info_path.stat().st_size > MAX_INFO_BYTES:
                    continue
                info = json.loads(info_path.read_text(encoding="utf-8"))
            except (OSError, ValueError):
                continue
            if not isinstance(info, dict):
                continue
            yield _upload_from_info(upload_id, info, blob.stat().st_size if blob.is_file() else 0)

    def blocks(self, upload_id: str) -> Iterator[bytes]:
        with open(self.directory / upload_id, "rb") as f:
            while block := f.read(READ_BLOCK):
                yield block


class S3Store:
    """`s3://BUCKET[/PREFIX]` on `endpoint` (empty = AWS); credentials from the usual AWS environment/config."""

    def __init__(self, url: str, endpoint: str = "") -> None:
        parts = urlsplit(url)
        if parts.scheme != "s3" or not parts.netloc:
            raise StoreError(f"{url!r} is not an s3://BUCKET URL. Fix: write it as s3://bucket or "
                             f"s3://bucket/prefix/.")
        try:
            import boto3
            import botocore.exceptions
        except ImportError:
            raise StoreError("reading an S3 store needs boto3. Fix: pip install 'kiosk-interview-recorder[centre]'."
                             ) from None
        self._errors = (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError)
        self.bucket = parts.netloc
        self.prefix = parts.path.lstrip("/")
        self.description = f"s3://{self.bucket}/{self.prefix}" + (f" at {endpoint}" if endpoint else "")
        self._client = boto3.client("s3", endpoint_url=endpoint or None)

    def _fail(self, exc: Exception) -> StoreError:
        return StoreError(f"cannot read {self.description}: {exc}. Fix: check --endpoint, the bucket name and the "
                          f"credentials (AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY or ~/.aws/credentials).")

    def uploads(self) -> Iterator[StoredUpload]:
        sizes: dict[str, int] = {}
        try:
            for page in self._client.get_paginator("list_objects_v2").paginate(Bucket=self.bucket,
                                                                               Prefix=self.prefix):
                for item in page.get("Contents", []):
                    sizes[item["Key"]] = item["Size"]
        except self._errors as exc:
            raise self._fail(exc) from None
        for key in sorted(k for k in sizes if k.endswith(".info")):
            upload_id = key[len(self.prefix):-len(".info")]
            if sizes[key] > MAX_INFO_BYTES:
                continue
            try:
                body = self._client.get_object(Bucket=self.bucket, Key=key)["Body"].read(MAX_INFO_BYTES)
                info = json.loads(body)
            except self._errors as exc:
                raise self._fail(exc) from None
            except ValueError:
                continue
            if isinstance(info, dict):
                yield _upload_from_info(upload_id, info, sizes.get(self.prefix + upload_id, 0))

    def blocks(self, upload_id: str) -> Iterator[bytes]:
        try:
            body = self._client.get_object(Bucket=self.bucket, Key=self.prefix + upload_id)["Body"]
            while block := body.read(READ_BLOCK):
                yield block
        except self._errors as exc:
            raise self._fail(exc) from None
