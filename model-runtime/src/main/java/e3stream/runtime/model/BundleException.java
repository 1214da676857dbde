package e3stream.runtime.model;

/**
 * A model bundle cannot be used: a file is missing or unreadable, model.json is invalid, the model.onnx hash does not
 * match, or the ONNX graph disagrees with model.json. The message names the bundle, what is wrong and what to do.
 */
public class BundleException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    public BundleException(String message) {
        super(message);
    }

    public BundleException(String message, Throwable cause) {
        super(message, cause);
    }
}
