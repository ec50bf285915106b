package dev.polytrace.catalog

import com.fasterxml.jackson.databind.ObjectMapper
import com.fasterxml.jackson.module.kotlin.jacksonObjectMapper
import dev.polytrace.catalog.config.CatalogProperties
import dev.polytrace.catalog.messaging.MqttPageViewPublisher
import dev.polytrace.catalog.messaging.MqttUserPropertiesSetter
import dev.polytrace.catalog.messaging.PageViewEvent
import dev.polytrace.catalog.web.TraceResponseFilter
import io.opentelemetry.api.baggage.Baggage
import io.opentelemetry.api.baggage.propagation.W3CBaggagePropagator
import io.opentelemetry.api.trace.Span
import io.opentelemetry.api.trace.SpanContext
import io.opentelemetry.api.trace.TraceFlags
import io.opentelemetry.api.trace.TraceState
import io.opentelemetry.api.trace.propagation.W3CTraceContextPropagator
import io.opentelemetry.context.Context
import io.opentelemetry.context.propagation.TextMapPropagator
import org.assertj.core.api.Assertions.assertThat
import org.eclipse.paho.mqttv5.common.packet.UserProperty
import org.junit.jupiter.api.Test
import org.springframework.test.web.reactive.server.WebTestClient
import org.springframework.web.server.WebFilter
import java.net.URI
import java.time.Duration
import java.time.OffsetDateTime

class TelemetryTest {
    private val spanContext = SpanContext.create(
        "0af7651916cd43dd8448eb211c80319c", "b7ad6b7169203331", TraceFlags.getSampled(),
        TraceState.builder().put("vendor", "abc").build(),
    )

    @Test
    fun `traceresponse carries the current span's ids`() {
        assertThat(TraceResponseFilter.traceResponse(spanContext))
            .isEqualTo("00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01")
        assertThat(TraceResponseFilter.traceResponse(SpanContext.getInvalid())).isNull()
    }

    @Test
    fun `traceresponse header is set from the span current when the exchange starts`() {
        // Stands in for the agent, which has its SERVER span current when the filter is invoked.
        val underServerSpan = WebFilter { exchange, chain ->
            Context.root().with(Span.wrap(spanContext)).makeCurrent().use { TraceResponseFilter().filter(exchange, chain) }
        }
        val client = WebTestClient.bindToWebHandler { exchange -> exchange.response.setComplete() }
            .webFilter<WebTestClient.MockServerSpec<*>>(underServerSpan)
            .build()
        client.get().uri("/anything").exchange()
            .expectHeader().valueEquals("traceresponse", "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01")
    }

    @Test
    fun `propagator writes traceparent, tracestate and baggage as MQTT user properties`() {
        val propagator = TextMapPropagator.composite(W3CTraceContextPropagator.getInstance(), W3CBaggagePropagator.getInstance())
        val context = Context.root().with(Span.wrap(spanContext)).with(Baggage.builder().put("user", "alice").build())
        val properties = mutableListOf<UserProperty>()
        propagator.inject(context, properties, MqttUserPropertiesSetter)
        assertThat(properties.associate { it.key to it.value }).isEqualTo(
            mapOf(
                "traceparent" to "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
                "tracestate" to "vendor=abc",
                "baggage" to "user=alice",
            ),
        )
    }

    @Test
    fun `page-view payload has the contract's fields`() {
        val json: ObjectMapper = jacksonObjectMapper()
        val node = json.readTree(json.writeValueAsBytes(PageViewEvent("3f0c", "/products/1", "127.0.0.1", "2025-01-01T00:00:00.000Z")))
        assertThat(node.fieldNames().asSequence().toList()).containsExactly("id", "path", "clientIp", "ts")
        OffsetDateTime.parse(node["ts"].asText()) // RFC 3339
    }

    @Test
    fun `publisher never blocks the request and counts what overflows its buffer`() {
        // Nothing listens on port 1 and the publisher is not started: every event waits in the buffer.
        val properties = CatalogProperties(
            pricingUrl = URI("http://127.0.0.1:1"), stockUrl = URI("http://127.0.0.1:1"),
            dependencyTimeout = Duration.ofSeconds(2), databaseTimeout = Duration.ofSeconds(3),
            mqtt = CatalogProperties.Mqtt("127.0.0.1", 1, "analytics", "catalog-test", bufferSize = 2),
        )
        val publisher = MqttPageViewPublisher(properties, jacksonObjectMapper())
        repeat(5) { publisher.record("/products/1", "127.0.0.1") }
        val stats = publisher.stats()
        assertThat(stats.connected).isFalse()
        assertThat(stats.buffered).isEqualTo(2)
        assertThat(stats.dropped).isEqualTo(3)
    }
}
