"""The browse record kept for a second visit: answers kept as given, bounded, round-tripped."""

from __future__ import annotations

import json

from nwbscope.kept_browse import BrowseRecord


def details(path: str, pad: int = 0) -> dict:
    return {"path": path, "name": path.rsplit("/", 1)[-1], "attrs": {"x": "y" * pad}}


def test_answers_round_trip_through_the_kept_json():
    record = BrowseRecord()
    record.add_children("/acquisition", [{"path": "/acquisition/es", "expandable": True}])
    record.add_details("/units", details("/units"))
    kept = json.loads(json.dumps(record.to_json()))
    again = BrowseRecord.from_json(kept)
    assert again.children == record.children
    assert again.details == record.details
    assert not again.changed  # read back, nothing new to save
    assert record.changed


def test_the_oldest_answers_go_first_past_the_entry_limit():
    record = BrowseRecord(max_entries=3)
    for i in range(5):
        record.add_details(f"/o{i}", details(f"/o{i}"))
    assert list(record.details) == ["/o2", "/o3", "/o4"]
    record.add_details("/o2", details("/o2"))  # answered again: now the newest
    record.add_details("/o5", details("/o5"))
    assert list(record.details) == ["/o4", "/o2", "/o5"]


def test_the_byte_budget_holds_and_an_answer_larger_than_it_is_not_kept():
    record = BrowseRecord(max_bytes=1000)
    record.add_details("/huge", details("/huge", pad=2000))
    assert not record.has_details("/huge")
    for i in range(10):
        record.add_details(f"/o{i}", details(f"/o{i}", pad=200))
    size = len(json.dumps(record.to_json()))
    assert size <= 1000 + 200  # the record's own keys beside the answers' budget
    assert record.has_details("/o9") and not record.has_details("/o0")


def test_malformed_kept_data_is_left_out():
    record = BrowseRecord.from_json({"children": {"/a": "not rows", "/b": []},
                                     "details": [1, 2], "other": 3})
    assert record.children == {"/b": []}
    assert record.details == {}
    assert BrowseRecord.from_json(None).to_json() == {"children": {}, "details": {}}


def test_a_long_browse_never_pushes_out_the_blocks_the_next_open_needs():
    from nwbscope.kept_browse import blocks_to_keep
    from nwbscope.sources.browser import pack_metadata, unpack_metadata

    block = b"x" * 100
    held = {n: block for n in range(20)}  # the cache, least recently used first
    opening = {0, 1, 2, 3}  # read by the open, long ago
    browsed = set(range(4, 18))  # read by a walk since; 18 and 19 by a view
    kept = blocks_to_keep(held, opening, browsed)
    assert set(kept) == set(range(18))
    stamp = {"size": 10_000, "etag": '"e"', "last_modified": None}
    _stamp, _size, packed = unpack_metadata(pack_metadata(stamp, 100, kept, limit=800))
    assert opening <= set(packed)  # the budget (8 blocks) kept all of the open's
    assert len(packed) == 8 and not {18, 19} & set(packed)
