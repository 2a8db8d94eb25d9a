"""gridservice: a grid-based service-area GIS for electric distribution utilities.

The pipeline, left to right (imports run one way)::

    io ─► model ─► spatial / topology ─► events ─► metrics ─► maps · api · cli
"""

from __future__ import annotations

import pandas as pd

if int(pd.__version__.split(".")[0]) < 3:
    # The code is written for pandas 3's semantics: Arrow-backed ``str`` columns whose missing
    # values stay missing, copy-on-write, no silent downcasting. pandas 2.3 ships them as opt-ins.
    pd.options.future.infer_string = True
    pd.options.future.no_silent_downcasting = True
    pd.options.mode.copy_on_write = True

__version__ = "0.1.0"
