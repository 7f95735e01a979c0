"""ntrace: the host side of the kernel's tracer (kernel/trace/, docs/tracing.md).

parse.py reads the dump, model.py turns events into slices and arrows,
chrome.py writes the Trace Event Format, svg.py draws the timeline,
summary.py prints the tables.  Python 3 standard library only.
"""
