package e3stream.runtime.report;

import e3stream.runtime.Internal;

import java.awt.BasicStroke;
import java.awt.Color;
import java.awt.Font;
import java.awt.FontMetrics;
import java.awt.Graphics2D;
import java.awt.RenderingHints;
import java.awt.geom.Path2D;
import java.awt.image.BufferedImage;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import javax.imageio.ImageIO;

/**
 * A small Java2D chart (runs headless): axes with ticks and labels, a title, a legend, line series and bar series,
 * rendered to PNG. Not thread-safe; build, render, discard.
 *
 * <pre>{@code
 * byte[] png = new Chart("Risk-coverage", "share reviewed", "accuracy of accepted")
 *         .xRange(0, 0.5).yRange(0.8, 1).line("e3", xs, ys, Chart.PALETTE[0]).png();
 * }</pre>
 */
@Internal
public final class Chart {
    public static final Color[] PALETTE = {new Color(0x1f77b4), new Color(0xd62728), new Color(0x2ca02c),
        new Color(0xff7f0e), new Color(0x9467bd), new Color(0x8c564b), new Color(0xe377c2)};
    private static final int WIDTH = 640;
    private static final int HEIGHT = 420;
    private static final int LEFT = 70;
    private static final int RIGHT = 20;
    private static final int TOP = 40;
    private static final int BOTTOM = 55;

    private final String title;
    private final String xLabel;
    private final String yLabel;
    private double x0 = 0;
    private double x1 = 1;
    private double y0 = 0;
    private double y1 = 1;
    private final List<Runnable> drawLater = new ArrayList<>();
    private final List<Object[]> legend = new ArrayList<>();
    private Graphics2D g;
    private Corner legendCorner = Corner.TOP_RIGHT;

    /** Where the legend goes (choose the corner the data leave empty). */
    public enum Corner { TOP_LEFT, TOP_RIGHT, BOTTOM_RIGHT }

    public Chart(String title, String xLabel, String yLabel) {
        this.title = title;
        this.xLabel = xLabel;
        this.yLabel = yLabel;
    }

    public Chart xRange(double from, double to) {
        x0 = from;
        x1 = to;
        return this;
    }

    public Chart yRange(double from, double to) {
        y0 = from;
        y1 = to;
        return this;
    }

    /** Puts the legend in another corner than the default top-right. */
    public Chart legendAt(Corner corner) {
        legendCorner = corner;
        return this;
    }

    /** A polyline through the points; NaN points break the line. */
    public Chart line(String name, double[] xs, double[] ys, Color color) {
        return line(name, xs, ys, color, false);
    }

    /** A polyline, dashed when {@code dashed}. */
    public Chart line(String name, double[] xs, double[] ys, Color color, boolean dashed) {
        drawLater.add(() -> {
            g.setColor(color);
            g.setStroke(dashed ? new BasicStroke(1.5f, BasicStroke.CAP_BUTT, BasicStroke.JOIN_MITER, 10,
                    new float[] {6, 4}, 0) : new BasicStroke(2.2f));
            Path2D path = new Path2D.Double();
            boolean pen = false;
            for (int i = 0; i < xs.length; i++) {
                if (Double.isNaN(ys[i]) || Double.isNaN(xs[i])) {
                    pen = false;
                    continue;
                }
                if (pen) {
                    path.lineTo(px(xs[i]), py(ys[i]));
                } else {
                    path.moveTo(px(xs[i]), py(ys[i]));
                    pen = true;
                }
            }
            g.draw(path);
        });
        if (name != null) {
            legend.add(new Object[] {name, color, dashed});
        }
        return this;
    }

    /**
     * Bars over equal-width bins spanning the x range; {@code offset} and {@code share} place several series side by
     * side inside each bin (e.g. offset 1 of 3, share 1/3). NaN heights draw nothing.
     */
    public Chart bars(String name, double[] heights, Color color, int offset, int of) {
        drawLater.add(() -> {
            double binWidth = (x1 - x0) / heights.length;
            for (int b = 0; b < heights.length; b++) {
                if (Double.isNaN(heights[b])) {
                    continue;
                }
                double left = x0 + b * binWidth + binWidth * offset / of;
                double right = left + binWidth / of;
                double top = Math.min(y1, heights[b]);
                int xa = (int) Math.round(px(left));
                int xb = (int) Math.round(px(right));
                int ya = (int) Math.round(py(top));
                int yb = (int) Math.round(py(Math.max(y0, 0)));
                g.setColor(new Color(color.getRed(), color.getGreen(), color.getBlue(), 190));
                g.fillRect(xa, ya, Math.max(1, xb - xa - 1), Math.max(0, yb - ya));
            }
        });
        if (name != null) {
            legend.add(new Object[] {name, color, false});
        }
        return this;
    }

    private double px(double x) {
        return LEFT + (x - x0) / (x1 - x0) * (WIDTH - LEFT - RIGHT);
    }

    private double py(double y) {
        return HEIGHT - BOTTOM - (y - y0) / (y1 - y0) * (HEIGHT - TOP - BOTTOM);
    }

