"""DynamoDB on the event loop, for what serve does all day: the registry version read twice a second, token
lookups, rate-limit leases, and the usage and audit batches.

Why not boto3 in a thread: measured here, one botocore GetItem costs ~5 ms of CPU in the calling process, and a
thread holding the GIL that long stalls the event loop (the interpreter hands the GIL back only every 5 ms), which
lands straight in the gateway's p99. This signs the request with botocore's SigV4 signer (same credentials and
endpoint as core.aws) and sends it over serve's pooled HTTP client: no thread, a fraction of the CPU.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any
from urllib.parse import urlsplit

import orjson
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest

from core import aws
from core.dynamo import ConditionFailed, from_attributes, projection_expression, to_attributes
from core.errors import UpstreamError
from services.serve.upstream import Upstreams

_BATCH_WRITE_MAX = 25  # DynamoDB's limit per BatchWriteItem call
_CREDENTIALS_TTL_S = 60.0  # re-read (and let botocore refresh) the session's credentials this often


class AsyncDynamo:
    def __init__(self, upstreams: Upstreams, *, timeout_s: float = 5.0) -> None:
        self.upstreams = upstreams
        self.timeout_s = timeout_s
        meta = aws.client("dynamodb").meta  # boto3's own endpoint resolution (overrides, FIPS, partitions)
        self.region = meta.region_name
        self.endpoint = meta.endpoint_url.rstrip("/")
        self._host = urlsplit(self.endpoint).netloc
        self._credentials: Any = None
        self._credentials_at = float("-inf")

    async def get_item(self, table: str, key: dict[str, Any], *, consistent: bool = True,
                       projection: list[str] | None = None) -> dict[str, Any] | None:
        """The item (plain values, as core.dynamo gives them) or None; UpstreamError when DynamoDB refuses."""
        request: dict[str, Any] = {"TableName": table, "Key": to_attributes(key), "ConsistentRead": consistent}
        if projection:
            request["ProjectionExpression"], request["ExpressionAttributeNames"] = projection_expression(projection)
        item = (await self._call("GetItem", orjson.dumps(request))).get("Item")
        return from_attributes(item) if item is not None else None

    async def put_item(self, table: str, item: dict[str, Any], *, condition: str | None = None,
                       names: dict[str, str] | None = None, values: dict[str, Any] | None = None) -> None:
        """A (conditional) PutItem of plain values; ConditionFailed when the condition does not hold."""
        request: dict[str, Any] = {"TableName": table, "Item": to_attributes(item)}
        if condition:
            request["ConditionExpression"] = condition
        if names:
            request["ExpressionAttributeNames"] = names
        if values:
            request["ExpressionAttributeValues"] = to_attributes(values)
        await self._call("PutItem", orjson.dumps(request))

    async def update_item(self, table: str, key: dict[str, Any], expression: str, *,
                          names: dict[str, str] | None = None, values: dict[str, Any] | None = None) -> None:
        """An UpdateItem with the caller's expression; UpstreamError (with DynamoDB's code) when it is refused."""
        request: dict[str, Any] = {"TableName": table, "Key": to_attributes(key), "UpdateExpression": expression}
        if names:
            request["ExpressionAttributeNames"] = names
        if values:
            request["ExpressionAttributeValues"] = to_attributes(values)
        await self._call("UpdateItem", orjson.dumps(request))

    async def batch_write(self, table: str, items: list[dict[str, Any]], *, attempts: int = 5) -> None:
        """Put `items` in batches of 25, retrying what DynamoDB leaves unprocessed (with a short backoff)."""
        for start in range(0, len(items), _BATCH_WRITE_MAX):
            requests = [{"PutRequest": {"Item": to_attributes(i)}} for i in items[start:start + _BATCH_WRITE_MAX]]
            for attempt in range(attempts):
                result = await self._call("BatchWriteItem", orjson.dumps({"RequestItems": {table: requests}}))
                requests = (result.get("UnprocessedItems") or {}).get(table) or []
                if not requests:
                    break
                await asyncio.sleep(0.05 * 2 ** attempt)
            else:
                raise UpstreamError(f"DynamoDB left {len(requests)} items unwritten in {table}")

    async def _call(self, operation: str, body: bytes) -> dict[str, Any]:
        head = await self._signed_head(operation, body)
        response = await self.upstreams.pool(self.endpoint).request(head, body, self.timeout_s)
        try:
            data = await response.read()
        finally:
            response.close()
        if response.status != 200:
            code = _error_code(data)
            if code == "ConditionalCheckFailedException":
                raise ConditionFailed(f"DynamoDB {operation}: the condition did not hold")
            raise UpstreamError(f"DynamoDB {operation} answered {response.status} ({code})", code=code)
        return orjson.loads(data)

    async def _signed_head(self, operation: str, body: bytes) -> bytes:
        credentials = await self._frozen_credentials()
        request = AWSRequest(method="POST", url=f"{self.endpoint}/", data=body, headers={
            "Content-Type": "application/x-amz-json-1.0", "X-Amz-Target": f"DynamoDB_20120810.{operation}",
            "Host": self._host})
        SigV4Auth(credentials, "dynamodb", self.region).add_auth(request)
        lines = "".join(f"{name}: {value}\r\n" for name, value in request.headers.items())
        return f"POST / HTTP/1.1\r\n{lines}content-length: {len(body)}\r\n\r\n".encode("latin-1")

    async def _frozen_credentials(self):
        if self._credentials is None or time.monotonic() - self._credentials_at > _CREDENTIALS_TTL_S:
            source = aws.credentials()
            if source is None:
                raise UpstreamError("no AWS credentials for DynamoDB")
            # A refresh may call the credentials endpoint: keep that blocking call off the loop.
            self._credentials = await asyncio.to_thread(source.get_frozen_credentials)
            self._credentials_at = time.monotonic()
        return self._credentials


def _error_code(data: bytes) -> str:
    try:
        return str(orjson.loads(data).get("__type", "")).rsplit("#", 1)[-1] or "unknown"
    except (orjson.JSONDecodeError, AttributeError):
        return "unreadable"
