package dev.polytrace.catalog.web

import com.fasterxml.jackson.databind.ObjectMapper
import dev.polytrace.catalog.domain.DatabaseUnavailableException
import dev.polytrace.catalog.domain.InjectedFailureException
import dev.polytrace.catalog.telemetry.Telemetry
import io.opentelemetry.api.trace.Span
import org.slf4j.LoggerFactory
import org.springframework.boot.web.reactive.error.ErrorWebExceptionHandler
import org.springframework.core.annotation.Order
import org.springframework.http.HttpStatus
import org.springframework.http.HttpStatusCode
import org.springframework.http.MediaType
import org.springframework.stereotype.Component
import org.springframework.web.server.ResponseStatusException
import org.springframework.web.server.ServerWebExchange
import org.springframework.web.server.ServerWebInputException
import reactor.core.publisher.Mono

/**
 * Replaces Spring Boot's default error handler (which can render stack traces): every error is
 * `{"error": "<message>"}` with a status that says what happened — 400 bad input, 404 no such
 * route, 503 our database is down, 500 a bug or a failure flag. Details go to the log and, for
 * 5xx, to the SERVER span as an exception event; the agent sets the span's ERROR status and
 * `error.type` for 5xx.
 */
@Component
@Order(-2)
class JsonErrorHandler(private val json: ObjectMapper) : ErrorWebExceptionHandler {
    private val log = LoggerFactory.getLogger(javaClass)

    override fun handle(exchange: ServerWebExchange, ex: Throwable): Mono<Void> {
        val response = exchange.response
        if (response.isCommitted) return Mono.error(ex)
        val (status, message) = classify(ex)
        if (status.is5xxServerError) {
            if (ex is DatabaseUnavailableException) {
                // An outage, not a bug: one line, no stack trace.
                log.warn("request.failed status={} path={} error={} cause={}", status.value(), exchange.request.path.value(), ex.message, ex.cause.toString())
            } else if (ex is InjectedFailureException) {
                // On purpose: one line naming the flag, no stack trace.
                log.warn("request.failed status={} path={} flag={}", status.value(), exchange.request.path.value(), ex.flag)
            } else {
                log.error("request.failed status={} path={} error={}", status.value(), exchange.request.path.value(), ex.toString(), ex)
            }
            val serverSpan = exchange.getAttribute<Span>(TraceResponseFilter.SERVER_SPAN)
            serverSpan?.let { Telemetry.fail(it, errorType(ex), ex, message) }
        }
        response.statusCode = status
        response.headers.contentType = MediaType.APPLICATION_JSON
        val bytes = json.writeValueAsBytes(ErrorBody(message))
        return response.writeWith(Mono.fromSupplier { response.bufferFactory().wrap(bytes) })
    }

    private fun classify(ex: Throwable): Pair<HttpStatusCode, String> = when (ex) {
        is ServerWebInputException ->
            HttpStatus.BAD_REQUEST to if (ex.methodParameter?.parameterName == "id") "invalid product id: must be a positive integer" else "bad request"
        is DatabaseUnavailableException -> HttpStatus.SERVICE_UNAVAILABLE to "database unavailable"
        is InjectedFailureException -> HttpStatus.INTERNAL_SERVER_ERROR to (ex.message ?: "injected failure")
        is ResponseStatusException -> ex.statusCode to (HttpStatus.resolve(ex.statusCode.value())?.reasonPhrase?.lowercase() ?: "error")
        else -> HttpStatus.INTERNAL_SERVER_ERROR to "internal error"
    }

    private fun errorType(ex: Throwable): String = when (ex) {
        is DatabaseUnavailableException -> "database_unavailable"
        is InjectedFailureException -> Telemetry.INJECTED_FAILURE
        else -> ex.javaClass.name
    }
}
