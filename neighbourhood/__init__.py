"""Neighbourhood: ward-level evidence on street cleansing and environmental enforcement.

Pure Python (pandas, geopandas, DuckDB); never imports Streamlit.
"""

from __future__ import annotations

__version__ = "0.1.0"
