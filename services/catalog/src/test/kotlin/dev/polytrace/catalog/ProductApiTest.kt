package dev.polytrace.catalog

import dev.polytrace.catalog.config.CatalogProperties
import dev.polytrace.catalog.domain.DatabaseUnavailableException
import dev.polytrace.catalog.domain.ProductService
import dev.polytrace.catalog.web.HealthController
import dev.polytrace.catalog.web.JsonErrorHandler
import dev.polytrace.catalog.web.ProductController
import dev.polytrace.catalog.web.TraceResponseFilter
import org.assertj.core.api.Assertions.assertThat
import org.junit.jupiter.api.BeforeEach
import org.junit.jupiter.api.Test
import org.junit.jupiter.params.ParameterizedTest
import org.junit.jupiter.params.provider.ValueSource
import org.springframework.beans.factory.annotation.Autowired
import org.springframework.boot.autoconfigure.ImportAutoConfiguration
import org.springframework.boot.autoconfigure.web.reactive.error.ErrorWebFluxAutoConfiguration
import org.springframework.boot.context.properties.EnableConfigurationProperties
import org.springframework.boot.test.autoconfigure.web.reactive.WebFluxTest
import org.springframework.boot.test.context.TestConfiguration
import org.springframework.context.annotation.Bean
import org.springframework.context.annotation.Import
import org.springframework.http.HttpStatus
import org.springframework.http.MediaType
import org.springframework.test.context.TestPropertySource
import org.springframework.test.web.reactive.server.WebTestClient
import java.io.IOException

/**
 * The HTTP contract (docs/ARCHITECTURE.md) through the real controllers, service, error handler and filter,
 * with fakes for the database, pricing, stock and the broker.
 */
@WebFluxTest(controllers = [ProductController::class, HealthController::class])
@Import(ProductService::class, TraceResponseFilter::class, JsonErrorHandler::class, ProductApiTest.Fakes::class)
@ImportAutoConfiguration(ErrorWebFluxAutoConfiguration::class)
@TestPropertySource(properties = ["catalog.dependency-timeout=300ms"])
class ProductApiTest {
    @TestConfiguration
    @EnableConfigurationProperties(CatalogProperties::class)
    class Fakes {
        @Bean fun repository() = FakeProductRepository()
        @Bean fun pricing() = FakePricingClient()
        @Bean fun stock() = FakeStockClient()
        @Bean fun pageViews() = FakePageViews()
        @Bean fun flags() = FakeFailureFlags()
    }

    @Autowired lateinit var client: WebTestClient
    @Autowired lateinit var repository: FakeProductRepository
    @Autowired lateinit var pricing: FakePricingClient
    @Autowired lateinit var stock: FakeStockClient
    @Autowired lateinit var pageViews: FakePageViews
    @Autowired lateinit var flags: FakeFailureFlags

    @BeforeEach
    fun reset() {
        repository.failure = null
        pricing.failure = null; pricing.delayMs = 0; pricing.calls.set(0)
        stock.failure = null; stock.delayMs = 0; stock.calls.set(0)
        pageViews.recorded.clear()
        flags.brokenProductId = 0
    }

    @Test
    fun `product document with price and stocks`() {
        client.get().uri("/products/1").exchange()
            .expectStatus().isOk
            .expectHeader().contentTypeCompatibleWith(MediaType.APPLICATION_JSON)
            .expectBody()
            .jsonPath("$.id").isEqualTo(1)
            .jsonPath("$.name").isEqualTo("Stickers pack")
            .jsonPath("$.description").isEqualTo("A pack of rad stickers")
            .jsonPath("$.price").isEqualTo(0.52)
            .jsonPath("$.stocks[0].quantity").isEqualTo(5)
            .jsonPath("$.stocks[0].warehouse.city").isEqualTo("Lausanne")
            .jsonPath("$.stocks[0].warehouse.state").isEqualTo("Vaud")
            .jsonPath("$.stocks[0].warehouse.country").isEqualTo("Switzerland")
            .jsonPath("$.stocks[0].warehouse.id").doesNotExist()
            .jsonPath("$.unavailable").doesNotExist()
        assertThat(pageViews.recorded.map { it.first }).containsExactly("/products/1")
    }

    @Test
    fun `stock failure degrades the answer, never fails it`() {
        stock.failure = IOException("connection refused")
        client.get().uri("/products/1").exchange()
            .expectStatus().isOk
            .expectBody()
            .jsonPath("$.price").isEqualTo(0.52)
            .jsonPath("$.stocks").value<Any?> { assertThat(it).isNull() }
            .jsonPath("$.unavailable").isEqualTo(listOf("stock"))
    }

