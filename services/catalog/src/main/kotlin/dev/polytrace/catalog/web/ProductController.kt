package dev.polytrace.catalog.web

import dev.polytrace.catalog.domain.ProductDocument
import dev.polytrace.catalog.domain.ProductService
import dev.polytrace.catalog.messaging.PageViews
import io.opentelemetry.instrumentation.annotations.SpanAttribute
import io.opentelemetry.instrumentation.annotations.WithSpan
import org.springframework.http.HttpStatus
import org.springframework.http.ResponseEntity
import org.springframework.http.server.reactive.ServerHttpRequest
import org.springframework.web.bind.annotation.GetMapping
import org.springframework.web.bind.annotation.PathVariable
import org.springframework.web.bind.annotation.RestController

/**
 * `GET /products` and `GET /products/{id}` (docs/ARCHITECTURE.md: the golden trace, HTTP). A non-integer id never reaches the
 * handler (Spring's conversion fails → 400 in [JsonErrorHandler]); the range check is here.
 * A page-view event is published for every successful answer (one per request, also for the
 * list: path `/products`); 4xx/5xx answers publish nothing.
 */
@RestController
class ProductController(
    private val products: ProductService,
    private val pageViews: PageViews,
) {
    // Handlers are `final`: an open suspend function compiles to a bridge plus `$suspendImpl`, and
    // the agent would then make two @WithSpan spans, the outer one ending at the first suspension.
    @GetMapping("/products/{id}")
    @WithSpan("ProductController.getProduct")
    final suspend fun getProduct(
        // Boxed on purpose: the agent's @WithSpan support for suspend functions (2.28.1) produces
        // unverifiable bytecode for a primitive `long` parameter (VerifyError at startup).
        @PathVariable("id") @SpanAttribute("app.product.id") id: java.lang.Long,
        request: ServerHttpRequest,
    ): ResponseEntity<Any> {
        val id = id.toLong()
        if (id < 1) return error(HttpStatus.BAD_REQUEST, "invalid product id: must be a positive integer")
        val document = products.product(id) ?: return error(HttpStatus.NOT_FOUND, "product $id not found")
        pageViews.record(request.path.value(), clientIp(request))
        return ResponseEntity.ok(document)
    }

    @GetMapping("/products")
    @WithSpan("ProductController.listProducts")
    final suspend fun listProducts(request: ServerHttpRequest): List<ProductDocument> {
        val documents = products.allProducts()
        pageViews.record(request.path.value(), clientIp(request))
        return documents
    }

    private fun error(status: HttpStatus, message: String): ResponseEntity<Any> =
        ResponseEntity.status(status).body(ErrorBody(message))

    private fun clientIp(request: ServerHttpRequest): String =
        request.remoteAddress?.address?.hostAddress ?: "unknown"
}

/** Every error body: `{"error": "<message>"}` (CONVENTIONS, HTTP). */
data class ErrorBody(val error: String)
