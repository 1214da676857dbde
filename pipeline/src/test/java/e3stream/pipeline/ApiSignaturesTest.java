package e3stream.pipeline;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.lang.reflect.Executable;
import java.lang.reflect.Method;
import java.lang.reflect.Modifier;
import java.lang.reflect.ParameterizedType;
import java.lang.reflect.Type;
import java.util.ArrayList;
import java.util.List;
import java.util.TreeSet;
import org.junit.jupiter.api.Test;

/** The job's API (the classes of this package) names no internal type in its public signatures. */
class ApiSignaturesTest {

    private static boolean internal(Type type) {
        if (type instanceof Class<?> c) {
            while (c.isArray()) {
                c = c.getComponentType();
            }
            return c.getName().startsWith("e3stream.pipeline.internal.")
                    || c.isAnnotationPresent(org.apache.flink.annotation.Internal.class)
                    || c.isAnnotationPresent(e3stream.runtime.Internal.class);
        }
        if (type instanceof ParameterizedType p) {
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

    @Test
    void theJobsApiNamesNoInternalType() {
        TreeSet<String> leaks = new TreeSet<>();
        for (Class<?> c : List.of(E3StreamJob.class, E3StreamOptions.class, KafkaOptions.class)) {
            List<Executable> members = new ArrayList<>(List.of(c.getDeclaredMethods()));
            members.addAll(List.of(c.getDeclaredConstructors()));
            for (Executable m : members) {
                if (!Modifier.isPublic(m.getModifiers()) || m.isSynthetic()) {
                    continue;
                }
                List<Type> types = new ArrayList<>(List.of(m.getGenericParameterTypes()));
                if (m instanceof Method method) {
                    types.add(method.getGenericReturnType());
                }
                for (Type t : types) {
                    if (internal(t)) {
                        leaks.add(c.getSimpleName() + "#" + m.getName() + " names " + t.getTypeName());
                    }
                }
            }
        }
        assertEquals(new TreeSet<>(), leaks);
    }
}