    @Test
    fun `pricing failure gives price null`() {
        pricing.failure = IllegalStateException("bad body")
        client.get().uri("/products/2").exchange()
            .expectStatus().isOk
            .expectBody()
            .jsonPath("$.price").value<Any?> { assertThat(it).isNull() }
            .jsonPath("$.stocks[0].quantity").isEqualTo(5)
            .jsonPath("$.unavailable").isEqualTo(listOf("pricing"))
    }

    @Test
    fun `slow dependencies time out concurrently`() {
        // Both take 5 s; the timeout is 300 ms (+ slack) and they run concurrently.
        pricing.delayMs = 5_000
        stock.delayMs = 5_000
        val started = System.nanoTime()
        client.get().uri("/products/1").exchange()
            .expectStatus().isOk
            .expectBody()
            .jsonPath("$.price").value<Any?> { assertThat(it).isNull() }
            .jsonPath("$.stocks").value<Any?> { assertThat(it).isNull() }
            .jsonPath("$.unavailable").isEqualTo(listOf("pricing", "stock"))
        assertThat((System.nanoTime() - started) / 1_000_000).isLessThan(2_000)
    }

    @Test
    fun `list has one pricing and one stock call per product`() {
        client.get().uri("/products").exchange()
            .expectStatus().isOk
            .expectBody()
            .jsonPath("$.length()").isEqualTo(3)
            .jsonPath("$[2].id").isEqualTo(3)
            .jsonPath("$[2].price").isEqualTo(0.52)
        assertThat(pricing.calls.get()).isEqualTo(3)
        assertThat(stock.calls.get()).isEqualTo(3)
        assertThat(pageViews.recorded.map { it.first }).containsExactly("/products")
    }

    @ParameterizedTest
    @ValueSource(strings = ["abc", "-1", "0", "99999999999999999999", "1.5"])
    fun `invalid ids are 400 JSON`(id: String) {
        client.get().uri("/products/$id").exchange()
            .expectStatus().isBadRequest
            .expectBody()
            .jsonPath("$.error").isEqualTo("invalid product id: must be a positive integer")
            .jsonPath("$.trace").doesNotExist()
        assertThat(pageViews.recorded).isEmpty()
    }

    @Test
    fun `unknown id is 404 JSON`() {
        client.get().uri("/products/999").exchange()
            .expectStatus().isNotFound
            .expectBody().json("""{"error": "product 999 not found"}""", true)
        assertThat(pageViews.recorded).isEmpty()
    }

    @Test
    fun `database down is 503 JSON without a stack trace`() {
        repository.failure = DatabaseUnavailableException(IOException("Connection refused"))
        for (path in listOf("/products/1", "/products")) {
            val body = client.get().uri(path).exchange()
                .expectStatus().isEqualTo(HttpStatus.SERVICE_UNAVAILABLE)
                .expectBody(String::class.java).returnResult().responseBody!!
            assertThat(body).isEqualTo("""{"error":"database unavailable"}""")
        }
    }

    @Test
    fun `a bug is 500 JSON without a stack trace`() {
        repository.failure = IllegalStateException("secret internals")
        val body = client.get().uri("/products/1").exchange()
            .expectStatus().isEqualTo(HttpStatus.INTERNAL_SERVER_ERROR)
            .expectBody(String::class.java).returnResult().responseBody!!
        assertThat(body).isEqualTo("""{"error":"internal error"}""")
    }

    @Test
    fun `catalogProductFailure breaks that product only, with 500 JSON naming the flag`() {
        flags.brokenProductId = 2
        client.get().uri("/products/2").exchange()
            .expectStatus().isEqualTo(HttpStatus.INTERNAL_SERVER_ERROR)
            .expectBody().json("""{"error": "product 2 fails on purpose (flag catalogProductFailure)"}""", true)
        assertThat(pricing.calls.get()).isZero()
        assertThat(pageViews.recorded).isEmpty()
        client.get().uri("/products/1").exchange().expectStatus().isOk
        client.get().uri("/products").exchange().expectStatus().isOk
        flags.brokenProductId = 0
        client.get().uri("/products/2").exchange().expectStatus().isOk
    }

    @Test
    fun `unknown route is 404 JSON`() {
        client.get().uri("/nope").exchange()
            .expectStatus().isNotFound
            .expectBody().json("""{"error": "not found"}""", true)
    }

    @Test
    fun `health follows the database`() {
        client.get().uri("/health").exchange()
            .expectStatus().isOk
            .expectBody().jsonPath("$.status").isEqualTo("ok").jsonPath("$.mqtt.connected").isEqualTo(true)
        repository.failure = DatabaseUnavailableException(IOException("down"))
        client.get().uri("/health").exchange()
            .expectStatus().isEqualTo(HttpStatus.SERVICE_UNAVAILABLE)
            .expectBody().jsonPath("$.status").isEqualTo("unavailable").jsonPath("$.error").isEqualTo("database unavailable")
    }
}
