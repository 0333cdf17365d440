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
