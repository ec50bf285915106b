package dev.polytrace.catalog

import dev.polytrace.catalog.client.PricingClient
import dev.polytrace.catalog.client.StockClient
import dev.polytrace.catalog.domain.Product
import dev.polytrace.catalog.domain.StockLevel
import dev.polytrace.catalog.domain.Warehouse
import dev.polytrace.catalog.flags.FailureFlags
import dev.polytrace.catalog.messaging.PageViewStats
import dev.polytrace.catalog.messaging.PageViews
import dev.polytrace.catalog.persistence.ProductRepository
import kotlinx.coroutines.delay
import java.math.BigDecimal
import java.util.concurrent.CopyOnWriteArrayList
import java.util.concurrent.atomic.AtomicInteger

/** In-memory stand-ins: no database, no HTTP dependency, no broker. Behaviour is set per test. */
class FakeProductRepository : ProductRepository {
    val rows = mutableMapOf(
        1L to Product(1, "Stickers pack", "A pack of rad stickers"),
        2L to Product(2, "Lapel pin", "A small pin"),
        3L to Product(3, "Tee-shirt", "A comfy tee-shirt"),
    )
    var failure: Throwable? = null

    override suspend fun findById(id: Long): Product? {
        failure?.let { throw it }
        return rows[id]
    }

    override suspend fun findAll(): List<Product> {
        failure?.let { throw it }
        return rows.values.sortedBy { it.id }
    }

    override suspend fun ping() {
        failure?.let { throw it }
    }
}

class FakePricingClient : PricingClient {
    var failure: Throwable? = null
    var delayMs = 0L
    val calls = AtomicInteger()

    override suspend fun price(productId: Long): BigDecimal {
        calls.incrementAndGet()
        if (delayMs > 0) delay(delayMs)
        failure?.let { throw it }
        return BigDecimal("0.52")
    }
}

class FakeStockClient : StockClient {
    var failure: Throwable? = null
    var delayMs = 0L
    val calls = AtomicInteger()

    override suspend fun stocks(productId: Long): List<StockLevel> {
        calls.incrementAndGet()
        if (delayMs > 0) delay(delayMs)
        failure?.let { throw it }
        return listOf(StockLevel(5, Warehouse("Lausanne", "Vaud", "Switzerland")))
    }
}

class FakePageViews : PageViews {
    val recorded = CopyOnWriteArrayList<Pair<String, String>>()

    override fun record(path: String, clientIp: String) {
        recorded += path to clientIp
    }

    override fun stats() = PageViewStats(connected = true, buffered = 0, dropped = 0, published = recorded.size.toLong(), delivered = 0, failed = 0)
}

class FakeFailureFlags : FailureFlags {
    @Volatile var brokenProductId = 0L

    override fun brokenProductId() = brokenProductId
}
