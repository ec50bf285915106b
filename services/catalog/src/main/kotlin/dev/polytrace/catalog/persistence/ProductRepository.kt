package dev.polytrace.catalog.persistence

import dev.polytrace.catalog.config.CatalogProperties
import dev.polytrace.catalog.domain.DatabaseUnavailableException
import dev.polytrace.catalog.domain.Product
import io.r2dbc.spi.R2dbcException
import io.r2dbc.spi.Readable
import kotlinx.coroutines.TimeoutCancellationException
import kotlinx.coroutines.flow.toList
import kotlinx.coroutines.withTimeout
import org.springframework.dao.DataAccessException
import org.springframework.r2dbc.core.DatabaseClient
import org.springframework.r2dbc.core.awaitOneOrNull
import org.springframework.r2dbc.core.awaitSingle
import org.springframework.r2dbc.core.flow
import org.springframework.stereotype.Repository
import java.io.IOException

interface ProductRepository {
    suspend fun findById(id: Long): Product?
    suspend fun findAll(): List<Product>

    /** `SELECT 1`; throws [DatabaseUnavailableException] when the database cannot answer. */
    suspend fun ping()
}

/**
 * `catalog.product` over R2DBC. The Java agent traces each statement (CLIENT span with
 * `db.system.name=postgresql` and the parameterised `db.query.text`); tables are named with their
 * schema so the query text says where it goes.
 */
@Repository
class R2dbcProductRepository(
    private val db: DatabaseClient,
    properties: CatalogProperties,
) : ProductRepository {
    private val timeoutMs = properties.databaseTimeout.toMillis()

    override suspend fun findById(id: Long): Product? = guarded {
        db.sql("SELECT id, name, description FROM catalog.product WHERE id = :id")
            .bind("id", id)
            .map(::toProduct)
            .awaitOneOrNull()
    }

    override suspend fun findAll(): List<Product> = guarded {
        db.sql("SELECT id, name, description FROM catalog.product ORDER BY id")
            .map(::toProduct)
            .flow()
            .toList()
    }

    override suspend fun ping() {
        guarded { db.sql("SELECT 1").map { row -> row.get(0) }.awaitSingle() }
    }

    private fun toProduct(row: Readable) = Product(
        id = row.get("id", java.lang.Long::class.java)!!.toLong(),
        name = row.get("name", String::class.java)!!,
        description = row.get("description", String::class.java)!!,
    )

    /**
     * The database being unreachable, refusing us or too slow is a 503 for our caller, never a
     * "not found" or a generic 500. Programming errors (bad SQL) are left to surface as 500.
     */
    private suspend fun <T> guarded(block: suspend () -> T): T =
        try {
            withTimeout(timeoutMs) { block() }
        } catch (e: TimeoutCancellationException) {
            throw DatabaseUnavailableException(e)
        } catch (e: org.springframework.r2dbc.BadSqlGrammarException) {
            throw e
        } catch (e: DataAccessException) {
            throw DatabaseUnavailableException(e)
        } catch (e: R2dbcException) {
            throw DatabaseUnavailableException(e)
        } catch (e: IOException) {
            throw DatabaseUnavailableException(e)
        }
}
