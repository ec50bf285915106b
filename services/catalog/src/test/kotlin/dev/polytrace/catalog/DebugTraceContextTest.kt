package dev.polytrace.catalog

import com.sun.net.httpserver.HttpServer
import dev.polytrace.catalog.web.DebugTraceContextController
import org.assertj.core.api.Assertions.assertThat
import org.junit.jupiter.api.AfterAll
import org.junit.jupiter.api.Test
import org.junit.jupiter.api.TestInstance
import org.springframework.beans.factory.annotation.Autowired
import org.springframework.boot.test.autoconfigure.web.reactive.WebFluxTest
import org.springframework.boot.test.context.TestConfiguration
import org.springframework.context.annotation.Bean
import org.springframework.context.annotation.Import
import org.springframework.http.MediaType
import org.springframework.test.context.TestPropertySource
import org.springframework.test.web.reactive.server.WebTestClient
import org.springframework.web.reactive.function.client.WebClient
import java.net.InetSocketAddress
import java.util.concurrent.CopyOnWriteArrayList

@TestConfiguration
class DebugClientConfig {
    @Bean fun webClient(): WebClient = WebClient.create()
}

/** `POST /debug/tracecontext` with `POLYTRACE_DEBUG_ENDPOINTS=1`: every call made, in order. */
@WebFluxTest(controllers = [DebugTraceContextController::class])
@Import(DebugClientConfig::class)
@TestPropertySource(properties = ["catalog.debug-endpoints=1"])
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class DebugTraceContextTest {
    @Autowired lateinit var client: WebTestClient

    private val bodies = CopyOnWriteArrayList<String>()
    private val callback = HttpServer.create(InetSocketAddress("127.0.0.1", 0), 0).apply {
        createContext("/cb") { exchange ->
            bodies.add(exchange.requestBody.readAllBytes().decodeToString())
            exchange.sendResponseHeaders(200, -1)
            exchange.close()
        }
        start()
    }

    @AfterAll
    fun stop() = callback.stop(0)

    @Test
    fun `posts each arguments to its url then answers 200`() {
        val url = "http://127.0.0.1:${callback.address.port}/cb"
        client.post().uri("/debug/tracecontext").contentType(MediaType.APPLICATION_JSON)
            .bodyValue("""[{"url": "$url", "arguments": [1]}, {"url": "$url", "arguments": {"a": 2}}]""")
            .exchange()
            .expectStatus().isOk
        assertThat(bodies).containsExactly("[1]", """{"a":2}""")
    }

    @Test
    fun `another body is a 400`() {
        client.post().uri("/debug/tracecontext").contentType(MediaType.APPLICATION_JSON)
            .bodyValue("""{"url": "x"}""")
            .exchange()
            .expectStatus().isBadRequest
    }
}

/** Without the flag the controller does not exist. */
@WebFluxTest(controllers = [DebugTraceContextController::class])
@Import(DebugClientConfig::class)
class DebugTraceContextDisabledTest {
    @Autowired lateinit var client: WebTestClient

    @Test
    fun `is 404 by default`() {
        client.post().uri("/debug/tracecontext").contentType(MediaType.APPLICATION_JSON)
            .bodyValue("[]")
            .exchange()
            .expectStatus().isNotFound
    }
}
