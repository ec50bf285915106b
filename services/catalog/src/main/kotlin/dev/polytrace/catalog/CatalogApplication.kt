package dev.polytrace.catalog

import org.springframework.boot.autoconfigure.SpringBootApplication
import org.springframework.boot.context.properties.ConfigurationPropertiesScan
import org.springframework.boot.runApplication
import kotlin.system.exitProcess

/**
 * Entry point. Telemetry is set up before this runs: the OpenTelemetry Java agent is attached by
 * the run command (`-javaagent:target/agent/opentelemetry-javaagent.jar`, with our extension from
 * `OTEL_JAVAAGENT_EXTENSIONS`) and reads `OTEL_*`.
 * Configuration: [dev.polytrace.catalog.config.CatalogProperties] + `application.yaml`.
 *
 * Shutdown: SIGTERM/SIGINT → `exit(0)`, which runs the shutdown hooks — Spring's graceful shutdown
 * (stop accepting, finish in-flight requests, flush the MQTT buffer) and the agent's span flush.
 * Without the handler the JVM would run the same hooks but exit with 143/130.
 */
@SpringBootApplication
@ConfigurationPropertiesScan
class CatalogApplication

fun main(args: Array<String>) {
    for (name in listOf("TERM", "INT")) {
        sun.misc.Signal.handle(sun.misc.Signal(name)) { exitProcess(0) }
    }
    runApplication<CatalogApplication>(*args)
}
