package dev.polytrace.catalog.telemetry

import io.opentelemetry.api.GlobalOpenTelemetry
import dev.polytrace.catalog.domain.InjectedFailureException
import io.opentelemetry.api.common.AttributeKey
import io.opentelemetry.api.common.Attributes
import io.opentelemetry.api.trace.Span
import io.opentelemetry.api.trace.StatusCode
import io.opentelemetry.api.trace.Tracer
import io.opentelemetry.context.propagation.TextMapPropagator

/**
 * The service's single telemetry module. The SDK, exporters and instrumentation belong to the
 * OpenTelemetry Java agent (configured by `OTEL_*`); code here only asks for the global tracer
 * and propagators, which are no-ops when the agent is absent (unit tests).
 */
object Telemetry {
    const val INSTRUMENTATION_SCOPE = "catalog"

    val tracer: Tracer get() = GlobalOpenTelemetry.getTracer(INSTRUMENTATION_SCOPE)
    val propagator: TextMapPropagator get() = GlobalOpenTelemetry.getPropagators().textMapPropagator

    // Semantic-convention keys (stable names).
    val ERROR_TYPE: AttributeKey<String> = AttributeKey.stringKey("error.type")
    val SERVER_ADDRESS: AttributeKey<String> = AttributeKey.stringKey("server.address")
    val SERVER_PORT: AttributeKey<Long> = AttributeKey.longKey("server.port")
    val MESSAGING_SYSTEM: AttributeKey<String> = AttributeKey.stringKey("messaging.system")
    val MESSAGING_DESTINATION: AttributeKey<String> = AttributeKey.stringKey("messaging.destination.name")
    val MESSAGING_OPERATION_TYPE: AttributeKey<String> = AttributeKey.stringKey("messaging.operation.type")
    val MESSAGING_OPERATION_NAME: AttributeKey<String> = AttributeKey.stringKey("messaging.operation.name")
    val MESSAGING_MESSAGE_ID: AttributeKey<String> = AttributeKey.stringKey("messaging.message.id")
    val MESSAGING_BODY_SIZE: AttributeKey<Long> = AttributeKey.longKey("messaging.message.body.size")

    // Our own attributes (listed in the README).
    val PRODUCT_ID: AttributeKey<Long> = AttributeKey.longKey("app.product.id")
    val UNAVAILABLE: AttributeKey<List<String>> = AttributeKey.stringArrayKey("app.dependencies.unavailable")
    val MQTT_BUFFERED: AttributeKey<Boolean> = AttributeKey.booleanKey("app.mqtt.buffered")

    /** The span event (and log event) of a failure flag that bites; `feature_flag.key` names the flag. */
    const val FAULT_EVENT = "app.fault.injected"
    const val INJECTED_FAILURE = "injected_failure"
    val FEATURE_FLAG_KEY: AttributeKey<String> = FeatureFlagSpanEvents.KEY

    /**
     * A failure flag bit: the current span gets the `app.fault.injected` event (flag and value), ERROR
     * and `error.type=injected_failure`; the returned exception is for the caller to throw.
     */
    fun injectFailure(flag: String, value: Long, message: String): InjectedFailureException {
        val span = Span.current()
        span.addEvent(FAULT_EVENT, Attributes.of(FEATURE_FLAG_KEY, flag, FeatureFlagSpanEvents.VALUE_INT, value))
        fail(span, INJECTED_FAILURE, description = message)
        return InjectedFailureException(flag, message)
    }

    /** Marks [span] failed the way the semantic conventions ask: status ERROR, `error.type`, exception event. */
    fun fail(span: Span, errorType: String, error: Throwable? = null, description: String? = null) {
        if (error != null) span.recordException(error)
        span.setAttribute(ERROR_TYPE, errorType)
        span.setStatus(StatusCode.ERROR, description ?: error?.message ?: errorType)
    }
}
