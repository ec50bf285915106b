package dev.polytrace.catalog.messaging

import com.fasterxml.jackson.databind.ObjectMapper
import dev.polytrace.catalog.config.CatalogProperties
import dev.polytrace.catalog.telemetry.Telemetry
import io.opentelemetry.api.trace.Span
import io.opentelemetry.api.trace.SpanKind
import io.opentelemetry.context.Context
import org.eclipse.paho.mqttv5.client.IMqttToken
import org.eclipse.paho.mqttv5.client.MqttActionListener
import org.eclipse.paho.mqttv5.client.MqttAsyncClient
import org.eclipse.paho.mqttv5.client.MqttConnectionOptions
import org.eclipse.paho.mqttv5.client.persist.MemoryPersistence
import org.eclipse.paho.mqttv5.common.MqttException
import org.eclipse.paho.mqttv5.common.MqttMessage
import org.eclipse.paho.mqttv5.common.packet.MqttProperties
import org.eclipse.paho.mqttv5.common.packet.UserProperty
import org.slf4j.LoggerFactory
import org.springframework.context.SmartLifecycle
import org.springframework.stereotype.Component
import java.time.Instant
import java.time.temporal.ChronoUnit
import java.util.UUID
import java.util.concurrent.LinkedBlockingDeque
import java.util.concurrent.TimeUnit
import java.util.concurrent.atomic.AtomicBoolean
import java.util.concurrent.atomic.AtomicLong

/**
 * Publishes page-view events to MQTT (QoS 1, not retained) with Eclipse Paho (MQTT 5), off the
 * request path.
 *
 * - [record] runs in the request: it builds the event, starts the PRODUCER span `send <topic>` as a
 *   child of the current span, injects *that* span's context into the message's user properties
 *   through the configured propagator, and offers the event to a bounded buffer
 *   (`MQTT_BUFFER_SIZE`). A full buffer drops the event: counted, logged, span ended with ERROR.
 * - One background thread drains the buffer into the client while it is connected. While the
 *   broker is unreachable events wait in the buffer (Paho reconnects automatically once connected;
 *   until the first connection this thread retries) and are sent on reconnect.
 * - The producer span covers hand-off → publish handed to the client (`publish()` accepted it).
 *   If the broker is unreachable the span ends at once with `app.mqtt.buffered=true` (status
 *   unset: the event is not lost, it carries the same context when sent later), so no span stays
 *   open for the length of an outage. Broker acknowledgements (PUBACK) and late failures are
 *   counted ([stats]) and logged.
 */
