import Benchmarks
import XCTest

/// Expected values were produced by CPython 3.11's `random` module (see each comment).
final class PythonRandomTests: XCTestCase {
    func testRawOutputsMatchCPythonForSeveralSeeds() {
        // [random.Random(1234).getrandbits(32) for _ in range(5)]
        var generator = PythonRandom(seed: 1234)
        XCTAssertEqual((0..<5).map { _ in generator.nextUInt32() }, [4150886329, 3342196574, 1892932127, 501869158, 32175636])
        // Random(0), Random(2**40 + 7) (two key words), Random(-5) (CPython seeds with |seed|)
        generator = PythonRandom(seed: 0)
        XCTAssertEqual((0..<3).map { _ in generator.nextUInt32() }, [3626764237, 1654615998, 3255389356])
        generator = PythonRandom(seed: (1 << 40) + 7)
        XCTAssertEqual((0..<2).map { _ in generator.nextUInt32() }, [2635837658, 3209733218])
        generator = PythonRandom(seed: -5)
        XCTAssertEqual((0..<2).map { _ in generator.nextUInt32() }, [2675342405, 1097127993])
    }

    func testGetrandbitsUsesTopBitsAndLittleEndianWords() {
        // r = Random(1234); r.getrandbits(7), r.getrandbits(33), r.getrandbits(64)
        var generator = PythonRandom(seed: 1234)
        XCTAssertEqual(generator.randomBits(7), 123)
        XCTAssertEqual(generator.randomBits(33), 3342196574)
        XCTAssertEqual(generator.randomBits(64), 138193304849869414)
    }

    func testRandomDouble() {
        // r = Random(42); r.random(), r.random()
        var generator = PythonRandom(seed: 42)
        XCTAssertEqual(generator.randomDouble(), 0.6394267984578837)
        XCTAssertEqual(generator.randomDouble(), 0.025010755222666936)
    }

    func testRandbelowRejectionSampling() {
        // r = Random(1234); [r.randrange(10) for _ in range(10)], [r.randrange(7473) for _ in range(5)]
        var generator = PythonRandom(seed: 1234)
        XCTAssertEqual((0..<10).map { _ in generator.randomBelow(10) }, [7, 1, 0, 1, 9, 0, 1, 1, 5, 3])
        XCTAssertEqual((0..<5).map { _ in generator.randomBelow(7473) }, [142, 252, 6461, 129, 2835])
    }

    func testSampleSetAlgorithmAsUsedForGSM8KShots() {
        // r = Random(1234); [r.sample(range(7473), 5) for _ in range(3)]
        var generator = PythonRandom(seed: 1234)
        XCTAssertEqual(generator.sampleIndices(populationCount: 7473, count: 5), [6374, 3610, 957, 61, 742])
        XCTAssertEqual(generator.sampleIndices(populationCount: 7473, count: 5), [7462, 6610, 4769, 286, 5501])
        XCTAssertEqual(generator.sampleIndices(populationCount: 7473, count: 5), [5677, 687, 806, 6279, 2905])
    }

    func testSamplePoolAlgorithmForSmallPopulations() {
        // r = Random(1234); r.sample(range(10), 3), r.sample(range(30), 8), r.sample(range(100), 8)
        // (30 <= setsize 85 uses the pool algorithm, 100 > 85 the set algorithm)
        var generator = PythonRandom(seed: 1234)
        XCTAssertEqual(generator.sampleIndices(populationCount: 10, count: 3), [7, 1, 0])
        XCTAssertEqual(generator.sampleIndices(populationCount: 30, count: 8), [2, 25, 18, 1, 21, 22, 29, 3])
        XCTAssertEqual(generator.sampleIndices(populationCount: 100, count: 8), [98, 45, 30, 2, 3, 44, 82, 79])
        var other = PythonRandom(seed: 1)
        XCTAssertEqual(other.sampleIndices(populationCount: 5, count: 0), [])
    }

    func testShuffle() {
        // r = Random(0); five shuffles of [0, 1, 2, 3]  (GPQA's answer shuffle)
        var generator = PythonRandom(seed: 0)
        var results: [[Int]] = []
        for _ in 0..<5 {
            var items = [0, 1, 2, 3]
            generator.shuffle(&items)
            results.append(items)
        }
        XCTAssertEqual(results, [[2, 0, 1, 3], [0, 1, 3, 2], [0, 2, 1, 3], [1, 0, 3, 2], [2, 0, 3, 1]])
        // r = Random(1234); x = list(range(10)); r.shuffle(x)
        generator = PythonRandom(seed: 1234)
        var ten = Array(0..<10)
        generator.shuffle(&ten)
        XCTAssertEqual(ten, [2, 8, 3, 5, 6, 4, 9, 0, 1, 7])
    }
}
