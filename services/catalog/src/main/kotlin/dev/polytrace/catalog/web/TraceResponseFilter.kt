package dev.polytrace.catalog.web

import io.opentelemetry.api.trace.Span
import io.opentelemetry.api.trace.SpanContext
import org.springframework.core.Ordered
import org.springframework.core.annotation.Order
import org.springframework.stereotype.Component
import org.springframework.web.server.ServerWebExchange
import org.springframework.web.server.WebFilter
import org.springframework.web.server.WebFilterChain
import reactor.core.publisher.Mono

/**
 * Adds `traceresponse: 00-<trace-id>-<span-id>-<flags>` (W3C Trace Context Level 2) to every
 * response, errors included. It runs first in the filter chain, where the current span is the
 * Java agent's SERVER span for this exchange (no `@WithSpan` span has started yet); that span is
 * also kept as an exchange attribute for [JsonErrorHandler]. The header is set again just before
 * the response is committed, so error handling cannot lose it.
 */
@Component
@Order(Ordered.HIGHEST_PRECEDENCE)
class TraceResponseFilter : WebFilter {
    override fun filter(exchange: ServerWebExchange, chain: WebFilterChain): Mono<Void> {
        val span = Span.current()
        val value = traceResponse(span.spanContext)
        if (value != null) {
            exchange.attributes[SERVER_SPAN] = span
            val response = exchange.response
            response.headers.set(HEADER, value)
            response.beforeCommit {
                response.headers.set(HEADER, value)
                Mono.empty()
            }
        }
        return chain.filter(exchange)
    }

    companion object {
        const val HEADER = "traceresponse"
        val SERVER_SPAN: String = TraceResponseFilter::class.java.name + ".serverSpan"

        /** The header value for [context], or null when there is no valid span (agent absent or disabled). */
        fun traceResponse(context: SpanContext): String? =
            if (context.isValid) "00-${context.traceId}-${context.spanId}-${context.traceFlags.asHex()}" else null
    }
}
