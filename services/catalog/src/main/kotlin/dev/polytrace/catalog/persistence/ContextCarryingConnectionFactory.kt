package dev.polytrace.catalog.persistence

import io.opentelemetry.context.Context
import io.r2dbc.spi.Batch
import io.r2dbc.spi.Connection
import io.r2dbc.spi.ConnectionFactory
import io.r2dbc.spi.Result
import io.r2dbc.spi.Statement
import io.r2dbc.spi.Wrapped
import org.reactivestreams.Publisher
import reactor.core.publisher.Mono

/**
 * Runs each statement in the OpenTelemetry context of the request that asked for the connection,
 * so that the agent's R2DBC span has the right parent without the agent's Reactor instrumentation
 * (a quarter of catalog's tracing cost: services/catalog/README.md).
 *
 * The request's coroutine carries its context (the agent's kotlinx-coroutines instrumentation) up
 * to `create()`. When r2dbc-pool has no idle connection, the statement is created and executed in
 * the callback that hands over a connection another request released, on that request's thread:
 * there the current context is the other request's, or none. The context is therefore taken where
 * the connection is asked for and made current around `execute()` and its subscription, which is
 * where the agent's R2DBC proxy reads it.
 *
 * Only `DatabaseClient` goes through this wrapper (DatabaseClientConfig.kt). An
 * `R2dbcTransactionManager` on the pool would bind its connections to the pool, not to this
 * factory, so `DatabaseClient` would not see them: catalog only reads, and has none.
 */
class ContextCarryingConnectionFactory(private val delegate: ConnectionFactory) :
    ConnectionFactory by delegate, Wrapped<ConnectionFactory> {

    override fun create(): Publisher<out Connection> = Mono.defer {
        val context = Context.current()
        Mono.from<Connection>(delegate.create()).map { ContextCarryingConnection(it, context) }
    }

    override fun unwrap(): ConnectionFactory = delegate
}

private class ContextCarryingConnection(private val delegate: Connection, private val context: Context) :
    Connection by delegate, Wrapped<Connection> {

    override fun createStatement(sql: String): Statement =
        ContextCarryingStatement(delegate.createStatement(sql), context)

    override fun createBatch(): Batch = ContextCarryingBatch(delegate.createBatch(), context)

    override fun unwrap(): Connection = delegate
}

// Every builder method returns this wrapper, not the delegate, so that `execute()` stays ours.
private class ContextCarryingStatement(private val delegate: Statement, private val context: Context) : Statement {
    override fun add(): Statement = apply { delegate.add() }
    override fun bind(index: Int, value: Any): Statement = apply { delegate.bind(index, value) }
    override fun bind(name: String, value: Any): Statement = apply { delegate.bind(name, value) }
    override fun bindNull(index: Int, type: Class<*>): Statement = apply { delegate.bindNull(index, type) }
    override fun bindNull(name: String, type: Class<*>): Statement = apply { delegate.bindNull(name, type) }
    override fun returnGeneratedValues(vararg columns: String): Statement =
        apply { delegate.returnGeneratedValues(*columns) }
    override fun fetchSize(rows: Int): Statement = apply { delegate.fetchSize(rows) }
    override fun execute(): Publisher<out Result> = inContext(context) { delegate.execute() }
}

private class ContextCarryingBatch(private val delegate: Batch, private val context: Context) : Batch {
    override fun add(sql: String): Batch = apply { delegate.add(sql) }
    override fun execute(): Publisher<out Result> = inContext(context) { delegate.execute() }
}

private fun <T> inContext(context: Context, publisher: () -> Publisher<T>): Publisher<T> {
    val results = context.makeCurrent().use { publisher() }
    return Publisher { subscriber -> context.makeCurrent().use { results.subscribe(subscriber) } }
}
