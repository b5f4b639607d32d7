"""``storage_backends.migration`` on its own, with backends that bend the listing order."""

from __future__ import annotations

from collections.abc import Iterator

from storage_backends import GenerationState, OnSkip
from storage_backends.backends.memory import MemoryStorage
from storage_backends.migration import migrate, verify

from ..factories import make_item


class NewestFirstStorage(MemoryStorage):
    """Streams newest first, against ``iter_generations``' promise of oldest first."""

    def iter_generations(self, batch_size: int = 500, on_skip: OnSkip | None = None) -> Iterator[GenerationState]:
        yield from reversed(list(super().iter_generations(batch_size, on_skip)))


def item(generation_id: str, day: int, *, updated_day: int | None = None, prompt: str = "p") -> dict:
    return make_item(generation_id, prompt=prompt, created_at=f"2026-11-{day:02d}T00:00:00.000Z",
                     updated_at=f"2026-11-{updated_day or day:02d}T01:00:00.000Z")


def test_ordered_storages_are_paired_while_streaming():
    source, target = MemoryStorage(), MemoryStorage()
    source.save_many([item(f"g{n}", n + 1) for n in range(20)], preserve_timestamps=True)
    target.save_many([item("g3", 4, updated_day=9, prompt="newer"), item("t-only", 2)], preserve_timestamps=True)
    report = migrate(source, target, batch_size=3)
    assert (report.copied, report.newer_in_target) == (19, 1)
    assert target.get("g3").prompt == "newer"
    checked = verify(source, target, batch_size=3)
    assert (checked.checked, checked.only_in_target) == (20, 1)
    assert list(checked.differences.listed) == ["g3"]


def test_a_source_out_of_order_is_paired_by_id_and_nothing_newer_is_lost():
    source, target = NewestFirstStorage(), MemoryStorage()
    source.save_many([item(f"g{n}", n + 1) for n in range(20)], preserve_timestamps=True)
    target.save_many([item("g3", 4, updated_day=9, prompt="newer")], preserve_timestamps=True)
    report = migrate(source, target, batch_size=4)
    assert (report.copied, report.newer_in_target) == (19, 1)
    assert target.get("g3").prompt == "newer"
    again = migrate(source, target, batch_size=4)
    assert (again.copied, again.unchanged, again.newer_in_target) == (0, 19, 1)
    checked = verify(source, target, batch_size=4)
    assert checked.only_in_target is None
    assert list(checked.differences.listed) == ["g3"]


def test_a_target_out_of_order_is_paired_by_id():
    source, target = MemoryStorage(), NewestFirstStorage()
    source.save_many([item(f"g{n}", n + 1) for n in range(12)], preserve_timestamps=True)
    target.save_many([item("g0", 1, updated_day=5, prompt="newer"), item("g11", 12)], preserve_timestamps=True)
    report = migrate(source, target, batch_size=5)
    assert (report.copied, report.unchanged, report.newer_in_target) == (10, 1, 1)
    assert target.get("g0").prompt == "newer"
    assert verify(source, target).differences.count == 1
