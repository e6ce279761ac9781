// Prints tests/data/time_patterns.json: what Java's DateTimeFormatter (JDK 17) makes of the
// patterns that src/config/topic/time_pattern.rs implements, for tests/time_patterns.rs.
//
//   javac -d /tmp/tp tests/data/gen/TimePatterns.java
//   java -cp /tmp/tp TimePatterns > tests/data/time_patterns.json
//
// Every formatter is DateTimeFormatter.ofPattern(pattern, Locale.ROOT).withZone(offset), applied
// to an Instant: the same thing the Streams http-poller does with its last-success instant.
// "cases" are formatted strings; "java_rejects" are patterns ofPattern refuses (the Rust parser
// must refuse them too); "unsupported" are patterns Java accepts but the Rust subset refuses on
// purpose (text fields, localized forms, other fields), with Java's output for the record.

import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

public class TimePatterns {
    private static final List<String> cases = new ArrayList<>();
    private static final List<String> rejects = new ArrayList<>();
    private static final List<String> unsupported = new ArrayList<>();

    private static DateTimeFormatter formatter(String pattern, String offset) {
        return DateTimeFormatter.ofPattern(pattern, Locale.ROOT).withZone(ZoneOffset.of(offset));
    }

    private static void add(String pattern, String instant, String offset) {
        Instant at = Instant.parse(instant);
        ZoneOffset zone = ZoneOffset.of(offset);
        String expected = formatter(pattern, offset).format(at);
        cases.add("{\"pattern\": " + json(pattern)
                + ", \"instant\": " + json(at.toString())
                + ", \"seconds\": " + at.getEpochSecond()
                + ", \"nanos\": " + at.getNano()
                + ", \"offset\": " + json(zone.getId())
                + ", \"expected\": " + json(expected) + "}");
    }

    private static void reject(String pattern) {
        try {
            DateTimeFormatter.ofPattern(pattern, Locale.ROOT);
        } catch (IllegalArgumentException e) {
            rejects.add("{\"pattern\": " + json(pattern) + ", \"java\": " + json(e.getMessage()) + "}");
            return;
        }
        throw new IllegalStateException("Java accepts " + pattern + ", not a rejection case");
    }

    private static void unsupported(String pattern) {
        String java = formatter(pattern, "+05:30").format(Instant.parse("2024-03-07T04:05:06.123456789Z"));
        unsupported.add("{\"pattern\": " + json(pattern) + ", \"java\": " + json(java) + "}");
    }

    private static String json(String s) {
        StringBuilder b = new StringBuilder("\"");
        for (char c : s.toCharArray()) {
            if (c == '"' || c == '\\') {
                b.append('\\').append(c);
            } else if (c < 0x20 || c > 0x7e) {
                b.append(String.format("\\u%04x", (int) c));
            } else {
                b.append(c);
            }
        }
        return b.append('"').toString();
    }

    private static void list(StringBuilder out, String name, List<String> items, boolean last) {
        out.append("  \"").append(name).append("\": [\n");
        for (int i = 0; i < items.size(); i++) {
            out.append("    ").append(items.get(i)).append(i + 1 < items.size() ? ",\n" : "\n");
        }
        out.append(last ? "  ]\n" : "  ],\n");
    }

