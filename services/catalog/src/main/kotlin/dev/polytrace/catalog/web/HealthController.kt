package dev.polytrace.catalog.web

import dev.polytrace.catalog.domain.DatabaseUnavailableException
import dev.polytrace.catalog.messaging.PageViews
import dev.polytrace.catalog.persistence.ProductRepository
import org.springframework.http.HttpStatus
import org.springframework.http.ResponseEntity
import org.springframework.web.bind.annotation.GetMapping
import org.springframework.web.bind.annotation.RestController

/**
 * `GET /health`: 200 `{"status":"ok"}` when the database answers `SELECT 1`, else 503
 * `{"status":"unavailable","error":...}`. The MQTT publisher's counters ride along under `mqtt`
 * (a broker outage does not make catalog unready: events are buffered).
 */
@RestController
class HealthController(
    private val products: ProductRepository,
    private val pageViews: PageViews,
) {
    @GetMapping("/health")
    suspend fun health(): ResponseEntity<Map<String, Any>> {
        val mqtt = pageViews.stats()
        return try {
            products.ping()
            ResponseEntity.ok(mapOf("status" to "ok", "mqtt" to mqtt))
        } catch (e: DatabaseUnavailableException) {
            ResponseEntity.status(HttpStatus.SERVICE_UNAVAILABLE)
                .body(mapOf("status" to "unavailable", "error" to "database unavailable", "mqtt" to mqtt))
        }
    }
}
