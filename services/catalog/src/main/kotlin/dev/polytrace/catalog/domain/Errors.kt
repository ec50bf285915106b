package dev.polytrace.catalog.domain

/** Our own database cannot be reached or does not answer in time: HTTP 503. */
class DatabaseUnavailableException(cause: Throwable) : RuntimeException("database unavailable", cause)

/** A dependency (pricing or stock) failed: it degrades the answer, never fails it. */
class DependencyException(val dependency: Dependency, message: String, cause: Throwable? = null) :
    RuntimeException(message, cause)
