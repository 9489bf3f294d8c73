"""Streamlit-side helpers for the Neighbourhood dashboard.

- ``ui.format``: plain-English display formatting ("£", "dd Mon yyyy", "2024/25"); pure.
- ``ui.charts``: Plotly figure builders; pure, return ``go.Figure``.
- ``ui.maps``: pydeck deck builders and map-selection helpers; pure.
- ``ui.filters``: the shared sidebar filters (Streamlit), mirrored in the URL.
- ``ui.data``: cached accessors over the store (Streamlit caching).

Only ``filters`` and ``data`` import Streamlit; the rest are unit-tested without a runtime.
"""

from __future__ import annotations

from typing import Final

# The one sequential colour scale shared by maps, charts and the theme (colour-blind safe).
SEQUENTIAL_SCALE: Final[str] = "Cividis"
