/**
 * Model bundles and the ONNX Runtime session that runs them.
 *
 * <p>{@link e3stream.runtime.model.ModelBundle} loads and verifies a bundle directory (model.onnx, model.json,
 * golden.json; format in models/README.md), {@link e3stream.runtime.model.BundleManifest} is the immutable view of
 * model.json, {@link e3stream.runtime.model.E3Model} owns one ONNX Runtime session validated against the manifest, and
 * {@link e3stream.runtime.model.FlopsFormula} mirrors the training code's FLOPs count.
 */
package e3stream.runtime.model;
