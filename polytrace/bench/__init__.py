"""`polytrace bench`: what tracing costs, whether every trace arrives, startup time and memory (issue 8).

plan.py holds the parameters of a quick and a full run, stack.py starts and measures one stack,
load.py drives it (oha for throughput and latency, a Python client that keeps every trace id for
completeness), traces.py follows the traces, report.py writes results.json, summary.md and the
charts, runner.py puts the phases in order. bench/README.md explains every figure.
"""