@Component
class MqttPageViewPublisher(
    properties: CatalogProperties,
    private val json: ObjectMapper,
) : PageViews, SmartLifecycle {
    private val log = LoggerFactory.getLogger(javaClass)
    private val mqtt = properties.mqtt
    private val buffer = LinkedBlockingDeque<Pending>(mqtt.bufferSize)
    private val client = MqttAsyncClient(mqtt.serverUri, mqtt.clientId, MemoryPersistence())
    private val options = MqttConnectionOptions().apply {
        isAutomaticReconnect = true
        setAutomaticReconnectDelay(1, 10)
        // Keep the session (and in-flight QoS 1 messages) across reconnects.
        isCleanStart = false
        sessionExpiryInterval = SESSION_EXPIRY_S
        connectionTimeout = 5
        keepAliveInterval = 30
    }
    private val running = AtomicBoolean(false)
    private val everConnected = AtomicBoolean(false)
    private val dropped = AtomicLong()
    private val published = AtomicLong()
    private val delivered = AtomicLong()
    private val failed = AtomicLong()
    @Volatile private var worker: Thread? = null
    private var connectFailures = 0L // worker thread only

    private class Pending(val event: PageViewEvent, val payload: ByteArray, val userProperties: List<UserProperty>, val span: Span) {
        private val ended = AtomicBoolean(false)

        /** Ends the span exactly once, whichever path gets there first. */
        fun endSpan(configure: (Span) -> Unit = {}) {
            if (ended.compareAndSet(false, true)) {
                configure(span)
                span.end()
            }
        }
    }

    override fun record(path: String, clientIp: String) {
        try {
            val event = PageViewEvent(UUID.randomUUID().toString(), path, clientIp, Instant.now().truncatedTo(ChronoUnit.MILLIS).toString())
            val payload = json.writeValueAsBytes(event)
            val span = Telemetry.tracer.spanBuilder("send ${mqtt.topic}")
                .setSpanKind(SpanKind.PRODUCER)
                .setAttribute(Telemetry.MESSAGING_SYSTEM, "mqtt")
                .setAttribute(Telemetry.MESSAGING_DESTINATION, mqtt.topic)
                .setAttribute(Telemetry.MESSAGING_OPERATION_TYPE, "send")
                .setAttribute(Telemetry.MESSAGING_OPERATION_NAME, "publish")
                .setAttribute(Telemetry.MESSAGING_MESSAGE_ID, event.id)
                .setAttribute(Telemetry.MESSAGING_BODY_SIZE, payload.size.toLong())
                .setAttribute(Telemetry.SERVER_ADDRESS, mqtt.host)
                .setAttribute(Telemetry.SERVER_PORT, mqtt.port.toLong())
                .startSpan()
            val userProperties = mutableListOf<UserProperty>()
            Telemetry.propagator.inject(Context.current().with(span), userProperties, MqttUserPropertiesSetter)
            val pending = Pending(event, payload, userProperties, span)
            if (!buffer.offerLast(pending)) {
                drop(pending, "buffer_full")
            } else if (!client.isConnected) {
                pending.endSpan { it.setAttribute(Telemetry.MQTT_BUFFERED, true) }
            }
        } catch (e: Exception) {
            // Never fail the request for analytics.
            log.error("pageview.record_failed path={} error={}", path, e.toString(), e)
        }
    }

    override fun stats() = PageViewStats(
        connected = client.isConnected,
        buffered = buffer.size,
        dropped = dropped.get(),
        published = published.get(),
        delivered = delivered.get(),
        failed = failed.get(),
    )

    private fun drop(pending: Pending, reason: String) {
        val total = dropped.incrementAndGet()
        pending.endSpan { Telemetry.fail(it, reason, description = "page view dropped: $reason") }
        // First drop, then every 1000th: a long outage under load must not flood the log.
        if (total == 1L || total % 1000 == 0L) {
            log.warn("pageview.dropped reason={} event_id={} dropped_total={} buffer_size={}", reason, pending.event.id, total, mqtt.bufferSize)
        }
    }

    private fun runWorker() {
        var nextConnectAttempt = 0L
        while (running.get() || (client.isConnected && buffer.isNotEmpty())) {
            if (!client.isConnected) {
                // Paho reconnects by itself once it has been connected; before that, we retry.
                if (!everConnected.get() && System.nanoTime() >= nextConnectAttempt) {
                    connectOnce()
                    nextConnectAttempt = System.nanoTime() + TimeUnit.SECONDS.toNanos(2)
                }
                if (!client.isConnected) {
                    endWaitingSpans()
                    sleepQuietly(200)
                    continue
                }
            }
            val pending = buffer.pollFirst(200, TimeUnit.MILLISECONDS) ?: continue
            publish(pending)
        }
    }

    private fun publish(pending: Pending) {
        val message = MqttMessage(pending.payload).apply {
            qos = 1
            isRetained = false
            properties = MqttProperties().apply { userProperties = pending.userProperties }
        }
        try {
            client.publish(mqtt.topic, message, pending, object : MqttActionListener {
                override fun onSuccess(token: IMqttToken) {
                    delivered.incrementAndGet()
                }

                override fun onFailure(token: IMqttToken, exception: Throwable) {
                    val total = failed.incrementAndGet()
                    log.warn("pageview.delivery_failed event_id={} failed_total={} error={}", pending.event.id, total, exception.toString())
                }
            })
            published.incrementAndGet()
            pending.endSpan()
        } catch (e: MqttException) {
            // Not connected any more, or too many messages in flight: keep the event for later.
            pending.endSpan { it.setAttribute(Telemetry.MQTT_BUFFERED, true) }
            if (!buffer.offerFirst(pending)) drop(pending, "buffer_full")
            log.debug("pageview.publish_deferred event_id={} reason_code={}", pending.event.id, e.reasonCode)
            sleepQuietly(100)
        }
    }

    private fun connectOnce() {
        try {
            client.connect(options).waitForCompletion(TimeUnit.SECONDS.toMillis(6))
            everConnected.set(true)
            log.info("mqtt.connected server={} client_id={}", mqtt.serverUri, mqtt.clientId)
        } catch (e: MqttException) {
            // First failure, then every 30th attempt (about once a minute).
            if (connectFailures++ % 30 == 0L) {
                log.warn("mqtt.connect_failed server={} reason_code={} attempts={} buffered={} error={}", mqtt.serverUri, e.reasonCode, connectFailures, buffer.size, e.toString())
            }
        }
    }

    /** While disconnected no waiting event keeps its span open (see the class comment). */
    private fun endWaitingSpans() {
        for (pending in buffer) pending.endSpan { it.setAttribute(Telemetry.MQTT_BUFFERED, true) }
    }

    private fun sleepQuietly(ms: Long) {
        try {
            Thread.sleep(ms)
        } catch (e: InterruptedException) {
            Thread.currentThread().interrupt()
        }
    }

    // Lifecycle: start before the web server, stop after it has drained its requests.
    override fun getPhase(): Int = SmartLifecycle.DEFAULT_PHASE - 4096

    override fun isRunning(): Boolean = running.get()

    override fun start() {
        if (!running.compareAndSet(false, true)) return
        worker = Thread(::runWorker, "mqtt-publisher").apply {
            isDaemon = true
            start()
        }
    }

    override fun stop() {
        if (!running.compareAndSet(true, false)) return
        // The worker keeps draining while connected; give it a bounded time to flush.
        worker?.join(TimeUnit.SECONDS.toMillis(5))
        val left = buffer.size
        if (left > 0) {
            dropped.addAndGet(left.toLong())
            log.warn("pageview.dropped reason=shutdown count={}", left)
            buffer.forEach { it.endSpan { span -> Telemetry.fail(span, "shutdown", description = "page view dropped at shutdown") } }
            buffer.clear()
        }
        try {
            if (client.isConnected) client.disconnect(TimeUnit.SECONDS.toMillis(2)).waitForCompletion(TimeUnit.SECONDS.toMillis(3))
            client.close(true)
        } catch (e: MqttException) {
            log.warn("mqtt.disconnect_failed error={}", e.toString())
        }
        log.info("mqtt.stopped published={} delivered={} dropped={} failed={}", published.get(), delivered.get(), dropped.get(), failed.get())
    }

    private companion object {
        const val SESSION_EXPIRY_S = 3600L
    }
}
