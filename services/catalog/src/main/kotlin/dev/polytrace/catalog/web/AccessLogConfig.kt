package dev.polytrace.catalog.web

import org.springframework.boot.web.embedded.netty.NettyServerCustomizer
import org.springframework.context.annotation.Bean
import org.springframework.context.annotation.Configuration
import reactor.netty.http.server.logging.AccessLog
import reactor.netty.http.server.logging.AccessLogArgProvider
import reactor.netty.http.server.logging.AccessLogFactory

/**
 * One `request.completed` line per request, from Reactor Netty's own access log rather than a filter
 * of ours. Reactor Netty writes it while the agent's SERVER span is still current, so the MDC gives
 * it that span's `trace_id` and `span_id` (checked in a run: the span id is the `traceresponse` one).
 * `/health` is left out: probes poll it and it is untraced.
 */
@Configuration(proxyBeanMethods = false)
class AccessLogConfig {
    @Bean
    fun accessLog() = NettyServerCustomizer { server ->
        server.accessLog(true, AccessLogFactory.createFilter(::logged, ::requestCompleted))
    }
}

internal fun logged(args: AccessLogArgProvider): Boolean = path(args) != "/health"

// The event style of catalog's other lines; no query string, which may carry what a log must not.
internal fun requestCompleted(args: AccessLogArgProvider): AccessLog = AccessLog.create(
    "request.completed method={} path={} status={} duration_ms={}",
    args.method(), path(args), args.status(), args.duration(),
)

private fun path(args: AccessLogArgProvider): String = args.uri()?.toString()?.substringBefore('?') ?: ""
