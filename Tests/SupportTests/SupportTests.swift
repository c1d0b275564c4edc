import Foundation
import Support
import XCTest

/// The shared utilities: generators reproduce their reference streams, the digest its test
/// vectors, canonical JSON its bytes.
final class SupportTests: XCTestCase {
    // MARK: Generator

    func testXoshiroMatchesTheReferenceImplementation() {
        // Blackman & Vigna's xoshiro256starstar.c from state {1, 2, 3, 4}.
        var g = Xoshiro256StarStar(state: (1, 2, 3, 4))
        XCTAssertEqual([g.next(), g.next(), g.next(), g.next()], [11520, 0, 1_509_978_240, 1_215_971_899_390_074_240])
    }

    func testSeedingUsesSplitMix64() {
        // State = the first four SplitMix64 outputs for seed 1234 (checked with a Python port).
        var g = Xoshiro256StarStar(seed: 1234)
        XCTAssertEqual([g.next(), g.next(), g.next()],
                       [840_842_556_444_225_107, 15_548_185_570_577_040_190, 12_744_864_379_734_484_625])
    }

    func testBoundedDrawsStayInRangeAndCoverIt() {
        var g = Xoshiro256StarStar(seed: 7)
        var seen = Set<Int>()
        for _ in 0..<2000 {
            let v = g.nextInt(below: 7)
            XCTAssert((0..<7).contains(v))
            seen.insert(v)
        }
        XCTAssertEqual(seen.count, 7)
    }

    func testSHA256KnownVectors() {
        XCTAssertEqual(SHA256.hexDigest(of: Data()), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        XCTAssertEqual(SHA256.hexDigest(of: Data("abc".utf8)), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        XCTAssertEqual(SHA256.hexDigest(of: Data("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq".utf8)),
                       "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1")
        XCTAssertEqual(SHA256.hexDigest(of: Data(repeating: 0x61, count: 1000)),
                       "41edece42d63e8d9bf515a9ba6932e1c20cbc9f5a5d134645adb5db1b9737ea3")
    }

    func testSplitMix64StreamAndDerivedSeedsAreStable() {
        // The reference SplitMix64 (Steele et al.) from seed 1234: the same numbers that seed xoshiro above.
        var g = SplitMix64(seed: 1234)
        XCTAssertEqual(g.next(), 0xBB0C_F61B_2F18_1CDB)
        XCTAssertEqual(SplitMix64.derive(0, "a"), SplitMix64.derive(0, "a"))
        XCTAssertNotEqual(SplitMix64.derive(0, "a"), SplitMix64.derive(0, "b"))
    }

    func testShufflesArePermutationsAndTheLegacyOneKeepsItsDraws() {
        var a = SplitMix64(seed: 3), b = SplitMix64(seed: 3)
        var unbiased = Array(0..<50), legacy = Array(0..<50)
        a.shuffle(&unbiased)
        b.moduloBiasedShuffle(&legacy)
        XCTAssertEqual(unbiased.sorted(), Array(0..<50))
        XCTAssertEqual(legacy.sorted(), Array(0..<50))
        // The legacy draw is `next() % (i + 1)`: its first swap puts element `next() % 50` last,
        // where no later swap touches it.
        var c = SplitMix64(seed: 3)
        XCTAssertEqual(legacy.last, Int(c.next() % 50))
    }

    func testCanonicalJSONSortsKeysKeepsSlashesAndWritesInfinities() throws {
        struct Value: Codable, Equatable { var b: Double; var a: String }
        let value = Value(b: -.infinity, a: "x/y")
        let line = try CanonicalJSON.lineData(value)
        XCTAssertEqual(String(decoding: line, as: UTF8.self), "{\"a\":\"x/y\",\"b\":\"-inf\"}\n")
        XCTAssertEqual(try CanonicalJSON.decoder().decode(Value.self, from: line), value)
    }

    func testMonotonicClockNeverGoesBack() {
        let a = MonotonicClock.seconds(), b = MonotonicClock.seconds()
        XCTAssertGreaterThanOrEqual(b, a)
    }
}
