"""polytrace: set up, build, run, stop and inspect the polytrace demo stack."""
