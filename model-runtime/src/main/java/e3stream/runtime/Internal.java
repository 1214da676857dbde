package e3stream.runtime;

import java.lang.annotation.Documented;
import java.lang.annotation.ElementType;
import java.lang.annotation.Retention;
import java.lang.annotation.RetentionPolicy;
import java.lang.annotation.Target;

/**
 * Marks a public type that is not API: it is public for the other modules of this repository (the Flink job, the
 * command-line tools, the tests) and may change in any commit. Every other public type of model-runtime is API, and
 * no API type names an internal one in a public or protected signature.
 */
@Documented
@Retention(RetentionPolicy.RUNTIME)
@Target(ElementType.TYPE)
public @interface Internal {
}
