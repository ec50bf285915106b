package dev.polytrace.catalog

import ch.qos.logback.classic.Logger
import ch.qos.logback.classic.spi.ILoggingEvent
import ch.qos.logback.core.read.ListAppender
import dev.polytrace.catalog.web.AccessLogConfig
import org.assertj.core.api.Assertions.assertThat
import org.junit.jupiter.api.Test
import org.slf4j.LoggerFactory
import reactor.core.publisher.Mono
import reactor.netty.http.client.HttpClient
import reactor.netty.http.server.HttpServer

/** The access log on a real Reactor Netty server: one line per request, in our event style, no probes. */
class AccessLogTest {
    @Test
    fun `one request_completed line per request and none for health`() {
        val appender = ListAppender<ILoggingEvent>().apply { start() }
        val logger = LoggerFactory.getLogger("reactor.netty.http.server.AccessLog") as Logger
        logger.addAppender(appender)
        val server = AccessLogConfig().accessLog().apply(HttpServer.create().host("127.0.0.1").port(0).route {
            it.get("/health") { _, response -> response.sendString(Mono.just("ok")) }
            it.get("/products/{id}") { _, response -> response.status(404).sendString(Mono.just("{}")) }
        }).bindNow()
        try {
            val client = HttpClient.create().baseUrl("http://127.0.0.1:${server.port()}")
            for (path in listOf("/health", "/products/7?secret=1")) {
                client.get().uri(path).responseContent().aggregate().asString().block()
            }
            // Written once the response is flushed, which may be just after the client has read it.
            val deadline = System.nanoTime() + 5_000_000_000
            while (appender.list.isEmpty() && System.nanoTime() < deadline) Thread.sleep(20)
        } finally {
            server.disposeNow()
            logger.detachAppender(appender)
        }
        assertThat(appender.list.map { it.formattedMessage }).singleElement().asString()
            .matches("request\\.completed method=GET path=/products/7 status=404 duration_ms=\\d+")
    }
}
