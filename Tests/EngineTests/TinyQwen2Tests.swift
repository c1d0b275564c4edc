import Engine
import Foundation
import XCTest

/// A tiny random Qwen2-architecture GGUF with K-quants (Fixtures/tiny-qwen2, written by
/// scripts/make_tiny_qwen2.py) against a float64 numpy forward over the same gguf-dequantised
/// weights. It covers what the SmolLM2 (llama, Q4_1) model does not: the qwen2 architecture (NEOX
/// RoPE, Q/K/V biases, GQA 4/2, a separate output head, rope base 1e6, eps 1e-6), Q4_K/Q5_K/Q6_K,
/// Q4_0/Q4_1/Q5_0/Q5_1/Q8_0/BF16/F16 weights, and a byte-level tokenizer with an empty merges array.
///
/// Tokenizer of the fixture: token id b (0...255) is the GPT-2 byte-level character of byte b, 256
/// is `<|endoftext|>` (control, BOS and EOS); no merges, so ASCII text encodes to its byte values.
final class TinyQwen2Tests: XCTestCase {
    /// f32 activations vs f64 arithmetic, per pair (sum of token log-probs).
    let tolerance = 1e-3

    static let fixtureDir = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("Fixtures/tiny-qwen2")

    struct Pair {
        let context: String, continuation: String
        let contextIds: [Int32], continuationIds: [Int32]
        let logprob: Double, tokenLogprobs: [Double], isGreedy: Bool, argmaxAfterContext: Int
    }

    /// The reference pairs: `pairs` (full path) and one set per fixed layer path.
    struct Reference {
        let full: [Pair]
        let paths: [(path: [Int], pairs: [Pair])]
    }

    nonisolated(unsafe) private static var cachedModel: TransformerModel?
    nonisolated(unsafe) private static var cachedReference: Reference?
    private static let lock = NSLock()

    static func parsePairs(_ list: [[String: Any]]) -> [Pair] {
        list.map { p in
            Pair(context: p["context"] as! String, continuation: p["continuation"] as! String,
                 contextIds: (p["context_ids"] as! [Int]).map(Int32.init),
                 continuationIds: (p["continuation_ids"] as! [Int]).map(Int32.init),
                 logprob: p["logprob"] as! Double, tokenLogprobs: p["token_logprobs"] as! [Double],
                 isGreedy: p["is_greedy"] as! Bool, argmaxAfterContext: p["argmax_after_context"] as! Int)
        }
    }

    func fixture() throws -> (model: TransformerModel, reference: Reference) {
        Self.lock.lock()
        defer { Self.lock.unlock() }
        if let m = Self.cachedModel, let r = Self.cachedReference { return (m, r) }
        let modelPath = Self.fixtureDir.appendingPathComponent("tiny-qwen2.gguf").path
        let refPath = Self.fixtureDir.appendingPathComponent("reference.json").path
        guard FileManager.default.fileExists(atPath: modelPath),
              let data = FileManager.default.contents(atPath: refPath) else {
            XCTFail("fixture missing under \(Self.fixtureDir.path): run python3 scripts/make_tiny_qwen2.py (needs numpy and gguf)")
            throw CocoaError(.fileNoSuchFile)
        }
        let json = try JSONSerialization.jsonObject(with: data) as! [String: Any]
        let reference = Reference(
            full: Self.parsePairs(json["pairs"] as! [[String: Any]]),
            paths: (json["paths"] as! [[String: Any]]).map {
                (path: $0["path"] as! [Int], pairs: Self.parsePairs($0["pairs"] as! [[String: Any]]))
            })
        let model = try TransformerModel(path: modelPath, name: "tiny-qwen2", threads: 2)
        Self.cachedModel = model
        Self.cachedReference = reference
        return (model, reference)
    }

    func testConfiguration() throws {
        let (model, _) = try fixture()
        let c = model.configuration
        XCTAssertEqual(model.name, "tiny-qwen2")
        XCTAssertEqual(c.architecture, "qwen2")
        XCTAssertEqual(c.ropeLayout, .neox)
        XCTAssertEqual(c.layerCount, 2)
        XCTAssertEqual(model.layerCount, 2)
        XCTAssertEqual(c.width, 256)
        XCTAssertEqual(c.headCount, 4)
        XCTAssertEqual(c.kvHeadCount, 2)
        XCTAssertEqual(c.headDimension, 64)
        XCTAssertEqual(c.kvWidth, 128)
        XCTAssertEqual(c.feedForwardWidth, 512)
        XCTAssertEqual(c.vocabularySize, 257)
        XCTAssertEqual(c.contextLength, 256)
        XCTAssertEqual(c.ropeBase, 1e6)
        XCTAssertEqual(c.rmsEpsilon, 1e-6)
        XCTAssertNotNil(model.weights.blocks[0].queryBias)
        XCTAssertNotNil(model.weights.blocks[1].valueBias)
        // A separate (untied) output head, stored as Q6_K.
        XCTAssertNotEqual(model.weights.outputHead.dense, model.weights.tokenEmbedding.dense)
        XCTAssertEqual(model.weights.outputHead.quantized.type, .q6_K)
        XCTAssertEqual(model.weights.blocks[0].query.quantized.type, .q4_K)
        XCTAssertEqual(model.weights.blocks[0].key.quantized.type, .q5_K)
        XCTAssertEqual(model.weights.blocks[0].value.quantized.type, .q6_K)
        XCTAssertEqual(model.weights.blocks[1].key.quantized.type, .bf16)
        XCTAssertEqual(model.weights.blocks[1].value.quantized.type, .f16)
        XCTAssertEqual(model.tokenizer.eosToken, 256)
    }

