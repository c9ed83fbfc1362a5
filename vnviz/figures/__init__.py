"""Plotly figure builders: small summaries in, ``go.Figure`` out."""