    public static void main(String[] args) {
        String a = "2024-03-07T04:05:06.123456789Z"; // single-digit month, day, hour, minute, second
        String b = "2023-11-28T23:59:58.005Z"; // 5 ms
        String[] offsets = {"Z", "+01:00", "-08:00", "+05:30", "-03:30", "+05:45", "+14:00", "-12:00",
                "+10:00", "-00:45", "+00:00:30", "+01:02:03", "-04:00:15"};

        // Each field form, at UTC and at a shifting offset.
        String[] fields = {"yyyy", "uuuu", "yy", "uu", "y", "u", "yyy", "yyyyy", "uuuuuu", "MM", "M",
                "dd", "d", "HH", "H", "hh", "h", "a", "mm", "m", "ss", "s"};
        for (String p : fields) {
            add(p, a, "Z");
            add(p, b, "Z");
            add(p, a, "-05:00");
        }

        // Hours around midnight and noon for h, hh, a, H, HH.
        String[] clock = {"2024-06-15T00:00:00Z", "2024-06-15T00:59:00Z", "2024-06-15T01:00:00Z",
                "2024-06-15T09:30:00Z", "2024-06-15T11:59:59Z", "2024-06-15T12:00:00Z",
                "2024-06-15T12:30:00Z", "2024-06-15T13:00:00Z", "2024-06-15T21:45:00Z",
                "2024-06-15T23:59:59Z"};
        for (String t : clock) {
            add("h:mm a", t, "Z");
            add("hh:mm:ss a", t, "Z");
            add("H:m:s", t, "Z");
        }
        add("h a", "2024-06-15T11:30:00Z", "+00:30"); // noon, reached through the offset
        add("h a", "2024-06-15T00:00:00Z", "-12:00"); // noon of the previous day

        // Fractions: 1..9 digits, truncated.
        String[] fractionInstants = {a, b, "2024-03-07T04:05:06Z", "2024-03-07T04:05:06.999999999Z",
                "2024-03-07T04:05:06.000000001Z", "2024-03-07T04:05:06.000123Z", "2024-03-07T04:05:06.1Z",
                "1969-12-31T23:59:59.987654321Z"};
        for (int n = 1; n <= 9; n++) {
            String p = "ss." + "S".repeat(n);
            for (String t : fractionInstants) {
                add(p, t, "Z");
            }
        }
        add("SSS", "2024-03-07T04:05:06.005Z", "+05:30");
        add("HHmmssSSS", "2024-03-07T04:05:06.5Z", "Z");

        // Offset forms against every offset, including seconds and sub-minute offsets.
        String[] offsetForms = {"X", "XX", "XXX", "XXXX", "XXXXX", "x", "xx", "xxx", "xxxx", "xxxxx",
                "Z", "ZZ", "ZZZ", "ZZZZZ"};
        for (String p : offsetForms) {
            for (String o : offsets) {
                add(p, a, o);
            }
        }

        // Years below 1000, around year 0, two-digit years, and the ends of jiff's range.
        String[] years = {"0999-02-03T04:05:06Z", "0045-07-08T09:10:11Z", "0005-12-31T12:00:00Z",
                "0001-01-01T00:00:00Z", "0000-06-15T12:00:00Z", "-0001-06-15T12:00:00Z",
                "-0123-06-15T12:00:00Z", "2000-01-01T00:00:00Z", "2007-05-05T05:05:05Z",
                "1999-12-31T23:59:59Z", "2100-01-01T00:00:00Z", "9999-12-30T21:59:59.999999999Z",
                "-9999-06-01T00:00:00Z"};
        for (String t : years) {
            add("yyyy-MM-dd", t, "Z");
            add("uuuu-MM-dd", t, "Z");
            add("yy/uu y u", t, "Z");
        }
        // jiff's Timestamp::MAX is 9999-12-30T22:00:00Z (so that any offset stays in year 9999).
        add("yyyy-MM-dd HH:mm:ss.SSS", "9999-12-30T22:00:00Z", "+18:00");
        // Year -9999 is year 10000 of the era before: yyyy prints "+10000", as Java does.
        add("yyyy-MM-dd HH:mm", "-9999-01-02T01:59:59Z", "-01:59:59"); // jiff's minimum civil time
        add("uuuu-MM-dd HH:mm:ss", "-9999-01-02T01:59:59Z", "-01:59:59");

        // Literals: quoted text, '' escapes, letters only inside quotes, other characters as-is.
        String[] literals = {"yyyy-MM-dd'T'HH:mm:ss", "'at' HH 'o''clock'", "''", "''''", "'''yy'''",
                "HH''mm", "'It''s' h a", "dd/MM/yyyy", "yyyy.MM.dd HH:mm:ss", "'['HH']'",
                "[yyyy-MM-dd]", "HH[:mm[:ss]]", "'{#}'", "'X' X", "HH\u00e9mm", "d \u00b7 M", "'Q'",
                "'a''''b'", "yyyy_MM_dd,HH;mm!ss"};
        for (String p : literals) {
            add(p, a, "Z");
        }

        // ISO-like and compact patterns people put in query parameters.
        String[] iso = {"yyyy-MM-dd'T'HH:mm:ss.SSSXXX", "yyyy-MM-dd'T'HH:mm:ssXXX", "yyyy-MM-dd'T'HH:mm:ss",
                "yyyyMMddHHmmss", "yyyy-MM-dd'T'HH:mm:ss.SSSSSSSSSxxx", "yyyy-MM-dd'T'HH:mm:ss.SSSSSSZ",
                "uuuu-MM-dd'T'HH:mm:ssX", "yyyy-MM-dd HH:mm:ss.SSS", "M/d/yy h:mm a"};
        String[] isoOffsets = {"Z", "+02:00", "-03:30", "+05:30"};
        for (String p : iso) {
            for (String o : isoOffsets) {
                add(p, a, o);
                add(p, b, o);
            }
        }

        // Patterns Java refuses.
        String[] refused = {"ddd", "HHH", "hhh", "mmm", "sss", "aa", "MMMMMM", "XXXXXX", "xxxxxx",
                "ZZZZZZ", "SSSSSSSSSS", "yyyyyyyyyyyyyyyyyyyy", "uuuuuuuuuuuuuuuuuuuu", "'abc",
                "yyyy-MM-dd'T", "'", "'''", "]", "HH]mm", "[HH]]", "{", "}", "#", "T", "yyyy-MM-ddTHH",
                "b", "l", "p"};
        for (String p : refused) {
            reject(p);
        }

        // Patterns Java accepts and the subset refuses.
        String[] notOurs = {"MMM", "MMMM", "MMMMM", "LL", "EEE", "E", "G", "Q", "q", "D", "F", "k", "K",
                "n", "N", "A", "VV", "z", "O", "ZZZZ", "w", "W", "Y", "e", "c", "g", "B", "ppH"};
        for (String p : notOurs) {
            unsupported(p);
        }

        StringBuilder out = new StringBuilder();
        out.append("{\n  \"generator\": \"tests/data/gen/TimePatterns.java\",\n");
        out.append("  \"java\": ").append(json(System.getProperty("java.version"))).append(",\n");
        list(out, "cases", cases, false);
        list(out, "java_rejects", rejects, false);
        list(out, "unsupported", unsupported, true);
        out.append("}\n");
        System.out.print(out);
    }
}
