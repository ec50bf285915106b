"""`polytrace bench`: what tracing costs, whether every trace arrives, startup time and memory (issue 8).

plan.py holds the parameters of a quick and a full run, stack.py starts and measures one stack,
load.py drives it (oha for throughput and latency, a Python client that keeps every trace id for
completeness), traces.py follows the traces, results.py types what a run measured and is the one
reader and writer of results.json, report.py turns it into the summary, summary.md and the charts,
compare.py says whether two runs agree, runner.py puts the phases in order. bench/README.md explains
every figure.
"""
