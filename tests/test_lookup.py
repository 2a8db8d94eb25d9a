"""Arrow key lookups agree with pandas' own ``get_indexer`` and ``isin``."""

import numpy as np
import pandas as pd
import pytest

from gridservice.lookup import contains, positions


@pytest.fixture
def ids() -> tuple[pd.Series, pd.Index]:
    rng = np.random.default_rng(7)
    keys = pd.Index([f"K{i:04d}" for i in rng.permutation(500)], dtype="str")
    values = pd.Series([f"K{i:04d}" for i in rng.integers(0, 700, 2000)], dtype="str",
                       index=pd.Index([f"R{i}" for i in range(2000)], dtype="str"))
    values[values.index[::17]] = None
    return values, keys


def test_positions_match_get_indexer(ids: tuple[pd.Series, pd.Index]) -> None:
    values, keys = ids
    expected = keys.get_indexer(values.fillna("<missing>"))
    assert positions(values, keys).tolist() == expected.tolist()
    assert (positions(values, keys) == -1).sum() > values.isna().sum()  # absent keys as well as missing ones


def test_contains_matches_isin_with_repeated_keys(ids: tuple[pd.Series, pd.Index]) -> None:
    values, keys = ids
    repeated = pd.Series(list(keys[:300]) * 2 + [None], dtype="str")
    expected = values.isin(repeated.dropna()) & values.notna()
    got = contains(values, repeated)
    assert got.dtype == bool
    assert got.tolist() == expected.tolist()
    assert 0 < got.sum() < len(values)


def test_numbers_fall_back_to_pandas() -> None:
    assert positions(np.array([3, 1, 9]), pd.Index([1, 2, 3])).tolist() == [2, 0, -1]
    assert contains(pd.Series([3.0, np.nan, 9.0]), pd.Index([3.0, np.nan])).tolist() == [True, False, False]
    assert positions(pd.Series([], dtype="str"), pd.Index(["a"])).tolist() == []
