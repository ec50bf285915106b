package dev.polytrace.catalog.domain

import dev.polytrace.catalog.client.PricingClient
import dev.polytrace.catalog.client.StockClient
import dev.polytrace.catalog.config.CatalogProperties
import dev.polytrace.catalog.flags.FailureFlags
import dev.polytrace.catalog.persistence.ProductRepository
import dev.polytrace.catalog.telemetry.Telemetry
import io.opentelemetry.api.common.AttributeKey
import io.opentelemetry.api.common.Attributes
import kotlinx.coroutines.TimeoutCancellationException
import kotlinx.coroutines.async
import kotlinx.coroutines.awaitAll
import kotlinx.coroutines.coroutineScope
import kotlinx.coroutines.withTimeout
import org.slf4j.LoggerFactory
import org.springframework.stereotype.Service
import java.math.BigDecimal
import kotlin.coroutines.cancellation.CancellationException

/** Reads products and enriches each with its price and stock, fetched concurrently. */
@Service
class ProductService(
    private val products: ProductRepository,
    private val pricing: PricingClient,
    private val stock: StockClient,
    private val flags: FailureFlags,
    properties: CatalogProperties,
) {
    private val log = LoggerFactory.getLogger(javaClass)

    // The HTTP client enforces DEPENDENCY_TIMEOUT_MS itself (connect + response timeouts), so a slow
    // dependency fails inside the instrumented client and its CLIENT span ends with ERROR. This
    // coroutine timeout is only the outer bound (e.g. a body that trickles in), hence the slack.
    private val guardMs = properties.dependencyTimeout.toMillis() + GUARD_SLACK_MS

    /**
     * The product's document, or null when there is no such product. Fails with
     * [InjectedFailureException] when `catalogProductFailure` names this id: the current span (the
     * handler's) gets ERROR, `error.type` and an `app.fault.injected` event naming the flag.
     */
    suspend fun product(id: Long): ProductDocument? {
        if (flags.brokenProductId() == id) {
            log.warn("{} flag={} product_id={}", Telemetry.FAULT_EVENT, FailureFlags.PRODUCT_FAILURE, id)
            throw Telemetry.injectFailure(FailureFlags.PRODUCT_FAILURE, id, "product $id fails on purpose (flag ${FailureFlags.PRODUCT_FAILURE})")
        }
        return products.findById(id)?.let { enrich(it) }
    }

    /** Every product's document; one pricing and one stock call per product, all concurrent. */
    suspend fun allProducts(): List<ProductDocument> = coroutineScope {
        products.findAll().map { async { enrich(it) } }.awaitAll()
    }

    private suspend fun enrich(product: Product): ProductDocument = coroutineScope {
        val price = async { fetch(Dependency.PRICING, product.id) { pricing.price(product.id) } }
        val stocks = async { fetch(Dependency.STOCK, product.id) { stock.stocks(product.id) } }
        assemble(product, price.await(), stocks.await())
    }

    /** The outcome of one dependency call: a value, or the reason it is missing. */
    private class Fetched<T>(val dependency: Dependency, val value: T?, val error: Throwable?)

    /** Runs one dependency call under the timeout; any failure becomes a missing value (and is logged). */
    private suspend fun <T> fetch(dependency: Dependency, productId: Long, call: suspend () -> T): Fetched<T> =
        try {
            Fetched(dependency, withTimeout(guardMs) { call() }, null)
        } catch (e: TimeoutCancellationException) {
            log.warn("dependency.timeout dependency={} product_id={} timeout_ms={}", dependency.label, productId, guardMs)
            Fetched(dependency, null, e)
        } catch (e: CancellationException) {
            throw e // our caller was cancelled: not a dependency failure
        } catch (e: Exception) {
            log.warn("dependency.failed dependency={} product_id={} error={} cause={}", dependency.label, productId, e.toString(), rootCause(e).toString())
            Fetched(dependency, null, e)
        }

    /**
     * A business step traced with the tracer API: combine the parts and record what is missing —
     * `app.dependencies.unavailable` plus one `dependency.unavailable` event per failure with its
     * `error.type` (this is where a body that failed to decode shows, since the HTTP CLIENT span of
     * that call has already ended successfully). The step itself succeeds: a degraded answer is a 200.
     */
    private fun assemble(product: Product, price: Fetched<BigDecimal>, stocks: Fetched<List<StockLevel>>): ProductDocument {
        val span = Telemetry.tracer.spanBuilder("assemble product")
            .setAttribute(Telemetry.PRODUCT_ID, product.id)
            .startSpan()
        try {
            span.makeCurrent().use {
                val missing = listOf(price, stocks).filter { it.error != null }
                for (failure in missing) {
                    span.addEvent(
                        "dependency.unavailable",
                        Attributes.of(DEPENDENCY, failure.dependency.label, Telemetry.ERROR_TYPE, errorType(failure.error!!)),
                    )
                }
                val unavailable = missing.map { it.dependency.label }
                if (unavailable.isNotEmpty()) span.setAttribute(Telemetry.UNAVAILABLE, unavailable)
                return ProductDocument(product.id, product.name, product.description, price.value, stocks.value, unavailable)
            }
        } finally {
            span.end()
        }
    }

    private fun errorType(e: Throwable): String = when (e) {
        is TimeoutCancellationException -> "timeout"
        else -> rootCause(e).javaClass.name
    }

    private fun rootCause(e: Throwable): Throwable = generateSequence(e) { it.cause }.last()

    private companion object {
        const val GUARD_SLACK_MS = 250L
        val DEPENDENCY: AttributeKey<String> = AttributeKey.stringKey("app.dependency")
    }
}
