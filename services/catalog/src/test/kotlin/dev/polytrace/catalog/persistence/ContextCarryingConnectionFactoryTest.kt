package dev.polytrace.catalog.persistence

import io.opentelemetry.context.Context
import io.opentelemetry.context.ContextKey
import io.r2dbc.spi.Connection
import io.r2dbc.spi.ConnectionFactory
import io.r2dbc.spi.ConnectionFactoryMetadata
import io.r2dbc.spi.Result
import io.r2dbc.spi.Statement
import org.assertj.core.api.Assertions.assertThat
import org.junit.jupiter.api.Test
import org.reactivestreams.Publisher
import reactor.core.publisher.Mono
import reactor.core.scheduler.Schedulers
import java.lang.reflect.Method
import java.lang.reflect.Proxy

class ContextCarryingConnectionFactoryTest {
    private val request = ContextKey.named<String>("request")

    /** What the statement saw as the current context when executed and when subscribed to. */
    private class Seen {
        var atExecute: Context? = null
        var atSubscribe: Context? = null
    }

    // Hands the connection over on another thread, as r2dbc-pool does when a request waits for a
    // connection another request releases.
    private fun poolLike(seen: Seen): ConnectionFactory = object : ConnectionFactory {
        override fun create(): Publisher<out Connection> =
            Mono.fromCallable { connection(seen) }.subscribeOn(Schedulers.single())

        override fun getMetadata(): ConnectionFactoryMetadata = ConnectionFactoryMetadata { "fake" }
    }

    private fun connection(seen: Seen): Connection = proxy { _, method, args ->
        when (method.name) {
            "createStatement" -> statement(seen)
            else -> error("unexpected ${method.name}(${args?.toList()})")
        }
    }

    // Builder methods return the statement itself, as drivers' do.
    private fun statement(seen: Seen): Statement = proxy { self, method, _ ->
        if (method.name == "execute") {
            seen.atExecute = Context.current()
            Publisher<Result> { subscriber ->
                seen.atSubscribe = Context.current()
                Mono.empty<Result>().subscribe(subscriber)
            }
        } else {
            self
        }
    }

    private inline fun <reified T> proxy(crossinline answer: (Any, Method, Array<Any?>?) -> Any?): T =
        Proxy.newProxyInstance(T::class.java.classLoader, arrayOf(T::class.java)) { self, method, args ->
            answer(self, method, args)
        } as T

    private fun runQuery(factory: ConnectionFactory) {
        Context.root().with(request, "A").makeCurrent().use {
            Mono.from(factory.create())
                .flatMap { Mono.from(it.createStatement("SELECT 1").bind("id", 1).execute()) }
                .block()
        }
    }

    @Test
    fun `a statement on a connection handed over on another thread runs in the asking request's context`() {
        val seen = Seen()
        runQuery(ContextCarryingConnectionFactory(poolLike(seen)))
        assertThat(seen.atExecute?.get(request)).isEqualTo("A")
        assertThat(seen.atSubscribe?.get(request)).isEqualTo("A")
    }

    @Test
    fun `without the decorator the statement runs outside the request's context`() {
        val seen = Seen()
        runQuery(poolLike(seen))
        assertThat(seen.atExecute?.get(request)).isNull()
        assertThat(seen.atSubscribe?.get(request)).isNull()
    }
}
