package e3stream.runtime.model;

/**
 * Running the model failed (ONNX Runtime error, bad input size, session closed, execution provider missing). The
 * message carries the model's name and version and the input shape involved.
 */
public class ModelException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    public ModelException(String message) {
        super(message);
    }

    public ModelException(String message, Throwable cause) {
        super(message, cause);
    }
}
