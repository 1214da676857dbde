/**
 * The evaluation report: {@link e3stream.runtime.report.Chart} draws PNG line and bar charts with Java2D (headless),
 * {@link e3stream.runtime.report.HtmlReport} assembles them, base64-embedded, with the models' comparison table into
 * one self-contained HTML file.
 */
package e3stream.runtime.report;
