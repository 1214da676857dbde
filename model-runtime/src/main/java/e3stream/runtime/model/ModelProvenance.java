package e3stream.runtime.model;

import java.io.Serializable;

/**
 * Which model made a result: the bundle's name and version, the sha256 of its model.onnx and the commit of the
 * training code that produced it. Every output record carries it. Immutable.
 *
 * @param trainingCommit model.json {@code training.commit}, or {@code null} when the bundle does not record it
 */
public record ModelProvenance(String name, String version, String sha256, String trainingCommit)
        implements Serializable {

    public static ModelProvenance of(BundleManifest manifest) {
        return new ModelProvenance(manifest.name(), manifest.version(), manifest.sha256(), manifest.trainingCommit());
    }

    @Override
    public String toString() {
        return name + " " + version + " (sha256 " + sha256.substring(0, Math.min(12, sha256.length())) + ")";
    }
}