    func testTokenizationMatchesReferenceIds() throws {
        let (model, reference) = try fixture()
        let all = reference.full + reference.paths.flatMap(\.pairs)
        for p in all {
            let enc = model.encodePair(context: p.context, continuation: p.continuation)
            XCTAssertEqual(enc.context, p.contextIds, "context ids of \(p.context.debugDescription)")
            XCTAssertEqual(enc.continuation, p.continuationIds, "continuation ids of \(p.continuation.debugDescription)")
        }
        // No merges: plain ASCII is its bytes; <|endoftext|> in the text is the special token.
        XCTAssertEqual(model.encode("Hi there"), "Hi there".utf8.map { Int32($0) })
        XCTAssertEqual(model.encode("<|endoftext|>ab"), [256, 97, 98])
    }

    func check(_ pairs: [Pair], policy: LayerPolicy, expectedPath: [Int], label: String) throws {
        let (model, _) = try fixture()
        let requests = pairs.map { LoglikelihoodRequest(context: $0.context, continuation: $0.continuation) }
        let results = try model.loglikelihood(requests, policy: policy)
        XCTAssertEqual(results.count, pairs.count)
        var greedySeen = 0
        var worst = 0.0
        for (p, r) in zip(pairs, results) {
            worst = max(worst, abs(r.logLikelihood - p.logprob))
            let what = "\(label): \(p.context.debugDescription) + \(p.continuation.debugDescription)"
            XCTAssertEqual(r.logLikelihood, p.logprob, accuracy: tolerance, what)
            XCTAssertEqual(r.isGreedy, p.isGreedy, "is_greedy of \(what)")
            XCTAssertEqual(r.continuationTokens, p.continuationIds.count, what)
            XCTAssertEqual(r.contextTokens, p.contextIds.count, what)
            XCTAssertEqual(r.path, LayerPath(expectedPath), what)
            XCTAssertEqual(r.blockApplications, expectedPath.count, what)
            if r.isGreedy { greedySeen += 1 }
        }
        XCTAssertGreaterThan(greedySeen, 0, "\(label): the reference holds greedy pairs")
        print("tiny-qwen2 \(label): \(pairs.count) pairs, \(greedySeen) greedy, max |engine - f64| = \(worst)")
        // Each request alone (no shared prefill, fresh sequence) gives the same numbers bitwise.
        for (p, r) in zip(pairs, results).prefix(3) {
            let alone = try model.loglikelihood([LoglikelihoodRequest(context: p.context, continuation: p.continuation)],
                                                policy: policy)[0]
            XCTAssertEqual(alone.logLikelihood.bitPattern, r.logLikelihood.bitPattern, "\(label): batch independence")
        }
    }

    /// Per-token check: the first continuation token scored alone (a one-token continuation) must
    /// give the reference's first token log-prob, and be greedy exactly when it is the reference's
    /// argmax after the context.
    func testFirstTokenLogprobsAndArgmax() throws {
        let (model, reference) = try fixture()
        for p in reference.full {
            // The first continuation token's text: ids are bytes (ASCII) or 256 (<|endoftext|>).
            let first = p.continuationIds[0]
            guard first < 128 else { continue }
            // The context text as scored (lm-eval moves trailing whitespace to the continuation).
            let ctxText = String(decoding: p.contextIds.filter { $0 < 256 }.map { UInt8($0) }, as: UTF8.self)
            let prefix = p.contextIds.first == 256 ? "<|endoftext|>" : ""
            let r = try model.loglikelihood([LoglikelihoodRequest(context: prefix + ctxText,
                                                                  continuation: String(UnicodeScalar(UInt8(first))))],
                                            policy: .full)[0]
            XCTAssertEqual(r.logLikelihood, p.tokenLogprobs[0], accuracy: tolerance / 4, "first token after \(p.context.debugDescription)")
            XCTAssertEqual(r.isGreedy, Int(first) == p.argmaxAfterContext, "argmax after \(p.context.debugDescription)")
        }
    }

    func testFullPathMatchesFloat64Reference() throws {
        let (_, reference) = try fixture()
        try check(reference.full, policy: .full, expectedPath: [0, 1], label: "full")
    }

    func testExplicitFullPathEqualsDefaultBitwise() throws {
        let (model, reference) = try fixture()
        let requests = reference.full.map { LoglikelihoodRequest(context: $0.context, continuation: $0.continuation) }
        let a = try model.loglikelihood(requests, policy: .full)
        let b = try model.loglikelihood(requests, policy: .fixed(LayerPath([0, 1])))
        XCTAssertEqual(a.map(\.logLikelihood.bitPattern), b.map(\.logLikelihood.bitPattern))
    }

    func testRepeatedBlockPathMatchesFloat64Reference() throws {
        let (_, reference) = try fixture()
        let set = try XCTUnwrap(reference.paths.first { $0.path == [0, 0, 1] })
        try check(set.pairs, policy: .fixed(LayerPath([0, 0, 1])), expectedPath: [0, 0, 1], label: "path 0,0,1")
    }

    func testSkippedBlockPathMatchesFloat64Reference() throws {
        let (_, reference) = try fixture()
        let set = try XCTUnwrap(reference.paths.first { $0.path == [1] })
        try check(set.pairs, policy: .fixed(LayerPath([1])), expectedPath: [1], label: "path 1")
    }
}
