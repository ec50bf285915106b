package dev.polytrace.catalog.agent;

import io.opentelemetry.context.propagation.TextMapGetter;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Locale;

/** An HTTP request's headers in arrival order, names case-insensitive, the way Netty's are read. */
final class Headers {
  private final List<String[]> fields = new ArrayList<>();

  static Headers of(String... namesAndValues) {
    Headers headers = new Headers();
    for (int i = 0; i < namesAndValues.length; i += 2) {
      headers.fields.add(new String[] {namesAndValues[i], namesAndValues[i + 1]});
    }
    return headers;
  }

  List<String> all(String name) {
    List<String> values = new ArrayList<>();
    for (String[] field : fields) {
      if (field[0].toLowerCase(Locale.ROOT).equals(name.toLowerCase(Locale.ROOT))) {
        values.add(field[1]);
      }
    }
    return values;
  }

  /** Like the agent's Netty server getter (2.28.1): first value from get, every value from getAll. */
  static final TextMapGetter<Headers> GETTER =
      new TextMapGetter<>() {
        @Override
        public Iterable<String> keys(Headers carrier) {
          return carrier.fields.stream().map(f -> f[0]).toList();
        }

        @Override
        public String get(Headers carrier, String key) {
          List<String> values = carrier.all(key);
          return values.isEmpty() ? null : values.get(0);
        }

        @Override
        public Iterator<String> getAll(Headers carrier, String key) {
          return carrier.all(key).iterator();
        }
      };

  /** A getter that only knows get (getAll is the interface's default: one value). */
  static final TextMapGetter<Headers> FIRST_VALUE_ONLY =
      new TextMapGetter<>() {
        @Override
        public Iterable<String> keys(Headers carrier) {
          return GETTER.keys(carrier);
        }

        @Override
        public String get(Headers carrier, String key) {
          return GETTER.get(carrier, key);
        }
      };
}
