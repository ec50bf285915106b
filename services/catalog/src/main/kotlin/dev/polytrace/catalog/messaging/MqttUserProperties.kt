package dev.polytrace.catalog.messaging

import io.opentelemetry.context.propagation.TextMapSetter
import org.eclipse.paho.mqttv5.common.packet.UserProperty

/**
 * Lets the OpenTelemetry propagator write into MQTT 5 user properties: each key the propagator sets
 * (`traceparent`, and `tracestate` / `baggage` when present) becomes one [UserProperty], with the
 * exact value the propagator produced.
 */
object MqttUserPropertiesSetter : TextMapSetter<MutableList<UserProperty>> {
    override fun set(carrier: MutableList<UserProperty>?, key: String, value: String) {
        carrier ?: return
        carrier.removeIf { it.key == key }
        carrier.add(UserProperty(key, value))
    }
}
