"""polytrace pricing service."""
