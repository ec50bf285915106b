package dev.polytrace.catalog.spancost;

import static java.nio.charset.StandardCharsets.UTF_8;

import io.opentelemetry.api.GlobalOpenTelemetry;
import io.opentelemetry.api.common.AttributeKey;
import io.opentelemetry.api.trace.SpanKind;
import io.opentelemetry.api.trace.Tracer;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;

/**
 * The span-cost benchmark's Java side (polytrace/bench/spancost/): each line on stdin is a number
 * of spans to make; "ok" on stdout once they have ended. The harness measures this process's CPU
 * and counts the spans its receiver gets; the agent exports them as it does catalog's.
 *
 * <p>The span is the one every language makes (polytrace/bench/spancost/programs.py, SPAN): a
 * database CLIENT span with seven attributes, a root span each time.
 */
public final class SpanCost {
  // Constants, as instrumentations hold them: a key built per span would be the bench's own cost.
  private static final AttributeKey<String> SYSTEM = AttributeKey.stringKey("db.system.name");
  private static final AttributeKey<String> NAMESPACE = AttributeKey.stringKey("db.namespace");
  private static final AttributeKey<String> OPERATION = AttributeKey.stringKey("db.operation.name");
  private static final AttributeKey<String> COLLECTION = AttributeKey.stringKey("db.collection.name");
  private static final AttributeKey<String> QUERY = AttributeKey.stringKey("db.query.text");
  private static final AttributeKey<String> ADDRESS = AttributeKey.stringKey("server.address");
  private static final AttributeKey<Long> PORT = AttributeKey.longKey("server.port");

  private SpanCost() {}

  public static void main(String[] args) throws IOException {
    Tracer tracer = GlobalOpenTelemetry.getTracer("span-cost");
    BufferedReader commands = new BufferedReader(new InputStreamReader(System.in, UTF_8));
    for (String line = commands.readLine(); line != null; line = commands.readLine()) {
      int count = Integer.parseInt(line.trim());
      for (int i = 0; i < count; i++) {
        tracer
            .spanBuilder("SELECT stock.stock")
            .setSpanKind(SpanKind.CLIENT)
            .setAttribute(SYSTEM, "postgresql")
            .setAttribute(NAMESPACE, "polytrace")
            .setAttribute(OPERATION, "SELECT")
            .setAttribute(COLLECTION, "stock.stock")
            .setAttribute(QUERY, "SELECT product_id, quantity FROM stock.stock WHERE product_id = $1")
            .setAttribute(ADDRESS, "127.0.0.1")
            .setAttribute(PORT, 55432L)
            .startSpan()
            .end();
      }
      System.out.println("ok");
      System.out.flush();
    }
    // The agent's shutdown hook flushes what is still queued.
  }
}
