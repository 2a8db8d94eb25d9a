"""gridservice: a grid-based service-area GIS for electric distribution utilities.

The pipeline, left to right (imports run one way)::

    io ─► model ─► spatial / topology ─► events ─► metrics ─► maps · api · cli
"""

from __future__ import annotations

import pandas as pd

__version__ = "0.1.0"

# gridservice's text columns are pandas' "str" dtype, whose missing value is NaN. pandas 3 has it by
# default; pandas 2.3 only with this switch, and without it astype("str") turns a missing value into
# the text "nan" (or "None") — a meter without an access point then points at access point "nan".
if pd.__version__.startswith("2."):
    pd.options.future.infer_string = True
