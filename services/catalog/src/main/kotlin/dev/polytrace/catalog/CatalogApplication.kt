package dev.polytrace.catalog

import org.springframework.boot.autoconfigure.SpringBootApplication
import org.springframework.boot.context.properties.ConfigurationPropertiesScan
import org.springframework.boot.runApplication

/**
 * Entry point. Telemetry is set up before this runs: the OpenTelemetry Java agent is attached by
 * the run command (`-javaagent:target/agent/opentelemetry-javaagent.jar`) and reads `OTEL_*`;
 * it also flushes spans in its shutdown hook, after Spring's graceful shutdown has drained.
 * Configuration: [dev.polytrace.catalog.config.CatalogProperties] + `application.yaml`.
 */
@SpringBootApplication
@ConfigurationPropertiesScan
class CatalogApplication

fun main(args: Array<String>) {
    runApplication<CatalogApplication>(*args)
}
