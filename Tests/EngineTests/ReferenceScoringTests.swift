import Engine
import XCTest

/// The engine against exact float64 arithmetic over the same dequantised weights
/// (`smollm2-135m-instruct.f64.json`) and against llama.cpp's argmax decisions.
final class ReferenceScoringTests: XCTestCase {
    /// f32 activations vs f64 arithmetic: the bound is 1e-3 per pair (sum of token log-probs).
    let tolerance = 1e-3

    struct Pair {
        let context: String, continuation: String
        let contextIds: [Int32], continuationIds: [Int32]
        let logprob: Double, tokenLogprobs: [Double], isGreedy: Bool
    }

    func pairs(_ file: String) throws -> (pairs: [Pair], path: [Int]?) {
        let ref = try TestPaths.reference(file)
        let ps = (ref["pairs"] as! [[String: Any]]).map { p in
            Pair(context: p["context"] as! String, continuation: p["continuation"] as! String,
                 contextIds: (p["context_ids"] as! [Int]).map(Int32.init),
                 continuationIds: (p["continuation_ids"] as! [Int]).map(Int32.init),
                 logprob: p["logprob"] as! Double, tokenLogprobs: p["token_logprobs"] as! [Double],
                 isGreedy: p["is_greedy"] as! Bool)
        }
        return (ps, ref["path"] as? [Int])
    }

    func check(_ file: String, policy: (([Int]?) -> LayerPolicy)) throws {
        let model = try SharedModel.get()
        let (ps, path) = try pairs(file)
        let results = try model.loglikelihood(ps.map { LoglikelihoodRequest(context: $0.context, continuation: $0.continuation) },
                                              policy: policy(path))
        for (p, r) in zip(ps, results) {
            let enc = model.encodePair(context: p.context, continuation: p.continuation)
            XCTAssertEqual(enc.context, p.contextIds, "context ids of \(p.context.debugDescription)")
            XCTAssertEqual(enc.continuation, p.continuationIds, "continuation ids of \(p.continuation.debugDescription)")
            XCTAssertEqual(r.logLikelihood, p.logprob, accuracy: tolerance, "\(file): \(p.continuation.debugDescription)")
            XCTAssertEqual(r.isGreedy, p.isGreedy, "\(file): is_greedy of \(p.continuation.debugDescription)")
            XCTAssertEqual(r.continuationTokens, p.continuationIds.count)
        }
    }

    func testFullPathMatchesFloat64Reference() throws {
        try check("smollm2-135m-instruct.f64.json") { _ in .full }
    }

    func testSkipAndRepeatPathMatchesFloat64Reference() throws {
        // The reference runs the blocks of its path by hand (np_reference.py), skipping 8 and
        // repeating 3 and 29.
        try check("smollm2-135m-instruct.path.f64.json") { path in .fixed(LayerPath(path!)) }
    }

    func testGreedyDecisionsAgreeWithLlamaCpp() throws {
        let model = try SharedModel.get()
        let (ps, _) = try pairs("smollm2-135m-instruct.llamacpp.json")
        let results = try model.loglikelihood(ps.map { LoglikelihoodRequest(context: $0.context, continuation: $0.continuation) },
                                              policy: .full)
        for (p, r) in zip(ps, results) {
            XCTAssertEqual(r.isGreedy, p.isGreedy, "is_greedy of \(p.continuation.debugDescription)")
            // llama.cpp quantises activations: agreement within its own ~0.03/token error.
            XCTAssertEqual(r.logLikelihood, p.logprob, accuracy: 0.05 * Double(p.continuationIds.count))
        }
    }

    func testExplicitFullPathEqualsDefaultBitwise() throws {
        let model = try SharedModel.get()
        let req = [LoglikelihoodRequest(context: "The capital of France is", continuation: " Paris")]
        let a = try model.loglikelihood(req, policy: .full)[0]
        let b = try model.loglikelihood(req, policy: .fixed(.full(model.layerCount)))[0]
        XCTAssertEqual(a.logLikelihood.bitPattern, b.logLikelihood.bitPattern)
        XCTAssertEqual(a.path, .full(30))
        XCTAssertEqual(a.blockApplications, 30)
    }
}
