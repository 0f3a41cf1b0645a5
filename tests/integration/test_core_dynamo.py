"""core.dynamo.Table against the emulator: plain values in and out, conditions, paging, batches."""

from __future__ import annotations

import uuid

import pytest

from core import aws
from core.dynamo import ConditionFailed, Table


@pytest.fixture(scope="module")
def table(moto_endpoint) -> Table:
    name = f"core-dynamo-{uuid.uuid4().hex[:8]}"
    aws.client("dynamodb").create_table(
        TableName=name, BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}, {"AttributeName": "sk", "AttributeType": "S"}],
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}])
    return Table(name)


def test_an_item_reads_back_as_written(table):
    item = {"pk": "a", "sk": "1", "n": 3, "f": 0.5, "tags": ["x"], "meta": {"ok": True}}
    table.put(item)
    assert table.get({"pk": "a", "sk": "1"}, consistent=True) == item
    assert table.get({"pk": "a", "sk": "1"}, projection=["n", "name"]) == {"n": 3}
    assert table.get({"pk": "a", "sk": "missing"}) is None


def test_an_empty_key_finds_nothing(table):
    # DynamoDB refuses to look up an empty key (ValidationException): a body naming document "" was a 500.
    assert table.get({"pk": "", "sk": "1"}, consistent=True) is None


def test_a_conditional_put_that_fails_raises_condition_failed(table):
    table.put({"pk": "b", "sk": "1"}, condition="attribute_not_exists(pk)")
    with pytest.raises(ConditionFailed):
        table.put({"pk": "b", "sk": "1"}, condition="attribute_not_exists(pk)")


def test_update_sets_removes_and_adds(table):
    key = {"pk": "c", "sk": "1"}
    table.put({**key, "status": "old", "reason": "why"})
    new = table.update(key, set={"status": "new"}, remove=["reason"], add={"count": 2}, returns="ALL_NEW")
    assert new == {**key, "status": "new", "count": 2}
    assert table.update(key, add={"count": 1}, returns="UPDATED_NEW") == {"count": 3}
    with pytest.raises(ConditionFailed):
        table.update(key, set={"status": "x"}, condition="#st = :want", names={"#st": "status"},
                     values={":want": "old"})
    assert table.get(key)["status"] == "new"


def test_delete_returns_the_old_item_and_honours_its_condition(table):
    key = {"pk": "d", "sk": "1"}
    table.put({**key, "owner": "me"})
    with pytest.raises(ConditionFailed):
        table.delete(key, condition="#o = :o", names={"#o": "owner"}, values={":o": "you"})
    assert table.delete(key, condition="#o = :o", names={"#o": "owner"}, values={":o": "me"},
                        return_old=True) == {**key, "owner": "me"}
    assert table.delete(key, return_old=True) is None


def test_query_and_scan_page_through_everything(table):
    table.batch_write(puts=[{"pk": "many", "sk": f"{i:03d}", "even": i % 2 == 0, "blob": "x" * 4000}
                            for i in range(300)])  # ~1.2 MB: more than one 1 MB page
    got = list(table.query("pk = :p", values={":p": "many"}, projection=["sk"]))
    assert [i["sk"] for i in got] == [f"{i:03d}" for i in range(300)]
    evens = table.query("pk = :p", filter="even = :t", values={":p": "many", ":t": True})
    assert len(list(evens)) == 150
    assert len(list(table.query("pk = :p", values={":p": "many"}, limit=7))) == 7
    assert [i["sk"] for i in table.query("pk = :p", values={":p": "many"}, forward=False, limit=2)] == ["299", "298"]
    scanned = [i for i in table.scan(filter="pk = :p", values={":p": "many"}, projection=["pk", "sk"])]
    assert len(scanned) == 300 and set(scanned[0]) == {"pk", "sk"}


def test_a_page_hands_over_where_the_next_one_starts(table):
    table.batch_write(puts=[{"pk": "paged", "sk": f"{i:02d}"} for i in range(25)])
    seen, start = [], None
    while True:
        page = table.query_page("pk = :p", values={":p": "paged"}, limit=10, start_key=start)
        seen += [i["sk"] for i in page.items]
        if page.next_key is None:
            break
        start = page.next_key
    assert seen == [f"{i:02d}" for i in range(25)]
    rest = list(table.query("pk = :p", values={":p": "paged"}, start_key={"pk": "paged", "sk": "19"}))
    assert [i["sk"] for i in rest] == ["20", "21", "22", "23", "24"]


def test_batch_write_deletes_more_than_one_call_holds(table):
    keys = [{"pk": "gone", "sk": f"{i:02d}"} for i in range(60)]
    table.batch_write(puts=keys)
    table.batch_write(deletes=keys)
    assert list(table.query("pk = :p", values={":p": "gone"})) == []
