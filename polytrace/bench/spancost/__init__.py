"""`polytrace bench --span-cost`: the CPU one span costs in each service's SDK, set up as that service sets it up.

programs.py says which program runs for each language, beside which service, with which pins;
receiver.py counts what arrives; measure.py drives each program and does the arithmetic;
report.py writes the table. bench/README.md, "What one span costs", explains the method.
"""
