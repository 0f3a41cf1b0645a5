"""DynamoDB tables through plain Python values: the one data layer of the project.

Items, keys and expression values are plain dicts of str, int, float, bool, None, bytes, lists, dicts and sets;
boto3's TypeSerializer/TypeDeserializer turn them into DynamoDB's attribute values and back (numbers come back as
int when whole, else float). Expressions stay DynamoDB's own strings, with `names`/`values` for their placeholders.
A failed condition raises `ConditionFailed`, which each caller turns into its domain error. Query and scan page
through `LastEvaluatedKey` as iterators. Every call uses the one client factory (core/aws.py).
"""

from __future__ import annotations

import math
import random
import time
from dataclasses import dataclass
from decimal import Decimal, DecimalException
from typing import Any, Iterable, Iterator, Mapping

from boto3.dynamodb.types import TypeDeserializer, TypeSerializer
from botocore.exceptions import ClientError

from core import aws
from core.errors import InvalidInputError

Item = dict[str, Any]
_BATCH_WRITE_MAX = 25  # DynamoDB's limit per BatchWriteItem call
MAX_NESTING = 32  # DynamoDB's limit on nested lists and maps in one attribute


class ConditionFailed(Exception):
    """The write's condition did not hold (DynamoDB's ConditionalCheckFailedException)."""


class _Deserializer(TypeDeserializer):
    def _deserialize_n(self, value: str) -> int | float:
        number = Decimal(value)
        return int(number) if number == number.to_integral_value() else float(number)

    def _deserialize_b(self, value: bytes) -> bytes:
        return bytes(value)


_serializer = TypeSerializer()
_deserializer = _Deserializer()


def _decimals(value: Any, depth: int = 0) -> Any:
    # DynamoDB numbers are decimals; boto3 refuses floats, whose repr is the shortest exact decimal.
    if depth > MAX_NESTING:
        raise InvalidInputError(f"a value nests deeper than the {MAX_NESTING} levels DynamoDB stores")
    if isinstance(value, float):
        if not math.isfinite(value):
            raise InvalidInputError(f"{value} is not a number DynamoDB stores")
        return Decimal(repr(value))
    if isinstance(value, Mapping):
        if "" in value:  # an attribute name (a map's keys too) is 1 to 65,535 bytes
            raise InvalidInputError("a key is empty: DynamoDB stores no attribute with an empty name")
        return {k: _decimals(v, depth + 1) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_decimals(v, depth + 1) for v in value]
    if isinstance(value, (set, frozenset)):
        return {_decimals(v, depth + 1) for v in value}
    return value


def attribute_value(value: Any) -> dict[str, Any]:
    """One plain value as a DynamoDB attribute value (`"x"` → `{"S": "x"}`).

    Values DynamoDB cannot hold (a number past 38 significant digits or 1e125, NaN, deeper than 32 levels) are
    refused with InvalidInputError: they come from a caller's free-form JSON (preferences, configuration)."""
    try:
        return _serializer.serialize(_decimals(value))
    except DecimalException:
        raise InvalidInputError("a number is out of the range DynamoDB stores (at most 38 significant digits, "
                                "magnitude 1e-130 to 1e126)") from None


def to_attributes(item: Mapping[str, Any]) -> dict[str, Any]:
    """A plain item (or key) as DynamoDB's attribute-value map."""
    return {name: attribute_value(value) for name, value in item.items()}


def from_attributes(attributes: Mapping[str, Any]) -> Item:
    """DynamoDB's attribute-value map as a plain item."""
    return {name: _deserializer.deserialize(value) for name, value in attributes.items()}


def update_expression(set: Mapping[str, Any] | None = None, remove: Iterable[str] = (),
                      add: Mapping[str, Any] | None = None) -> tuple[str, dict[str, str], dict[str, Any]]:
    """`SET #s0 = :s0 … REMOVE #r0 … ADD #a0 :a0` for attribute names given as keys, with its placeholders."""
    clauses, names, values = [], {}, {}
    for verb, tag, pairs in (("SET", "s", set), ("ADD", "a", add)):
        if not pairs:
            continue
        parts = []
        for i, (name, value) in enumerate(pairs.items()):
            names[f"#{tag}{i}"], values[f":{tag}{i}"] = name, value
            parts.append(f"#{tag}{i} = :{tag}{i}" if verb == "SET" else f"#{tag}{i} :{tag}{i}")
        clauses.append(f"{verb} {', '.join(parts)}")
    removed = list(remove)
    if removed:
        for i, name in enumerate(removed):
            names[f"#r{i}"] = name
        clauses.append("REMOVE " + ", ".join(f"#r{i}" for i in range(len(removed))))
    if not clauses:
        raise ValueError("an update needs something to set, remove or add")
    return " ".join(clauses), names, values


