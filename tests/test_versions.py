"""The pandas semantics the code is written for hold on every supported pandas (2.3 and 3.x).

CI runs the suite on the newest and on the lowest declared versions; these
tests name the two behaviours that differ between them, so a break shows here
first rather than as a wrong count deep in a metric.
"""

import numpy as np
import pandas as pd
import pyarrow as pa

import gridservice  # noqa: F401  (opts pandas 2.3 in to pandas 3's semantics)
from gridservice.topology.network import _wrap


def test_str_columns_are_arrow_backed_and_keep_missing_values_missing() -> None:
    s = pd.Series(["M-1", None, np.nan], dtype="str")
    assert isinstance(s.dtype, pd.StringDtype)
    assert s.dtype.storage == "pyarrow"
    assert s.isna().tolist() == [False, True, True]
    # pandas 2 without the opt-in writes the string "nan" here
    assert pd.Series(["M-1", np.nan], dtype=object).astype("str").isna().tolist() == [False, True]
    assert pd.Series(["M-1", "M-2"]).dtype == s.dtype  # inferred, not object


def test_a_column_taken_from_a_frame_is_a_copy_on_write() -> None:
    frame = pd.DataFrame({"kwh": [1.0, 2.0]})
    column = frame["kwh"]
    column.iloc[0] = 99.0
    assert frame["kwh"].tolist() == [1.0, 2.0]


def test_wrap_makes_a_str_index_from_arrow_strings() -> None:
    text = pa.large_string()
    chunks = pa.chunked_array([pa.array(["T1", None], type=text), pa.array(["T2"], type=text)])
    for arr in (pa.array(["T1", None, "T2"], type=text), chunks):
        ids = _wrap(arr, name="device_id")
        assert ids.dtype == pd.Index([], dtype="str").dtype
        assert ids.name == "device_id"
        assert len(ids) == 3
        assert ids[0] == "T1" and ids[2] == "T2" and pd.isna(ids[1])
