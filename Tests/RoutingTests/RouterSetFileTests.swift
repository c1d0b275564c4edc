import Foundation
import Routing
import Support
import XCTest

/// The router file: exact round trips, integrity checks and the model check.
final class RouterSetFileTests: XCTestCase {
    var directory: URL!

    override func setUpWithError() throws {
        directory = FileManager.default.temporaryDirectory
            .appendingPathComponent("routing-tests-\(UUID().uuidString)", isDirectory: true)
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(at: directory)
    }

    func path(_ name: String) -> String { directory.appendingPathComponent(name).path }

    func makeSet() throws -> RouterSet {
        let hp = RouterHyperParameters(layerCount: 4, width: 24, bottleneck: 8, windows: 8)
        var set = try RouterSet(hyperParameters: hp, seed: 3)
        set.provenance = RouterProvenance(
            modelName: "smollm2-135m-instruct", modelSHA256: String(repeating: "ab", count: 32),
            trainingDataSHA256: String(repeating: "0f", count: 32),
            commandLine: "bench train-router --records mcts.jsonl --seed 18446744073709551615",
            commit: "deadbeef", seed: UInt64.max,
            metrics: ["heldout.macro_f1": 0.1, "third": 1.0 / 3.0, "tiny": 1e-300, "neg": -2.5],
            settings: ["training.epochs": "25", "unicode": "π ≠ 3 / \"quoted\""])
        set.bias = SIMD3(0.25, -1.0 / 3.0, 0)
        return set
    }

    func bits(_ set: RouterSet) -> [[UInt32]] { set.routers.map { $0.parameters.map(\.bitPattern) } }

