"""The drop folder's memory: a file's stamp kept by path, the last write winning."""

from __future__ import annotations

from newsmon.compose import StoreConfig
from newsmon.records import SeenFile
from newsmon.store.base import Store


def test_files_are_remembered_by_path_and_a_new_stamp_replaces_the_old(
    store: Store, store_config: StoreConfig
) -> None:
    assert store.seen_files(["/inbox/a.txt"]) == {}
    first = [SeenFile("/inbox/a.txt", 10, 1_700_000_000_000_000_001, "aa" * 32)]
    first.append(SeenFile("/inbox/ب.txt", 20, 5, "bb" * 32))
    store.remember_files(first)
    store.remember_files([])
    assert store.seen_files(["/inbox/a.txt", "/inbox/ب.txt", "/inbox/c.txt"]) == {
        f.path: f for f in first
    }
    touched = SeenFile("/inbox/a.txt", 10, 1_700_000_000_000_000_999, "aa" * 32)
    store.remember_files([touched])
    other = store_config.open()  # another writer's connection sees the committed stamp
    try:
        assert other.seen_files(["/inbox/a.txt"]) == {"/inbox/a.txt": touched}
    finally:
        other.close()


def test_many_paths_are_looked_up_at_once(store: Store) -> None:
    files = [SeenFile(f"/inbox/{n:05d}.txt", n, n, f"{n:064x}") for n in range(1_200)]
    store.remember_files(files)
    found = store.seen_files([f.path for f in files] + ["/inbox/missing.txt"])
    assert found == {f.path: f for f in files}
