"""Inspecting a run from the terminal: a trace as a waterfall, the log lines of a trace, the demo tour.

`viewer` reads traces back from the bundled viewer (Zipkin's API), `spans` turns Zipkin's JSON into
a tree of spans, `origins` says what made each span, `waterfall` draws it, `logs` merges the
services' JSON log lines of one trace, and `demo` strings them together for a first-time user.
"""