    /** Renders the chart to PNG bytes. */
    public byte[] png() {
        BufferedImage image = new BufferedImage(WIDTH, HEIGHT, BufferedImage.TYPE_INT_RGB);
        g = image.createGraphics();
        try {
            g.setRenderingHint(RenderingHints.KEY_ANTIALIASING, RenderingHints.VALUE_ANTIALIAS_ON);
            g.setRenderingHint(RenderingHints.KEY_TEXT_ANTIALIASING, RenderingHints.VALUE_TEXT_ANTIALIAS_ON);
            g.setColor(Color.WHITE);
            g.fillRect(0, 0, WIDTH, HEIGHT);
            drawAxes();
            java.awt.Shape clip = g.getClip();
            g.clipRect(LEFT, TOP, WIDTH - LEFT - RIGHT + 1, HEIGHT - TOP - BOTTOM + 1);
            drawLater.forEach(Runnable::run);
            g.setClip(clip);
            drawLegend();
        } finally {
            g.dispose();
        }
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        try {
            ImageIO.write(image, "png", out);
        } catch (IOException e) {
            throw new UncheckedIOException("PNG encoding failed", e);
        }
        return out.toByteArray();
    }

    private void drawAxes() {
        g.setFont(new Font(Font.SANS_SERIF, Font.BOLD, 15));
        g.setColor(Color.BLACK);
        FontMetrics fm = g.getFontMetrics();
        g.drawString(title, (WIDTH - fm.stringWidth(title)) / 2, 24);
        g.setFont(new Font(Font.SANS_SERIF, Font.PLAIN, 12));
        fm = g.getFontMetrics();
        g.setStroke(new BasicStroke(1f));
        for (int i = 0; i <= 5; i++) {
            double x = x0 + (x1 - x0) * i / 5;
            double y = y0 + (y1 - y0) * i / 5;
            int gx = (int) px(x);
            int gy = (int) py(y);
            g.setColor(new Color(0xe6e6e6));
            g.drawLine(gx, TOP, gx, HEIGHT - BOTTOM);
            g.drawLine(LEFT, gy, WIDTH - RIGHT, gy);
            g.setColor(Color.DARK_GRAY);
            String xs = tick(x, x1 - x0);
            String ys = tick(y, y1 - y0);
            // Keep the outermost labels inside the image.
            int xsLeft = Math.max(2, Math.min(WIDTH - 2 - fm.stringWidth(xs), gx - fm.stringWidth(xs) / 2));
            g.drawString(xs, xsLeft, HEIGHT - BOTTOM + 16);
            g.drawString(ys, LEFT - 6 - fm.stringWidth(ys), gy + 4);
        }
        g.setColor(Color.BLACK);
        g.drawRect(LEFT, TOP, WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM);
        g.drawString(xLabel, LEFT + (WIDTH - LEFT - RIGHT - fm.stringWidth(xLabel)) / 2, HEIGHT - 14);
        Graphics2D rotated = (Graphics2D) g.create();
        rotated.rotate(-Math.PI / 2);
        rotated.drawString(yLabel, -(TOP + (HEIGHT - TOP - BOTTOM + fm.stringWidth(yLabel)) / 2), 18);
        rotated.dispose();
    }

    /** Enough decimals that the five tick steps of {@code span} print as different numbers. */
    static String tick(double v, double span) {
        double step = span / 5;
        int decimals = 0;
        if (step < 1) {
            decimals = (int) Math.ceil(-Math.log10(step) - 1e-9);
            double scaled = step * Math.pow(10, decimals);
            if (Math.abs(scaled - Math.round(scaled)) > 1e-6) {
                decimals++;
            }
        }
        return decimals > 4 ? String.format(Locale.ROOT, "%.1e", v)
                : String.format(Locale.ROOT, "%." + decimals + "f", v);
    }

    private void drawLegend() {
        if (legend.isEmpty()) {
            return;
        }
        g.setFont(new Font(Font.SANS_SERIF, Font.PLAIN, 12));
        FontMetrics fm = g.getFontMetrics();
        int w = 0;
        for (Object[] l : legend) {
            w = Math.max(w, fm.stringWidth((String) l[0]));
        }
        int boxW = w + 40;
        int boxH = legend.size() * 18 + 8;
        int x = legendCorner == Corner.TOP_LEFT ? LEFT + 8 : WIDTH - RIGHT - boxW - 8;
        int y = legendCorner == Corner.BOTTOM_RIGHT ? HEIGHT - BOTTOM - boxH - 8 : TOP + 8;
        g.setColor(new Color(255, 255, 255, 220));
        g.fillRect(x, y, boxW, boxH);
        g.setColor(Color.GRAY);
        g.drawRect(x, y, boxW, boxH);
        for (int i = 0; i < legend.size(); i++) {
            Object[] l = legend.get(i);
            int ly = y + 16 + i * 18;
            g.setColor((Color) l[1]);
            g.setStroke((Boolean) l[2] ? new BasicStroke(1.5f, BasicStroke.CAP_BUTT, BasicStroke.JOIN_MITER, 10,
                    new float[] {6, 4}, 0) : new BasicStroke(3f));
            g.drawLine(x + 6, ly - 4, x + 26, ly - 4);
            g.setColor(Color.BLACK);
            g.drawString((String) l[0], x + 32, ly);
        }
    }
}
