package e3stream.runtime.data;

import e3stream.runtime.Internal;

import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;

/**
 * Fashion-MNIST splits exactly as model-runtime/training/e3/data.py makes them: {@code test} is the 10,000 t10k
 * images; {@code validation} is the last 5,000 of {@code np.random.RandomState(0).permutation(60000)} over the
 * training images, {@code train} the rest. Reads the four standard idx .gz files from one folder.
 */
@Internal
public final class FashionMnist {
    /** Where Debian's {@code dataset-fashion-mnist} installs the files. */
    public static final Path DEBIAN_DIR = Path.of("/usr/share/datasets/fashion-mnist");
    public static final int VALIDATION_SIZE = 5000;
    public static final long SPLIT_SEED = 0;
    public static final List<String> CLASSES = List.of("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
            "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot");

    private FashionMnist() {
    }

    public static ImageSet test(Path dir) {
        return IdxReader.read("fashion-mnist test", dir.resolve("t10k-images-idx3-ubyte.gz"),
                dir.resolve("t10k-labels-idx1-ubyte.gz"));
    }

    public static ImageSet trainAll(Path dir) {
        return IdxReader.read("fashion-mnist train+validation", dir.resolve("train-images-idx3-ubyte.gz"),
                dir.resolve("train-labels-idx1-ubyte.gz"));
    }

    /** The validation split (5,000 images the models were not trained on; used for calibration). */
    public static ImageSet validation(Path dir) {
        ImageSet all = trainAll(dir);
        return all.select("fashion-mnist validation", validationIndices(all.count()));
    }

    /** Indices of the validation split among {@code trainingCount} training images, in numpy's order. */
    public static int[] validationIndices(int trainingCount) {
        int[] order = new NumpyRandomState(SPLIT_SEED).permutation(trainingCount);
        return Arrays.copyOfRange(order, trainingCount - VALIDATION_SIZE, trainingCount);
    }
}
