package e3stream.runtime.cli;

import e3stream.runtime.model.BundleException;
import java.io.IOException;
import java.io.PrintStream;

/**
 * The entry every command-line tool of this package shares: runs the command on {@code System.out} and turns what it
 * throws into the tool's exit status, so that each {@code main} is one line.
 *
 * <ul>
 *   <li>bad command-line input ({@link CliArgs.UsageException}): the message and the usage text on standard error,
 *       exit status 2;
 *   <li>a bundle or data file that is missing or unreadable ({@link IllegalArgumentException},
 *       {@link BundleException}): bad configuration, the message, exit status 2;
 *   <li>any other failure: the message, exit status 1.
 * </ul>
 */
final class CommandMain {

    /** One tool's work: parses {@code args} and writes its report to {@code out}. */
    @FunctionalInterface
    interface Command {
        void run(String[] args, PrintStream out) throws IOException;
    }

    private CommandMain() {
    }

    /**
     * @param name  the tool's name in its messages ("calibrate", "evaluate")
     * @param usage the tool's usage text, printed after a usage error
     */
    static void run(String name, String usage, String[] args, Command command) {
        try {
            command.run(args, System.out);
        } catch (CliArgs.UsageException e) {
            System.err.println(name + ": " + e.getMessage());
            System.err.println(usage);
            System.exit(2);
        } catch (IllegalArgumentException | BundleException e) {
            System.err.println(name + ": " + e.getMessage());
            System.exit(2);
        } catch (RuntimeException | IOException e) {
            System.err.println(name + " failed: " + e.getMessage());
            System.exit(1);
        }
    }
}
