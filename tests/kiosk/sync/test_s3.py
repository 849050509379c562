"""The client against @tus/server on S3 (@tus/s3-store on moto): byte-identical objects with their metadata, and an
upload the store holds in full but failed to complete."""

from __future__ import annotations

import hashlib
import json

import pytest

from kiosk.sync import tus
from kiosk.sync.tus import MemoryRecord, TusClient
from tests.harness.tus import S3Bucket, random_bytes

KiB = 1024
MiB = 1024 * KiB


def test_upload_to_s3_arrives_byte_identical_with_metadata(moto_server, tus_server_factory, tmp_path):
    bucket = moto_server.new_bucket()
    server = tus_server_factory(s3=S3Bucket(moto_server, bucket))
    data = random_bytes(9 * MiB + 77, 21)          # more than one 8 MiB S3 part
    path = tmp_path / "take.webm"
    path.write_bytes(data)
    with TusClient(server.url, chunk_size=1 * MiB) as client:
        result = client.upload(path, MemoryRecord(), metadata={"filename": "take.webm", "kiosk_id": "booth-1",
                                                               "interview_uuid": "u-1", "kind": "recording"})
    assert result.verified_by == ("offset", "readback")
    upload_id = result.url.rsplit("/", 1)[1]
    assert moto_server.objects(bucket) == {upload_id: len(data), f"{upload_id}.info": pytest.approx(400, abs=300)}
    assert moto_server.sha256(bucket, upload_id) == hashlib.sha256(data).hexdigest()
    info = json.loads(moto_server.client().get_object(Bucket=bucket, Key=f"{upload_id}.info")["Body"].read())
    assert info["size"] == len(data)
    assert info["metadata"] == {"filename": "take.webm", "kiosk_id": "booth-1", "interview_uuid": "u-1",
                                "kind": "recording", "sha256": result.sha256}


def test_an_upload_stored_in_full_but_never_completed_is_finished(moto_server, tus_server_factory, tmp_path):
    """The server stores the last part and fails before completing the S3 multipart upload (as when it is killed
    at that instant): its HEAD then reports every byte, its GET fails. The client's read-back notices and one empty
    PATCH at the final offset makes the server complete it; nothing is sent twice."""
    bucket = moto_server.new_bucket()
    server = tus_server_factory(s3=S3Bucket(moto_server, bucket), s3_fail_complete=True)
    data = random_bytes(300 * KiB, 22)
    path = tmp_path / "take.webm"
    path.write_bytes(data)
    record = MemoryRecord()
    with TusClient(server.url, chunk_size=128 * KiB) as client:
        with pytest.raises(tus.TusUnavailable, match="-> 500"):
            client.upload(path, record)                   # the last PATCH: stored, not completed
        upload_id = record.upload_url.rsplit("/", 1)[1]
        assert upload_id not in moto_server.objects(bucket)
        assert client.status(record.upload_url)[0] == len(data)       # yet the server reports every byte
        result = client.upload(path, record)
    assert result.resumed_from == len(data) and result.bytes_sent == 0
    assert result.verified_by == ("offset", "readback")
    assert moto_server.sha256(bucket, upload_id) == hashlib.sha256(data).hexdigest()
