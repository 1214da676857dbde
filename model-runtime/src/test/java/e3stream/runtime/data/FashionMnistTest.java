package e3stream.runtime.data;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import e3stream.runtime.testutils.RepoFiles;
import java.io.IOException;
import java.nio.file.Files;
import org.junit.jupiter.api.Test;

class FashionMnistTest {
    @Test
    void javaReproducesNumpysValidationSplitOfTheTrainingCode() throws IOException {
        // data/fashion-mnist-validation-indices.txt was written by numpy: RandomState(0).permutation(60000)[-5000:].
        int[] numpy = Files.readAllLines(RepoFiles.data("fashion-mnist-validation-indices.txt")).stream()
                .filter(l -> !l.isBlank()).mapToInt(l -> Integer.parseInt(l.trim())).toArray();
        assertEquals(5000, numpy.length);
        assertArrayEquals(numpy, FashionMnist.validationIndices(60_000));
    }

    @Test
    void mt19937MatchesTheReferenceSequenceForSeed5489() {
        // The MT19937 reference output (Matsumoto & Nishimura's mt19937ar with init_genrand(5489)).
        NumpyRandomState r = new NumpyRandomState(5489);
        assertEquals(3499211612L, r.nextUint32());
        assertEquals(581869302L, r.nextUint32());
        assertEquals(3890346734L, r.nextUint32());
    }

    @Test
    void validationSplitHoldsTheListedTrainingImages() {
        ImageSet all = FashionMnist.trainAll(FashionMnist.DEBIAN_DIR);
        ImageSet validation = FashionMnist.validation(FashionMnist.DEBIAN_DIR);
        int[] indices = FashionMnist.validationIndices(60_000);
        assertEquals(5000, validation.count());
        for (int i = 0; i < 5000; i += 499) {
            assertArrayEquals(all.image(indices[i]), validation.image(i));
            assertEquals(all.label(indices[i]), validation.label(i));
        }
    }
}