    func testRoundTripIsBitwiseExact() throws {
        var set = try makeSet()
        // Include values that a text format would mangle.
        let hp = set.hyperParameters
        var routers = set.routers
        var p = routers[1].parameters
        p[0] = -0.0
        p[1] = .leastNonzeroMagnitude
        p[2] = .greatestFiniteMagnitude
        p[3] = 1.0 / 3.0
        routers[1] = try Router(width: hp.width, bottleneck: hp.bottleneck, parameters: p)
        set = try RouterSet(hyperParameters: hp, routers: routers, provenance: set.provenance, bias: set.bias)

        let file = path("model.routers")
        try set.write(to: file)
        let loaded = try RouterSet.load(from: file)
        XCTAssertEqual(bits(loaded), bits(set))
        XCTAssertEqual(loaded.hyperParameters, set.hyperParameters)
        XCTAssertEqual(loaded.provenance, set.provenance)
        XCTAssertEqual(loaded.provenance.seed, UInt64.max)
        XCTAssertEqual(loaded.bias.x.bitPattern, set.bias.x.bitPattern)
        XCTAssertEqual(loaded.bias.y.bitPattern, set.bias.y.bitPattern)
        XCTAssertEqual(loaded, set)
        XCTAssertEqual(loaded.source, file)
        // Writing again gives the same bytes.
        let again = path("again.routers")
        try loaded.write(to: again)
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: file)), try Data(contentsOf: URL(fileURLWithPath: again)))
    }

    func testLayoutOfTheFile() throws {
        let set = try makeSet()
        let data = try RouterSetFile.encode(set)
        XCTAssertEqual(String(decoding: data.prefix(8), as: UTF8.self), "DRLLMRTR")
        let bytes = [UInt8](data)
        XCTAssertEqual(bytes[8], 1) // version, little-endian
        let headerLength = Int(bytes[12]) | Int(bytes[13]) << 8 | Int(bytes[14]) << 16 | Int(bytes[15]) << 24
        XCTAssertEqual(headerLength % 16, 0)
        XCTAssertEqual(bytes.count, 16 + headerLength + 4 * set.parameterCount)
        let header = try JSONSerialization.jsonObject(with: Data(bytes[16..<(16 + headerLength)])) as? [String: Any]
        XCTAssertEqual(header?["format"] as? String, "drllm-routers")
        XCTAssertEqual(header?["layerCount"] as? Int, 4)
        XCTAssertEqual(header?["width"] as? Int, 24)
        // The first weight is router 0's w1[0][0], float32 little-endian.
        let w = set.routers[0].parameters[0].bitPattern
        let o = 16 + headerLength
        XCTAssertEqual(UInt32(bytes[o]) | UInt32(bytes[o + 1]) << 8 | UInt32(bytes[o + 2]) << 16 | UInt32(bytes[o + 3]) << 24, w)
    }

    func testTruncatedFileIsRefused() throws {
        let file = path("cut.routers")
        let data = try RouterSetFile.encode(try makeSet())
        try data.prefix(data.count - 4).write(to: URL(fileURLWithPath: file))
        XCTAssertThrowsError(try RouterSet.load(from: file)) { error in
            XCTAssertEqual(error as? RoutingError, .sizeMismatch(path: file, expectedBytes: data.count, actualBytes: data.count - 4))
            XCTAssertTrue((error as? RoutingError)?.errorDescription?.contains(file) ?? false)
        }
        try data.prefix(10).write(to: URL(fileURLWithPath: file))
        XCTAssertThrowsError(try RouterSet.load(from: file)) { error in
            XCTAssertEqual(error as? RoutingError, .fileTooShort(path: file, bytes: 10, minimum: 16))
        }
        // Trailing bytes are refused too.
        try (data + Data([0])).write(to: URL(fileURLWithPath: file))
        XCTAssertThrowsError(try RouterSet.load(from: file)) { error in
            XCTAssertEqual(error as? RoutingError, .sizeMismatch(path: file, expectedBytes: data.count, actualBytes: data.count + 1))
        }
    }

    func testWrongMagicIsRefused() throws {
        let file = path("gguf.routers")
        var bytes = [UInt8](try RouterSetFile.encode(try makeSet()))
        bytes.replaceSubrange(0..<8, with: Array("GGUF\u{3}\0\0\0".utf8))
        try Data(bytes).write(to: URL(fileURLWithPath: file))
        XCTAssertThrowsError(try RouterSet.load(from: file)) { error in
            XCTAssertEqual(error as? RoutingError, .badMagic(path: file, found: "GGUF????"))
        }
    }

    func testNewerVersionIsRefused() throws {
        var bytes = [UInt8](try RouterSetFile.encode(try makeSet()))
        bytes[8] = 2
        XCTAssertThrowsError(try RouterSetFile.decode(Data(bytes), source: "v2.routers")) { error in
            XCTAssertEqual(error as? RoutingError, .unsupportedVersion(path: "v2.routers", found: 2, supported: 1))
        }
    }

    func testCorruptedWeightsAreRefused() throws {
        var bytes = [UInt8](try RouterSetFile.encode(try makeSet()))
        bytes[bytes.count - 7] ^= 0x10
        XCTAssertThrowsError(try RouterSetFile.decode(Data(bytes), source: "flip.routers")) { error in
            guard case let .checksumMismatch(path, _, _)? = error as? RoutingError else {
                return XCTFail("expected a checksum error, got \(error)")
            }
            XCTAssertEqual(path, "flip.routers")
        }
    }

    func testMalformedHeaderIsRefused() throws {
        var bytes = [UInt8](try RouterSetFile.encode(try makeSet()))
        bytes[16] = UInt8(ascii: "[")
        XCTAssertThrowsError(try RouterSetFile.decode(Data(bytes), source: "bad.routers")) { error in
            guard case let .malformedHeader(path, _)? = error as? RoutingError else {
                return XCTFail("expected a malformed-header error, got \(error)")
            }
            XCTAssertEqual(path, "bad.routers")
        }
    }

    func testMissingFile() {
        XCTAssertThrowsError(try RouterSet.load(from: path("absent.routers"))) { error in
            guard case let .unreadableFile(p, _)? = error as? RoutingError else { return XCTFail("\(error)") }
            XCTAssertEqual(p, self.path("absent.routers"))
        }
    }

    func testValidateAgainstTheModel() throws {
        let file = path("four.routers")
        try makeSet().write(to: file)
        let set = try RouterSet.load(from: file)
        XCTAssertNoThrow(try set.validate(layerCount: 4, width: 24))
        XCTAssertThrowsError(try set.validate(layerCount: 30, width: 24)) { error in
            XCTAssertEqual(error as? RoutingError, .layerCountMismatch(source: file, routers: 4, model: 30))
            let message = (error as? LocalizedError)?.errorDescription ?? ""
            XCTAssertTrue(message.contains(file) && message.contains("4") && message.contains("30"), message)
        }
        XCTAssertThrowsError(try set.validate(layerCount: 4, width: 576)) { error in
            XCTAssertEqual(error as? RoutingError, .widthMismatch(source: file, routers: 24, model: 576))
        }
    }

    func testRouterSetRejectsInconsistentRouters() throws {
        let hp = RouterHyperParameters(layerCount: 2, width: 4, bottleneck: 2)
        let r = try Router(width: 4, bottleneck: 2, parameters: [Float](repeating: 0, count: Router.parameterCount(width: 4, bottleneck: 2)))
        XCTAssertThrowsError(try RouterSet(hyperParameters: hp, routers: [r], provenance: RouterProvenance()))
        XCTAssertThrowsError(try RouterSet(hyperParameters: RouterHyperParameters(layerCount: 0, width: 4), seed: 1)) { error in
            guard case .invalidHyperParameters? = error as? RoutingError else { return XCTFail("\(error)") }
        }
    }
}
