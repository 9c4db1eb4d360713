"""Views: what the notebooks call, the explorer, the reviewer's audit and the trace of a figure."""
