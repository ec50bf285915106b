"""`polytrace resilience`: faults under sustained open-loop load, and what survived them (resilience/README.md)."""
