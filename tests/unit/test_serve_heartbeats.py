"""Reading serve's heartbeats: which workers are live, and which still route an older registry version."""

from __future__ import annotations

from core.serve_heartbeats import Laggard, beat, laggards, leave, live_instances, stale_entries

ITEM = {"modelId": "#serve", "instances": {
    "fresh-ahead": {"version": 12, "at": 995.0},
    "fresh-behind": {"version": 9, "at": 990.0},
    "gone": {"version": 1, "at": 900.0},
}}


def test_only_workers_heard_from_recently_are_live():
    assert live_instances(ITEM, now=1000.0, stale_after=30) == {"fresh-ahead": 12, "fresh-behind": 9}


def test_the_laggards_are_the_live_workers_below_the_version():
    assert laggards(ITEM, 10, now=1000.0, stale_after=30) == [Laggard("fresh-behind", 9)]
    assert laggards(ITEM, 9, now=1000.0, stale_after=30) == []


def test_with_no_serve_worker_nothing_is_waited_for():
    assert laggards(None, 10, now=1000.0, stale_after=30) == []


def test_entries_gone_for_long_are_pruned():
    assert stale_entries(ITEM, now=1000.0, older_than=60) == ["gone"]


def test_a_heartbeat_sets_one_member_of_the_map_and_leaving_removes_it():
    assert beat("w1", 7, 5.0).values == {":v": {"version": 7, "at": 5.0}}
    assert leave("w1", "w2").expression == "REMOVE #m.#i0, #m.#i1"
