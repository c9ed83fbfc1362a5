"""The only Streamlit code inside vnviz: widgets, link state and caching wrappers."""
