package dev.polytrace.catalog.agent;

import io.opentelemetry.api.trace.propagation.W3CTraceContextPropagator;
import io.opentelemetry.context.Context;
import io.opentelemetry.context.propagation.TextMapGetter;
import io.opentelemetry.context.propagation.TextMapPropagator;
import io.opentelemetry.context.propagation.TextMapSetter;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Iterator;
import java.util.List;
import java.util.stream.Collectors;

/**
 * W3C Trace Context, read from every occurrence of its headers. The API's
 * {@link W3CTraceContextPropagator} reads one value per header ({@code TextMapGetter.get}, the
 * first occurrence on Netty), so a request with repeated headers is read as if only the first one
 * had been sent. HTTP (RFC 9110 §5.3) makes repeated fields one comma-joined list, and the W3C
 * test suite checks at level 1 what follows from that:
 *
 * <ul>
 *   <li>two {@code traceparent} headers join into a value that is no traceparent: no parent, the
 *       request starts a new trace (and {@code tracestate} is not read, as for any invalid
 *       traceparent);
 *   <li>repeated {@code tracestate} headers are one list, in order; empty ones add no member.
 * </ul>
 *
 * The agent's server getters expose every occurrence through {@link TextMapGetter#getAll} (Netty's
 * in agent 2.28.1); a getter that does not gives one value, and this behaves exactly like the W3C
 * propagator. Parsing, validation and injection stay the W3C propagator's.
 */
public final class RepeatedHeadersTraceContextPropagator implements TextMapPropagator {
  static final String TRACEPARENT = "traceparent";
  static final String TRACESTATE = "tracestate";

  private static final RepeatedHeadersTraceContextPropagator INSTANCE =
      new RepeatedHeadersTraceContextPropagator();

  private final TextMapPropagator w3c = W3CTraceContextPropagator.getInstance();

  private RepeatedHeadersTraceContextPropagator() {}

  public static TextMapPropagator getInstance() {
    return INSTANCE;
  }

  @Override
  public Collection<String> fields() {
    return w3c.fields();
  }

  @Override
  public <C> void inject(Context context, C carrier, TextMapSetter<C> setter) {
    w3c.inject(context, carrier, setter);
  }

  @Override
  public <C> Context extract(Context context, C carrier, TextMapGetter<C> getter) {
    if (context == null) {
      context = Context.root();
    }
    if (getter == null) {
      return context;
    }
    if (values(getter, carrier, TRACEPARENT).size() > 1) {
      return context;
    }
    List<String> traceStates = values(getter, carrier, TRACESTATE);
    if (traceStates.size() <= 1) {
      return w3c.extract(context, carrier, getter);
    }
    String combined =
        traceStates.stream().filter(s -> !s.isBlank()).collect(Collectors.joining(","));
    return w3c.extract(context, carrier, new CombinedTraceState<>(getter, combined));
  }

  private static <C> List<String> values(TextMapGetter<C> getter, C carrier, String key) {
    List<String> values = new ArrayList<>(1);
    Iterator<String> all = getter.getAll(carrier, key);
    while (all.hasNext()) {
      values.add(all.next());
    }
    return values;
  }

  @Override
  public String toString() {
    return "RepeatedHeadersTraceContextPropagator";
  }

  /** The carrier as the W3C propagator should see it: one {@code tracestate}, already combined. */
  private static final class CombinedTraceState<C> implements TextMapGetter<C> {
    private final TextMapGetter<C> getter;
    private final String traceState;

    CombinedTraceState(TextMapGetter<C> getter, String traceState) {
      this.getter = getter;
      this.traceState = traceState.isEmpty() ? null : traceState;
    }

    @Override
    public Iterable<String> keys(C carrier) {
      return getter.keys(carrier);
    }

    @Override
    public String get(C carrier, String key) {
      return TRACESTATE.equals(key) ? traceState : getter.get(carrier, key);
    }
  }
}
