package e3stream.runtime.cli;

import e3stream.runtime.data.FashionMnist;
import e3stream.runtime.data.IdxReader;
import e3stream.runtime.data.ImageSet;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Minimal {@code --name value} / {@code --flag} command-line parsing for the offline commands. Unknown options are
 * refused with the list of valid ones; repeated options collect all values.
 */
final class CliArgs {
    private final Map<String, List<String>> values = new LinkedHashMap<>();

    /** Thrown for bad command-line input; the message is meant for the user, followed by the usage text. */
    static final class UsageException extends RuntimeException {
        private static final long serialVersionUID = 1L;

        UsageException(String message) {
            super(message);
        }
    }

    CliArgs(String[] args, Set<String> withValue, Set<String> flags) {
        for (int i = 0; i < args.length; i++) {
            String a = args[i];
            String name = a.startsWith("--") ? a.substring(2) : null;
            String inline = null;
            if (name != null && name.contains("=")) {
                inline = name.substring(name.indexOf('=') + 1);
                name = name.substring(0, name.indexOf('='));
            }
            if (name != null && flags.contains(name) && inline == null) {
                values.computeIfAbsent(name, k -> new ArrayList<>()).add("true");
            } else if (name != null && withValue.contains(name)) {
                String v = inline;
                if (v == null) {
                    if (i + 1 >= args.length) {
                        throw new UsageException("option --" + name + " needs a value");
                    }
                    v = args[++i];
                }
                values.computeIfAbsent(name, k -> new ArrayList<>()).add(v);
            } else {
                List<String> valid = new ArrayList<>();
                withValue.forEach(o -> valid.add("--" + o));
                flags.forEach(o -> valid.add("--" + o));
                throw new UsageException("unknown option '" + a + "', expected one of " + valid.stream().sorted().toList());
            }
        }
    }

    boolean has(String name) {
        return values.containsKey(name);
    }

    List<String> all(String name) {
        return values.getOrDefault(name, List.of());
    }

    String get(String name, String fallback) {
        List<String> v = values.get(name);
        if (v != null && v.size() > 1) {
            throw new UsageException("option --" + name + " was given " + v.size() + " times; give it once");
        }
        return v == null ? fallback : v.get(0);
    }

    int getInt(String name, int fallback) {
        String v = get(name, null);
        try {
            return v == null ? fallback : Integer.parseInt(v);
        } catch (NumberFormatException e) {
            throw new UsageException("option --" + name + " needs an integer, got '" + v + "'");
        }
    }

    double getDouble(String name, double fallback) {
        String v = get(name, null);
        try {
            return v == null ? fallback : Double.parseDouble(v);
        } catch (NumberFormatException e) {
            throw new UsageException("option --" + name + " needs a number, got '" + v + "'");
        }
    }

    /** A value the command needs: the option, or a {@link UsageException} naming it. */
    String required(String name) {
        String v = get(name, null);
        if (v == null) {
            throw new UsageException("option --" + name + " is required with its partner option");
        }
        return v;
    }

    /** An integer option that must be at least 1. */
    int positiveInt(String name, int fallback) {
        int v = getInt(name, fallback);
        if (v < 1) {
            throw new UsageException("option --" + name + " must be >= 1, got " + v);
        }
        return v;
    }

    /**
     * The Fashion-MNIST test split: {@code --test-images} with {@code --test-labels} (IDX files, e.g. the committed
     * subset), else the test split under {@code --fashion-mnist} (default {@link FashionMnist#DEBIAN_DIR}).
     */
    ImageSet fashionMnistTest() {
        return has("test-images") || has("test-labels")
                ? IdxReader.read("fashion-mnist test", Path.of(required("test-images")), Path.of(required("test-labels")))
                : FashionMnist.test(fashionMnistDir());
    }

    /** The Fashion-MNIST folder of {@code --fashion-mnist} (default {@link FashionMnist#DEBIAN_DIR}). */
    Path fashionMnistDir() {
        return Path.of(get("fashion-mnist", FashionMnist.DEBIAN_DIR.toString()));
    }
}
