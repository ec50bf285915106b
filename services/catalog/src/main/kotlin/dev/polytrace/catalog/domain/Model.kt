package dev.polytrace.catalog.domain

import com.fasterxml.jackson.annotation.JsonInclude
import java.math.BigDecimal

/** A row of `catalog.product`. */
data class Product(val id: Long, val name: String, val description: String)

data class Warehouse(val city: String, val state: String, val country: String)

data class StockLevel(val quantity: Int, val warehouse: Warehouse)

/** The names catalog reports in `unavailable` when a dependency fails or times out. */
enum class Dependency(val label: String) {
    PRICING("pricing"),
    STOCK("stock"),
}

/**
 * The document `GET /products/{id}` answers (docs/ARCHITECTURE.md, the golden trace). `price` / `stocks` are null when
 * the dependency failed; `unavailable` then names it and is omitted when everything answered.
 */
data class ProductDocument(
    val id: Long,
    val name: String,
    val description: String,
    val price: BigDecimal?,
    val stocks: List<StockLevel>?,
    @get:JsonInclude(JsonInclude.Include.NON_EMPTY)
    val unavailable: List<String> = emptyList(),
)
