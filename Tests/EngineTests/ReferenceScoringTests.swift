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
        for p in ps {
            // The reference tokenises the context as given (no lm-eval whitespace move), so score
            // its token ids; the string-level boundary rule is tested separately.
            XCTAssertEqual(model.encode(p.context), p.contextIds, "context ids of \(p.context.debugDescription)")
            let r = try model.loglikelihood(contextIds: p.contextIds, continuations: [p.continuationIds], policy: policy(path))[0]
            XCTAssertEqual(r.logLikelihood, p.logprob, accuracy: tolerance, "\(file): \(p.continuation.debugDescription)")
            XCTAssertEqual(r.isGreedy, p.isGreedy, "\(file): is_greedy of \(p.continuation.debugDescription)")
            XCTAssertEqual(r.continuationTokens, p.continuationIds.count)
        }
    }

    func testFullPathMatchesFloat64Reference() throws {
        try check("smollm2-135m-instruct.f64.json") { _ in .full }
    }

    func testSkipAndRepeatPathMatchesFloat64Reference() throws {
        // The reference runs the blocks of its path by hand (scripts/np_reference.py), skipping 8 and
        // repeating 3 and 29.
        try check("smollm2-135m-instruct.path.f64.json") { path in .fixed(LayerPath(path!)) }
    }

    func testGreedyDecisionsAgreeWithLlamaCpp() throws {
        let model = try SharedModel.get()
        let (ps, _) = try pairs("smollm2-135m-instruct.llamacpp.json")
        for p in ps {
            let r = try model.loglikelihood(contextIds: p.contextIds, continuations: [p.continuationIds], policy: .full)[0]
            XCTAssertEqual(r.isGreedy, p.isGreedy, "is_greedy of \(p.continuation.debugDescription)")
            // llama.cpp quantises activations to 8 bits, so it drifts from exact arithmetic by up to
            // ~0.08 per token here; only its greedy decisions must agree.
            XCTAssertEqual(r.logLikelihood, p.logprob, accuracy: 0.1 * Double(p.continuationIds.count))
        }
    }

    func testStringPairsFollowLmEvalBoundaryRule() throws {
        let model = try SharedModel.get()
        // Trailing context whitespace moves to the continuation (lm-eval's _encode_pair).
        let chat = model.encodePair(context: "<|im_start|>user\nWhat is 2+2?<|im_end|>\n<|im_start|>assistant\n", continuation: "4")
        XCTAssertEqual(chat.context.last, 9531)
        XCTAssertEqual(chat.continuation, [198, 36])
        // The continuation is what encoding the whole adds after the context's own encoding.
        let pair = model.encodePair(context: "The capital of France is", continuation: " Paris")
        XCTAssertEqual(pair.context, [504, 3575, 282, 4649, 314])
        XCTAssertEqual(pair.continuation, [7042])
        let viaStrings = try model.loglikelihood([LoglikelihoodRequest(context: "The capital of France is", continuation: " Paris")], policy: .full)[0]
        let viaIds = try model.loglikelihood(contextIds: pair.context, continuations: [pair.continuation], policy: .full)[0]
        XCTAssertEqual(viaStrings.logLikelihood.bitPattern, viaIds.logLikelihood.bitPattern)
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
