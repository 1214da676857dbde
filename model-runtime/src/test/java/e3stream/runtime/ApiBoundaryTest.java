package e3stream.runtime;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.reflect.Constructor;
import java.lang.reflect.Executable;
import java.lang.reflect.Field;
import java.lang.reflect.Method;
import java.lang.reflect.Modifier;
import java.lang.reflect.Type;
import java.net.URISyntaxException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.TreeSet;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/** What a user of model-runtime may rely on: no API type names an {@link Internal} one in its public signatures. */
class ApiBoundaryTest {

    private static List<Class<?>> runtimeClasses() throws Exception {
        Path classes = classesFolder();
        List<Class<?>> out = new ArrayList<>();
        try (Stream<Path> files = Files.walk(classes)) {
            for (Path f : (Iterable<Path>) files.filter(p -> p.toString().endsWith(".class"))::iterator) {
                String name = classes.relativize(f).toString().replace(f.getFileSystem().getSeparator(), ".")
                        .replaceAll("\\.class$", "");
                out.add(Class.forName(name, false, ApiBoundaryTest.class.getClassLoader()));
            }
        }
        return out;
    }

    private static Path classesFolder() throws URISyntaxException {
        // model-runtime's main classes, where Internal itself was compiled (not the test classes).
        return Path.of(Internal.class.getProtectionDomain().getCodeSource().getLocation().toURI());
    }

    private static boolean api(Class<?> c) {
        for (Class<?> k = c; k != null; k = k.getDeclaringClass()) {
            if (!Modifier.isPublic(k.getModifiers()) || k.isAnnotationPresent(Internal.class)) {
                return false;
            }
        }
        return c.getName().startsWith("e3stream.runtime.");
    }

    private static boolean internal(Type type) {
        if (type instanceof Class<?> c) {
            while (c.isArray()) {
                c = c.getComponentType();
            }
            return c.getName().startsWith("e3stream.runtime.") && !api(c);
        }
        if (type instanceof java.lang.reflect.ParameterizedType p) {
            if (internal(p.getRawType())) {
                return true;
            }
            for (Type a : p.getActualTypeArguments()) {
                if (internal(a)) {
                    return true;
                }
            }
        }
        return false;
    }

    private static boolean visible(int modifiers) {
        return Modifier.isPublic(modifiers) || Modifier.isProtected(modifiers);
    }

    @Test
    void noApiTypeNamesAnInternalTypeInItsPublicSignatures() throws Exception {
        List<Class<?>> all = runtimeClasses();
        assertTrue(all.size() > 50, "read the compiled classes: " + all.size());
        TreeSet<String> leaks = new TreeSet<>();
        int apiTypes = 0;
        for (Class<?> c : all) {
            if (!api(c) || c.isSynthetic() || c.isAnonymousClass()) {
                continue;
            }
            apiTypes++;
            if (internal(c.getGenericSuperclass())) {
                leaks.add(c.getName() + " extends " + c.getGenericSuperclass());
            }
            for (Type i : c.getGenericInterfaces()) {
                if (internal(i)) {
                    leaks.add(c.getName() + " implements " + i);
                }
            }
            for (Field f : c.getDeclaredFields()) {
                if (visible(f.getModifiers()) && internal(f.getGenericType())) {
                    leaks.add(c.getName() + "." + f.getName());
                }
            }
            List<Executable> members = new ArrayList<>(List.of(c.getDeclaredMethods()));
            for (Constructor<?> k : c.getDeclaredConstructors()) {
                members.add(k);
            }
            for (Executable m : members) {
                if (!visible(m.getModifiers()) || m.isSynthetic()) {
                    continue;
                }
                List<Type> types = new ArrayList<>(List.of(m.getGenericParameterTypes()));
                if (m instanceof Method method) {
                    types.add(method.getGenericReturnType());
                }
                for (Type t : types) {
                    if (internal(t)) {
                        leaks.add(c.getName() + "#" + m.getName() + " names " + t.getTypeName());
                    }
                }
            }
        }
        assertTrue(apiTypes > 30, "API types found: " + apiTypes);
        assertEquals(new TreeSet<>(), leaks, "internal types in API signatures");
    }
}
