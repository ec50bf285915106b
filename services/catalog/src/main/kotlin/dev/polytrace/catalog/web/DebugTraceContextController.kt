package dev.polytrace.catalog.web

import com.fasterxml.jackson.databind.JsonNode
import org.slf4j.LoggerFactory
import org.springframework.boot.autoconfigure.condition.ConditionalOnProperty
import org.springframework.http.MediaType
import org.springframework.http.ResponseEntity
import org.springframework.web.bind.annotation.PostMapping
import org.springframework.web.bind.annotation.RequestBody
import org.springframework.web.bind.annotation.RestController
import org.springframework.web.reactive.function.client.WebClient
import org.springframework.web.reactive.function.client.awaitBodilessEntity

/**
 * `POST /debug/tracecontext`, only with `POLYTRACE_DEBUG_ENDPOINTS=1` (otherwise the bean does not
 * exist and the path is a 404): the service side of the W3C Trace Context test-suite protocol. The
 * body is a JSON array of `{"url": ..., "arguments": ...}`; each `arguments` is POSTed as JSON to its
 * `url`, in order, with the agent-instrumented [WebClient] (CLIENT span + injection through the
 * configured propagators) while the incoming request's SERVER span is current. 200 after all calls.
 */
@RestController
@ConditionalOnProperty(name = ["catalog.debug-endpoints"], havingValue = "1")
class DebugTraceContextController(private val http: WebClient) {
    private val log = LoggerFactory.getLogger(DebugTraceContextController::class.java)

    @PostMapping("/debug/tracecontext", consumes = [MediaType.ALL_VALUE])
    suspend fun traceContext(@RequestBody body: JsonNode): ResponseEntity<Map<String, Any>> {
        if (!body.isArray || body.any { !it.isObject || !it.path("url").isTextual }) {
            return ResponseEntity.badRequest()
                .body(mapOf("error" to "body must be a JSON array of {\"url\": ..., \"arguments\": ...}"))
        }
        for (call in body) {
            try {
                http.post().uri(call["url"].asText())
                    .contentType(MediaType.APPLICATION_JSON)
                    .bodyValue(call.path("arguments"))
                    .retrieve()
                    .awaitBodilessEntity()
            } catch (e: Exception) { // the harness judges what arrived at its end
                log.warn("debug.tracecontext_call_failed error_type={}", e.javaClass.name)
            }
        }
        return ResponseEntity.ok(mapOf("calls" to body.size()))
    }
}
