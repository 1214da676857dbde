/**
 * Model control while the job runs ({@code model.control}): the {@code control} topic's commands applied to the
 * checkpointed {@link e3stream.runtime.session.ModelRoster} by one subtask, answered on {@code control-results}, and
 * broadcast to the model selectors that stamp each image with the models that score it.
 */
package e3stream.pipeline.internal.control;
