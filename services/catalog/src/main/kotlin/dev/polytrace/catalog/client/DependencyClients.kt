package dev.polytrace.catalog.client

import com.fasterxml.jackson.annotation.JsonProperty
import dev.polytrace.catalog.config.CatalogProperties
import dev.polytrace.catalog.domain.Dependency
import dev.polytrace.catalog.domain.DependencyException
import dev.polytrace.catalog.domain.StockLevel
import dev.polytrace.catalog.domain.Warehouse
import org.springframework.stereotype.Component
import org.springframework.web.reactive.function.client.WebClient
import org.springframework.web.reactive.function.client.awaitBody
import java.math.BigDecimal

interface PricingClient {
    /** `GET {PRICING_URL}/prices/{id}`; throws on any failure (connection, non-2xx, bad body). */
    suspend fun price(productId: Long): BigDecimal
}

interface StockClient {
    /** `GET {STOCK_URL}/stocks/{id}`; throws on any failure (connection, non-2xx, bad body). */
    suspend fun stocks(productId: Long): List<StockLevel>
}

/** pricing's body: `{"product_id": 1, "price": 0.52}`. */
data class PriceResponse(@JsonProperty("product_id") val productId: Long, val price: BigDecimal)

/** One element of stock's body: `{"product_id": 1, "quantity": 5, "warehouse": {...}}`. */
data class StockResponse(
    @JsonProperty("product_id") val productId: Long,
    val quantity: Int,
    val warehouse: WarehouseResponse,
)

data class WarehouseResponse(val id: Long, val city: String, val state: String, val country: String)

/**
 * Both clients share the one [WebClient] bean. The Java agent (Reactor Netty instrumentation) wraps
 * every HTTP exchange in a CLIENT span `GET` with `url.full`, marks refused connections, timeouts
 * and 4xx/5xx as ERROR with `error.type`, and injects `traceparent` so pricing/stock continue the
 * trace. That span ends when the response headers arrive: a body that then fails to decode does not
 * change it; [dev.polytrace.catalog.domain.ProductService] records that failure on its own span.
 */
@Component
class HttpPricingClient(private val http: WebClient, properties: CatalogProperties) : PricingClient {
    private val template = properties.pricingUrl.toString().trimEnd('/') + "/prices/{id}"

    override suspend fun price(productId: Long): BigDecimal {
        val body = http.get().uri(template, productId).retrieve().awaitBody<PriceResponse>()
        if (body.productId != productId) {
            throw DependencyException(Dependency.PRICING, "price for product ${body.productId}, asked $productId")
        }
        return body.price
    }
}

@Component
class HttpStockClient(private val http: WebClient, properties: CatalogProperties) : StockClient {
    private val template = properties.stockUrl.toString().trimEnd('/') + "/stocks/{id}"

    override suspend fun stocks(productId: Long): List<StockLevel> =
        http.get().uri(template, productId).retrieve().awaitBody<List<StockResponse>>().map {
            StockLevel(it.quantity, Warehouse(it.warehouse.city, it.warehouse.state, it.warehouse.country))
        }
}
