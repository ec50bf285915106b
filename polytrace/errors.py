class PolytraceError(Exception):
    """An error meant for the user: printed as one line at the CLI boundary, exit status 1."""
