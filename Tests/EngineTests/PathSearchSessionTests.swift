import Engine
import XCTest

final class PathSearchSessionTests: XCTestCase {
    func testReusedPrefixesGiveExactlyTheFixedPathResult() throws {
        let model = try SharedModel.get()
        let request = GenerationRequest(context: "<|im_start|>user\nWhat is 3+4? Answer with a number.<|im_end|>\n<|im_start|>assistant\n",
                                        until: ["\n\n"], maxTokens: 6)
        let session = try PathSearchSession(model: model, request: request)
        let full = LayerPath.full(30)
        var paths = [full]
        paths.append(LayerPath(full.blocks.filter { $0 != 20 }))                 // skip 20
        paths.append(LayerPath(full.blocks.filter { $0 != 20 && $0 != 21 }))     // skip 20-21
        paths.append(LayerPath.fromMultiplicities((0..<30).map { $0 == 5 ? 2 : 1 }))  // repeat 5
        paths.append(LayerPath.fromMultiplicities((0..<30).map { $0 == 5 ? 2 : ($0 == 27 ? 0 : 1) }))
        for p in paths {
            let a = try session.generate(path: p)
            let b = try model.generate([request], policy: .fixed(p))[0]
            XCTAssertEqual(a, b, "path \(p)")
        }
        // The first path computes 30 blocks; later ones only what follows their longest known
        // prefix: skip 20 reuses 0...19 (9 new), skip 20-21 reuses 0...19 (8 new), repeat 5 reuses
        // 0...5 (25 new), repeat 5 + skip 27 reuses the 28 positions up to block 26 (2 new).
        XCTAssertEqual(session.blockApplicationsComputed, 30 + 9 + 8 + 25 + 2)
        XCTAssertEqual(session.blockApplicationsReused, 0 + 20 + 20 + 6 + 28)
    }

    /// Several sessions' paths evaluated in one batch give each session's results alone, which
    /// are `generate`'s / `loglikelihood`'s with the fixed path, bit for bit: prompts of different
    /// lengths (one short enough for the quantised kernels) go through each block as segments of
    /// one call, their generations decode together.
    func testBatchesEqualSessionsAlone() throws {
        let model = try SharedModel.get()
        let contexts = [
            "<|im_start|>user\nWhat is 3+4? Answer with a number.<|im_end|>\n<|im_start|>assistant\n",
            "<|im_start|>user\nName a colour of the sky on a clear day, in one word, and then explain why it looks that way.<|im_end|>\n<|im_start|>assistant\n",
            "2 + 2 =",
        ]
        let full = LayerPath.full(30)
        let paths = [full, LayerPath(full.blocks.filter { $0 != 7 }), LayerPath.fromMultiplicities((0..<30).map { $0 == 12 ? 2 : 1 })]
        // Generation: batched sessions vs fresh sessions alone vs the model's fixed-path generate.
        let requests = contexts.map { GenerationRequest(context: $0, until: ["\n\n"], maxTokens: 7) }
        let batched = try requests.map { try PathSearchSession(model: model, request: $0) }
        let single = try requests.map { try PathSearchSession(model: model, request: $0) }
        for round in 0..<paths.count {
            // Each session gets another path each round (rotated), so checkpoints are reused unevenly.
            let items = batched.indices.map { (batched[$0], paths[($0 + round) % paths.count]) }
            let together = try PathSearchSession.generate(items)
            for (i, (_, path)) in items.enumerated() {
                XCTAssertEqual(together[i], try single[i].generate(path: path), "round \(round), prompt \(i)")
                XCTAssertEqual(together[i], try model.generate([requests[i]], policy: .fixed(path))[0])
            }
        }
        XCTAssertEqual(batched.map(\.blockApplicationsComputed), single.map(\.blockApplicationsComputed))
        XCTAssertEqual(batched.map(\.blockApplicationsReused), single.map(\.blockApplicationsReused))

        // Scoring: the continuations of one context per session (one-token, short and, past eight
        // tokens, long ones, which take different kernels).
        let questions = contexts.map { context in
            [" 7", " blue", " four and then some more words",
             " a continuation long enough to take the matrix-product kernels rather than the quantised ones"].map { LoglikelihoodRequest(context: context, continuation: $0) }
        }
        let scorers = try questions.map { try PathSearchSession(model: model, scoring: $0) }
        for round in 0..<paths.count {
            let items = scorers.indices.map { (scorers[$0], paths[($0 + round) % paths.count]) }
            let together = try PathSearchSession.score(items)
            for (i, (_, path)) in items.enumerated() {
                let expected = try model.loglikelihood(questions[i], policy: .fixed(path))
                XCTAssertEqual(together[i].map(\.logLikelihood.bitPattern), expected.map(\.logLikelihood.bitPattern),
                               "round \(round), prompt \(i)")
                XCTAssertEqual(together[i], expected)
            }
        }
        XCTAssertThrowsError(try PathSearchSession(model: model, scoring: [
            LoglikelihoodRequest(context: "a", continuation: " b"), LoglikelihoodRequest(context: "c", continuation: " d"),
        ])) { XCTAssertEqual($0 as? EngineError, .contextsDiffer) }
    }
}
