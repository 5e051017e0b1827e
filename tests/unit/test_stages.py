from newsmon.stages import balanced_batch_size, batched


def test_a_run_that_fits_one_batch_stays_one_batch() -> None:
    assert balanced_batch_size(5, 500, 2) == 500
    assert balanced_batch_size(500, 500, 2) == 500


def test_a_run_over_one_batch_gives_each_worker_several_batches() -> None:
    size = balanced_batch_size(600, 500, 2)
    sizes = [len(b) for b in batched(range(600), size)]
    assert sizes == [75] * 8  # was 500 and 100: one worker did most of the run alone
    assert max(sizes) - min(sizes) <= 1


def test_large_runs_keep_the_ceiling_and_small_batches_the_floor() -> None:
    assert balanced_batch_size(100_000, 500, 2) == 500
    assert balanced_batch_size(150, 100, 2) == 50  # never cut below 50 for balance
    assert balanced_batch_size(14, 4, 2) == 4  # a ceiling under the floor is kept
