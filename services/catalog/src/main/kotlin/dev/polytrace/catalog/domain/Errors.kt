package dev.polytrace.catalog.domain

/** Our own database cannot be reached or does not answer in time: HTTP 503. */
class DatabaseUnavailableException(cause: Throwable) : RuntimeException("database unavailable", cause)

/** A dependency (pricing or stock) failed: it degrades the answer, never fails it. */
class DependencyException(val dependency: Dependency, message: String, cause: Throwable? = null) :
    RuntimeException(message, cause)

/** A failure flag bit (issue 14): the request fails with 500 on purpose. [flag] names the flag. */
class InjectedFailureException(val flag: String, message: String) : RuntimeException(message)
