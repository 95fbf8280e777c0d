"""Charts, one module per page: pure functions from a small table to a plotly figure, testable
without Streamlit. Only this package imports plotly.
"""