def projection_expression(attributes: Iterable[str]) -> tuple[str, dict[str, str]]:
    names = {f"#p{i}": name for i, name in enumerate(attributes)}
    return ", ".join(names), names


@dataclass(frozen=True)
class Page:
    items: list[Item]
    next_key: Item | None  # pass as `start_key` for the next page; None after the last


class Table:
    """One table. Thread-safe (boto3 clients are); call it off the event loop."""

    def __init__(self, name: str) -> None:
        self.name = name

    @property
    def _client(self):
        return aws.client("dynamodb")

    def get(self, key: Mapping[str, Any], *, consistent: bool = False,
            projection: Iterable[str] | None = None) -> Item | None:
        if "" in key.values():
            return None  # no item has an empty key (DynamoDB refuses to look one up: a ValidationException)
        request = self._request(key=key, projection=projection)
        if consistent:
            request["ConsistentRead"] = True
        item = self._client.get_item(**request).get("Item")
        return from_attributes(item) if item is not None else None

    def put(self, item: Mapping[str, Any], *, condition: str | None = None, names: Mapping[str, str] | None = None,
            values: Mapping[str, Any] | None = None) -> None:
        request = self._request(condition=condition, names=names, values=values)
        request["Item"] = to_attributes(item)
        self._write(self._client.put_item, request)

    def update(self, key: Mapping[str, Any], *, set: Mapping[str, Any] | None = None, remove: Iterable[str] = (),
               add: Mapping[str, Any] | None = None, condition: str | None = None,
               names: Mapping[str, str] | None = None, values: Mapping[str, Any] | None = None,
               returns: str = "NONE") -> Item | None:
        """SET/REMOVE/ADD the attributes named as keys; `returns` is DynamoDB's ReturnValues (UPDATED_NEW, ALL_OLD…)."""
        expression, update_names, update_values = update_expression(set, remove, add)
        request = self._request(key=key, condition=condition, names={**update_names, **(names or {})},
                                values={**update_values, **(values or {})})
        request.update(UpdateExpression=expression, ReturnValues=returns)
        attributes = self._write(self._client.update_item, request).get("Attributes")
        return from_attributes(attributes) if attributes is not None else None

    def update_raw(self, key: Mapping[str, Any], expression: str, *, names: Mapping[str, str] | None = None,
                   values: Mapping[str, Any] | None = None, condition: str | None = None) -> None:
        """An UpdateItem with an expression of the caller's (nested paths, if_not_exists: beyond `update`)."""
        request = self._request(key=key, condition=condition, names=names, values=values)
        request["UpdateExpression"] = expression
        self._write(self._client.update_item, request)

    def delete(self, key: Mapping[str, Any], *, condition: str | None = None, names: Mapping[str, str] | None = None,
               values: Mapping[str, Any] | None = None, return_old: bool = False) -> Item | None:
        """Delete the item; with `return_old`, the item as it was (None when there was none)."""
        request = self._request(key=key, condition=condition, names=names, values=values)
        if return_old:
            request["ReturnValues"] = "ALL_OLD"
        attributes = self._write(self._client.delete_item, request).get("Attributes")
        return from_attributes(attributes) if attributes is not None else None

    def query(self, key_condition: str, *, values: Mapping[str, Any], names: Mapping[str, str] | None = None,
              filter: str | None = None, projection: Iterable[str] | None = None, index: str | None = None,
              consistent: bool = False, forward: bool = True, limit: int | None = None,
              start_key: Mapping[str, Any] | None = None) -> Iterator[Item]:
        """The matching items, page by page, at most `limit` of them."""
        request = self._query_request(key_condition, values, names, filter, projection, index, consistent, forward)
        return self._items(self._client.query, request, limit, start_key)

    def query_page(self, key_condition: str, *, values: Mapping[str, Any], names: Mapping[str, str] | None = None,
                   filter: str | None = None, projection: Iterable[str] | None = None, index: str | None = None,
                   consistent: bool = False, forward: bool = True, limit: int | None = None,
                   start_key: Mapping[str, Any] | None = None) -> Page:
        """One page (DynamoDB's `Limit` = items read), for callers that hand paging on to their clients."""
        request = self._query_request(key_condition, values, names, filter, projection, index, consistent, forward)
        return self._page(self._client.query, request, limit, start_key)

    def scan(self, *, filter: str | None = None, names: Mapping[str, str] | None = None,
             values: Mapping[str, Any] | None = None, projection: Iterable[str] | None = None,
             consistent: bool = False, limit: int | None = None,
             start_key: Mapping[str, Any] | None = None) -> Iterator[Item]:
        """Every item (that passes `filter`), page by page, at most `limit` of them."""
        request = self._scan_request(filter, names, values, projection, consistent)
        return self._items(self._client.scan, request, limit, start_key)

    def scan_page(self, *, filter: str | None = None, names: Mapping[str, str] | None = None,
                  values: Mapping[str, Any] | None = None, projection: Iterable[str] | None = None,
                  consistent: bool = False, limit: int | None = None,
                  start_key: Mapping[str, Any] | None = None) -> Page:
        request = self._scan_request(filter, names, values, projection, consistent)
        return self._page(self._client.scan, request, limit, start_key)

    def batch_write(self, *, puts: Iterable[Mapping[str, Any]] = (), deletes: Iterable[Mapping[str, Any]] = (),
                    max_attempts: int = 8) -> None:
        """Put and delete many items, 25 per call, retrying what DynamoDB leaves unprocessed (with backoff)."""
        requests = [{"PutRequest": {"Item": to_attributes(i)}} for i in puts]
        requests += [{"DeleteRequest": {"Key": to_attributes(k)}} for k in deletes]
        for start in range(0, len(requests), _BATCH_WRITE_MAX):
            pending = requests[start:start + _BATCH_WRITE_MAX]
            for attempt in range(max_attempts):
                unprocessed = self._client.batch_write_item(RequestItems={self.name: pending}).get("UnprocessedItems")
                pending = (unprocessed or {}).get(self.name, [])
                if not pending:
                    break
                time.sleep(min(0.05 * 2 ** attempt, 2.0) * (0.5 + random.random()))
            else:
                raise RuntimeError(f"DynamoDB left {len(pending)} writes to {self.name} unprocessed")

    # requests ----------------------------------------------------------------------------------------------------
    def _request(self, *, key: Mapping[str, Any] | None = None, condition: str | None = None,
                 names: Mapping[str, str] | None = None, values: Mapping[str, Any] | None = None,
                 projection: Iterable[str] | None = None, filter: str | None = None) -> dict[str, Any]:
        request: dict[str, Any] = {"TableName": self.name}
        names = dict(names or {})
        if key is not None:
            request["Key"] = to_attributes(key)
        if condition:
            request["ConditionExpression"] = condition
        if filter:
            request["FilterExpression"] = filter
        if projection is not None:
            request["ProjectionExpression"], projected = projection_expression(projection)
            names.update(projected)
        if names:
            request["ExpressionAttributeNames"] = names
        if values:
            request["ExpressionAttributeValues"] = to_attributes(values)
        return request

    def _query_request(self, key_condition, values, names, filter, projection, index, consistent, forward):
        request = self._request(names=names, values=values, projection=projection, filter=filter)
        request["KeyConditionExpression"] = key_condition
        if index:
            request["IndexName"] = index
        if consistent:
            request["ConsistentRead"] = True
        if not forward:
            request["ScanIndexForward"] = False
        return request

    def _scan_request(self, filter, names, values, projection, consistent):
        request = self._request(names=names, values=values, projection=projection, filter=filter)
        if consistent:
            request["ConsistentRead"] = True
        return request

    @staticmethod
    def _write(call, request: dict[str, Any]) -> dict[str, Any]:
        try:
            return call(**request)
        except ClientError as exc:
            if aws.error_code(exc) == "ConditionalCheckFailedException":
                raise ConditionFailed(request.get("ConditionExpression", "")) from None
            raise

    @staticmethod
    def _items(call, request: dict[str, Any], limit: int | None, start_key: Mapping[str, Any] | None) -> Iterator[Item]:
        if start_key:
            request["ExclusiveStartKey"] = to_attributes(start_key)
        left = limit
        while left is None or left > 0:
            page = call(**request)
            for item in page.get("Items", []):
                yield from_attributes(item)
                if left is not None:
                    left -= 1
                    if left == 0:
                        return
            if "LastEvaluatedKey" not in page:
                return
            request["ExclusiveStartKey"] = page["LastEvaluatedKey"]

    @staticmethod
    def _page(call, request: dict[str, Any], limit: int | None, start_key: Mapping[str, Any] | None) -> Page:
        if start_key:
            request["ExclusiveStartKey"] = to_attributes(start_key)
        if limit is not None:
            request["Limit"] = limit
        page = call(**request)
        last = page.get("LastEvaluatedKey")
        return Page([from_attributes(i) for i in page.get("Items", [])], from_attributes(last) if last else None)
