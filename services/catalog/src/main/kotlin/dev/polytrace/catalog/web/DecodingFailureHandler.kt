package dev.polytrace.catalog.web

import io.netty.buffer.Unpooled
import io.netty.channel.ChannelFutureListener
import io.netty.channel.ChannelHandlerContext
import io.netty.channel.ChannelInboundHandlerAdapter
import io.netty.handler.codec.http.DefaultFullHttpResponse
import io.netty.handler.codec.http.HttpHeaderNames
import io.netty.handler.codec.http.HttpHeaderValues
import io.netty.handler.codec.http.HttpRequest
import io.netty.handler.codec.http.HttpResponseStatus
import io.netty.handler.codec.http.HttpVersion
import io.netty.handler.codec.http.TooLongHttpHeaderException
import io.netty.handler.codec.http.TooLongHttpLineException
import io.netty.util.ReferenceCountUtil
import org.springframework.boot.web.embedded.netty.NettyServerCustomizer
import org.springframework.stereotype.Component
import reactor.netty.NettyPipeline
import reactor.netty.http.server.HttpServer

/**
 * Puts [DecodingFailureHandler] right after Netty's HTTP codec, ahead of Reactor Netty's own handling.
 */
@Component
class DecodingFailureCustomizer : NettyServerCustomizer {
    override fun apply(server: HttpServer): HttpServer = server.doOnChannelInit { _, channel, _ ->
        channel.pipeline().addAfter(NettyPipeline.HttpCodec, "polytrace.decodingFailures", DecodingFailureHandler())
    }
}

/**
 * Answers a request Netty could not decode (headers over the 8 KiB limit, a malformed request line)
 * with a JSON error and `Connection: close`.
 *
 * Reactor Netty would answer it too, but through the operations bound to the channel: on a keep-alive
 * connection whose previous request is answered but not yet terminated, those are the previous
 * request's, which are complete, so the answer is dropped and the connection hangs open
 * (reactor-netty 1.2.12 up to 1.3.x: `HttpTrafficHandler` handles decoding failures before its
 * check for still-bound operations). Seen as ~4% of oversized requests on reused connections
 * never answered (tests/test_properties.py).
 *
 * Nothing after a failure is read: the decoder has lost its place in the stream, so the
 * connection is closed.
 */
internal class DecodingFailureHandler : ChannelInboundHandlerAdapter() {
    private var failed = false

    override fun channelRead(ctx: ChannelHandlerContext, msg: Any) {
        if (failed) {
            ReferenceCountUtil.release(msg)
            return
        }
        val result = (msg as? HttpRequest)?.decoderResult()
        if (result == null || !result.isFailure) {
            ctx.fireChannelRead(msg)
            return
        }
        failed = true
        ReferenceCountUtil.release(msg)
        val (status, message) = when (result.cause()) {
            is TooLongHttpHeaderException -> HttpResponseStatus.REQUEST_HEADER_FIELDS_TOO_LARGE to "request headers too large"
            is TooLongHttpLineException -> HttpResponseStatus.REQUEST_URI_TOO_LONG to "request line too long"
            else -> HttpResponseStatus.BAD_REQUEST to "malformed request"
        }
        val body = Unpooled.copiedBuffer("""{"error":"$message"}""", Charsets.UTF_8)
        val response = DefaultFullHttpResponse(HttpVersion.HTTP_1_1, status, body)
        response.headers()
            .set(HttpHeaderNames.CONTENT_TYPE, HttpHeaderValues.APPLICATION_JSON)
            .setInt(HttpHeaderNames.CONTENT_LENGTH, body.readableBytes())
            .set(HttpHeaderNames.CONNECTION, HttpHeaderValues.CLOSE)
        ctx.writeAndFlush(response).addListener(ChannelFutureListener.CLOSE)
    }
}
