import numpy as np
import pytest

from qrtse.training.query_conditions import PAPER_QUERY_CONDITIONS, make_query, query_condition, target_from_stems

PRESENCE = np.zeros(10, dtype=np.float32)
PRESENCE[[1, 4, 7]] = 1


@pytest.mark.parametrize("n_active, n_inactive", list(PAPER_QUERY_CONDITIONS.values()) + [(2, 5), (3, 7)])
def test_query_counts_and_classes(n_active, n_inactive):
    query = make_query(PRESENCE, n_active, n_inactive, np.random.default_rng(0))
    assert query.query.shape == (10,) and query.query.dtype == np.float32
    assert query.query.sum() == n_active + n_inactive
    assert len(query.target_classes) == n_active and set(query.target_classes) <= {1, 4, 7}
    assert len(query.inactive_classes) == n_inactive and not set(query.inactive_classes) & {1, 4, 7}
    assert set(np.flatnonzero(query.query)) == set(query.target_classes) | set(query.inactive_classes)


def test_condition_names():
    assert make_query(PRESENCE, 1, 0, 0).condition == "FMQ"
    assert make_query(PRESENCE, 1, 3, 0).condition == "PMQ"
    assert make_query(PRESENCE, 0, 1, 0).condition == "FUQ"
    with pytest.raises(ValueError):
        query_condition(0, 0)


def test_seeded():
    first = make_query(PRESENCE, 1, 3, 123)
    again = make_query(PRESENCE, 1, 3, np.random.default_rng(123))
    np.testing.assert_array_equal(first.query, again.query)
    assert len({tuple(np.flatnonzero(make_query(PRESENCE, 1, 3, s).query)) for s in range(20)}) > 1


def test_impossible_queries_are_clear_errors():
    with pytest.raises(ValueError, match="only 3"):
        make_query(PRESENCE, 4, 0, 0)
    with pytest.raises(ValueError, match="only 7 classes are absent"):
        make_query(PRESENCE, 1, 8, 0)


def test_target_is_sum_of_queried_active_stems():
    stems = np.arange(5 * 4, dtype=np.float32).reshape(5, 4)
    labels = np.array([1, 4, 7, -1, -1])
    np.testing.assert_array_equal(target_from_stems(stems, labels, (4, 7)), stems[1] + stems[2])
    np.testing.assert_array_equal(target_from_stems(stems, labels, ()), np.zeros(4))
