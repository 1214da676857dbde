package e3stream.runtime.model;

import java.io.Serializable;
import java.nio.file.Path;

/**
 * What a job knows of its model bundle, read once when the job is built and shipped to its operators: the bundle
 * directory and its model.json as it was then. Operators rebuild the {@link BundleManifest} from the text instead of
 * reading files, and the inference session verifies that the model.onnx it loads still has the sha256 recorded here,
 * so every operator of a job works with the same model. Small, immutable and serializable.
 *
 * <pre>{@code
 * BundleDescription bundle = BundleDescription.of(ModelBundle.load(Path.of("models/e3")));  // at job build
 * InputSpec input = bundle.manifest().input();                                             // in an operator
 * }</pre>
 */
public final class BundleDescription implements Serializable {
    private static final long serialVersionUID = 1L;

    private final String directory;
    private final String manifestJson;
    private final String bundleSha256;
    private transient BundleManifest manifest;

    private BundleDescription(String directory, String manifestJson, String bundleSha256, BundleManifest manifest) {
        this.directory = directory;
        this.manifestJson = manifestJson;
        this.bundleSha256 = bundleSha256;
        this.manifest = manifest;
    }

    /** Describes a verified bundle. */
    public static BundleDescription of(ModelBundle bundle) {
        BundleManifest manifest = bundle.manifest();
        return new BundleDescription(bundle.directory().toString(), manifest.toJson().toString(),
                bundle.bundleSha256(), manifest);
    }

    /** Loads and verifies the bundle at {@code directory} (see {@link ModelBundle#load}) and describes it. */
    public static BundleDescription load(Path directory) {
        return of(ModelBundle.load(directory));
    }

    /** The bundle directory, absolute, as seen where the job was built. */
    public Path directory() {
        return Path.of(directory);
    }

    /** model.json as it was when the job was built (parsed once per JVM that uses it). */
    public synchronized BundleManifest manifest() {
        if (manifest == null) {
            manifest = BundleManifest.fromJson(parse(manifestJson), "model.json of " + directory);
        }
        return manifest;
    }

    /** The digest of model.json and model.onnx together when described ({@link ModelBundle#bundleSha256()}). */
    public String bundleSha256() {
        return bundleSha256;
    }

    public ModelProvenance provenance() {
        return ModelProvenance.of(manifest());
    }

    /**
     * Loads the bundle from {@link #directory()} where this runs (a TaskManager), and refuses it unless its model
     * is the one this description was made from.
     *
     * @throws BundleException naming both sha256 values when the model file changed since the job was built
     */
    public ModelBundle loadVerified() {
        ModelBundle bundle = ModelBundle.load(directory());
        String expected = manifest().sha256();
        if (!bundle.manifest().sha256().equals(expected)) {
            throw new BundleException("model bundle " + directory + " now holds " + bundle.manifest().name() + " "
                    + bundle.manifest().version() + " (sha256 " + bundle.manifest().sha256() + ") but the job was built "
                    + "with sha256 " + expected + "; every TaskManager must see the same bundle as the job's client: "
                    + "mount the same files, or resubmit the job");
        }
        return bundle;
    }

    private static com.fasterxml.jackson.databind.JsonNode parse(String json) {
        try {
            return BundleManifest.MAPPER.readTree(json);
        } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
            throw new BundleException("model.json description is not valid JSON: " + e.getOriginalMessage(), e);
        }
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof BundleDescription d && d.directory.equals(directory) && d.manifestJson.equals(manifestJson);
    }

    @Override
    public int hashCode() {
        return directory.hashCode() * 31 + manifestJson.hashCode();
    }

    @Override
    public String toString() {
        return "BundleDescription[" + manifest().name() + " " + manifest().version() + " at " + directory + "]";
    }
}
