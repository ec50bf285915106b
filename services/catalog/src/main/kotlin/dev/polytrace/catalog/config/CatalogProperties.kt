package dev.polytrace.catalog.config

import org.springframework.boot.context.properties.ConfigurationProperties
import java.net.URI
import java.time.Duration

/**
 * Everything catalog reads from its environment, bound once at startup from `application.yaml`
 * (which maps `PRICING_URL`, `STOCK_URL`, `DEPENDENCY_TIMEOUT_MS`, `MQTT_*` onto these fields;
 * the `PG*` variables go to `spring.r2dbc.*` there). Nothing else reads the environment.
 */
@ConfigurationProperties(prefix = "catalog")
data class CatalogProperties(
    val pricingUrl: URI,
    val stockUrl: URI,
    /** Budget for one pricing or stock call (connect + response), `DEPENDENCY_TIMEOUT_MS`. */
    val dependencyTimeout: Duration,
    /** Budget for one database round trip, pool acquisition included. */
    val databaseTimeout: Duration,
    val flags: Flags = Flags(),
    val mqtt: Mqtt,
) {
    init {
        require(!dependencyTimeout.isNegative && !dependencyTimeout.isZero) { "DEPENDENCY_TIMEOUT_MS must be > 0" }
        require(pricingUrl.scheme in setOf("http", "https")) { "PRICING_URL must be an http(s) URL" }
        require(stockUrl.scheme in setOf("http", "https")) { "STOCK_URL must be an http(s) URL" }
    }

    /** Where the failure flags come from (`FLAGD_RESOLVER`, `FLAGD_OFFLINE_FLAG_SOURCE_PATH`, `FLAGD_OFFLINE_POLL_MS`). */
    data class Flags(
        val resolver: String = "",
        val sourcePath: String = "",
        val pollInterval: Duration = Duration.ofMillis(500),
    ) {
        init {
            require(resolver.isEmpty() || resolver == "file") { "FLAGD_RESOLVER must be \"file\" (or unset: every flag off)" }
            require(resolver.isEmpty() || sourcePath.isNotBlank()) { "FLAGD_RESOLVER=file needs FLAGD_OFFLINE_FLAG_SOURCE_PATH" }
            require(!pollInterval.isNegative && !pollInterval.isZero) { "FLAGD_OFFLINE_POLL_MS must be > 0" }
        }

        /** False without `FLAGD_RESOLVER`: no provider, every flag takes its default. */
        val enabled: Boolean get() = resolver.isNotEmpty()
    }

    data class Mqtt(
        val host: String,
        val port: Int,
        val topic: String,
        val clientId: String,
        /** Page-view events held while the broker is unreachable, `MQTT_BUFFER_SIZE`. */
        val bufferSize: Int,
    ) {
        init {
            require(port in 1..65535) { "MQTT_PORT must be a TCP port" }
            require(bufferSize > 0) { "MQTT_BUFFER_SIZE must be > 0" }
            require(topic.isNotBlank()) { "MQTT_TOPIC must not be empty" }
        }

        val serverUri: String get() = "tcp://$host:$port"
    }
}
