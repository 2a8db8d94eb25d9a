"""gridservice: a grid-based service-area GIS for electric distribution utilities.

The pipeline, left to right (imports run one way)::

    io ─► model ─► spatial / topology ─► events ─► metrics ─► maps · api · cli
"""

from __future__ import annotations

__version__ = "0.1.0"
