import Engine
import XCTest

/// A document's numbers must not depend on what it is batched with, on the thread count, or on
/// the order of requests — bitwise.
final class DeterminismTests: XCTestCase {
    let requests = [
        LoglikelihoodRequest(context: "Question: Which gas do plants absorb from the air?\nAnswer:", continuation: " carbon dioxide"),
        LoglikelihoodRequest(context: "Question: Which gas do plants absorb from the air?\nAnswer:", continuation: " oxygen"),
        LoglikelihoodRequest(context: "Goal: To open a jar easily\nAnswer:", continuation: " twist the lid after running it under hot water for a minute or so"),
    ]

    func testLoglikelihoodIndependentOfBatchAndOrder() throws {
        let model = try SharedModel.get()
        let together = try model.loglikelihood(requests, policy: .full)
        let reversed = try model.loglikelihood(requests.reversed(), policy: .full).reversed()
        for (i, r) in requests.enumerated() {
            let alone = try model.loglikelihood([r], policy: .full)[0]
            XCTAssertEqual(alone.logLikelihood.bitPattern, together[i].logLikelihood.bitPattern, "request \(i) alone vs batched")
            XCTAssertEqual(alone.logLikelihood.bitPattern, Array(reversed)[i].logLikelihood.bitPattern, "request \(i) reversed")
        }
    }

    func testLoglikelihoodIndependentOfThreadCount() throws {
        let model = try SharedModel.get()
        let single = try TransformerModel(path: TestPaths.modelPath, threads: 1)
        let a = try model.loglikelihood(requests, policy: .full)
        let b = try single.loglikelihood(requests, policy: .full)
        for (x, y) in zip(a, b) { XCTAssertEqual(x.logLikelihood.bitPattern, y.logLikelihood.bitPattern) }
        let g1 = try model.generate([GenerationRequest(context: "The capital of France is", until: [], maxTokens: 12)], policy: .full)
        let g2 = try single.generate([GenerationRequest(context: "The capital of France is", until: [], maxTokens: 12)], policy: .full)
        XCTAssertEqual(g1, g2)
    }

    func testGenerationIndependentOfBatch() throws {
        let model = try SharedModel.get()
        let prompts = ["The capital of France is", "1, 2, 3, 4,", "Question: What is 2+2?\nAnswer:",
                       "<|im_start|>user\nName a colour.<|im_end|>\n<|im_start|>assistant\n"]
        let reqs = prompts.map { GenerationRequest(context: $0, until: ["\n\n"], maxTokens: 16) }
        let batched = try model.generate(reqs, policy: .full)
        for (i, r) in reqs.enumerated() {
            let alone = try model.generate([r], policy: .full)[0]
            XCTAssertEqual(alone, batched[i], "prompt \(i) alone vs batched")
        }
        let skip = LayerPath(Array(0..<30).filter { $0 != 8 })
        let mixed = try model.generate(reqs, policy: .fixed(skip))
        XCTAssertEqual(mixed.map(\.path), Array(repeating: skip, count: reqs.count))
        XCTAssertEqual(mixed[0].blockApplications, 29 * mixed[0].forwardPasses)
    }

    /// Skips block 4, repeats block 7, or both, by prompt length: prompts of a batch get different paths.
    struct LengthDecider: PathDecider {
        func decide(layer: Int, hidden: UnsafeBufferPointer<Float>, tokens: Int, width: Int) -> Int {
            switch (tokens % 3, layer) {
            case (0, 4), (2, 4): return 0
            case (1, 7), (2, 7): return 2
            default: return 1
            }
        }
    }

    /// `LengthDecider` reading each scoring request's whole sequence (`RoutingInput.sequence`).
    struct SequenceLengthDecider: PathDecider {
        func decide(layer: Int, hidden: UnsafeBufferPointer<Float>, tokens: Int, width: Int) -> Int {
            LengthDecider().decide(layer: layer, hidden: hidden, tokens: tokens, width: width)
        }
        var routingInput: RoutingInput { .sequence }
    }

    /// Routing on context + choice gives each choice the path a server gives that sequence as one
    /// prompt and the very numbers its echo gives (bit for bit), close to that fixed path's own
    /// scoring (another split of the same arithmetic); generation is routed on its prompt.
    func testRoutingOnWholeSequencesScoresEachChoiceAlongTheServedPath() throws {
        let model = try SharedModel.get()
        let context = "Question: Which gas do plants absorb from the air?\nAnswer:"
        let requests = [" carbon dioxide", " oxygen", " nitrogen gas from the soil", " water"]
            .map { LoglikelihoodRequest(context: context, continuation: $0) }
        let perContext = try model.loglikelihood(requests, policy: .decided(LengthDecider()))
        let perSequence = try model.loglikelihood(requests, policy: .decided(SequenceLengthDecider()))
        XCTAssertEqual(Set(perContext.map(\.path)).count, 1, "one path per context")
        XCTAssertGreaterThanOrEqual(Set(perSequence.map(\.path)).count, 2, "choices of different lengths take different paths")
        for (i, r) in requests.enumerated() {
            let pair = model.encodePair(context: r.context, continuation: r.continuation)
            let served = try model.complete([TokenCompletionRequest(prompt: pair.context + pair.continuation, maxTokens: 0,
                                                                    scorePrompt: true, topLogprobs: 1)],
                                            policy: .decided(LengthDecider()))[0]
            XCTAssertEqual(served.path, perSequence[i].path, "choice \(i): the path of the whole sequence")
            let servedSum = served.promptLogprobs.suffix(pair.continuation.count).reduce(0.0) { $0 + ($1.logprob ?? .nan) }
            XCTAssertEqual(servedSum.bitPattern, perSequence[i].logLikelihood.bitPattern,
                           "choice \(i): echo gives \(servedSum), scoring \(perSequence[i].logLikelihood)")
            let fixed = try model.loglikelihood([r], policy: .fixed(perSequence[i].path))[0]
            XCTAssertEqual(fixed.logLikelihood, perSequence[i].logLikelihood, accuracy: 1e-3, "choice \(i)")
            XCTAssertEqual(perSequence[i].blockApplications, perSequence[i].path.count)
        }
        let generation = [GenerationRequest(context: context, until: ["\n"], maxTokens: 4)]
        XCTAssertEqual(try model.generate(generation, policy: .decided(SequenceLengthDecider())),
                       try model.generate(generation, policy: .decided(LengthDecider())))
    }

    func testRoutedGenerationWithMixedPathsIndependentOfBatch() throws {
        let model = try SharedModel.get()
        let prompts = ["The capital of France is", "1, 2, 3, 4,", "Question: What is 2+2?\nAnswer:",
                       "<|im_start|>user\nName a colour.<|im_end|>\n<|im_start|>assistant\n", "Once upon a time"]
        let reqs = prompts.map { GenerationRequest(context: $0, until: ["\n\n"], maxTokens: 12) }
        let batched = try model.generate(reqs, policy: .decided(LengthDecider()))
        XCTAssertGreaterThanOrEqual(Set(batched.map(\.path)).count, 3, "the batch must mix paths")
        for (i, r) in reqs.enumerated() {
            let alone = try model.generate([r], policy: .decided(LengthDecider()))[0]
            XCTAssertEqual(alone, batched[i], "prompt \(i) alone vs in a batch of mixed paths")
            let fixed = try model.generate([r], policy: .fixed(alone.path))[0]
            XCTAssertEqual(fixed, alone, "prompt \(i): routed equals its fixed path")
        }
    }

    func testSharedPrefillOfGenerationAndScoringEqualsSeparateCalls() throws {
        let model = try SharedModel.get()
        let squad = "Title: Moon\n\nBackground: The Moon orbits the Earth once a month.\n\nQuestion: What does the Moon orbit?\n\n Answer:"
        let scoring = [
            LoglikelihoodRequest(context: squad, continuation: " unanswerable"),
            LoglikelihoodRequest(context: "Question: Which gas do plants absorb?\nAnswer:", continuation: " carbon dioxide"),
            LoglikelihoodRequest(context: squad, continuation: " the Earth, once a month"),
            // A trailing space moves to the continuation: the scoring context is not the prompt.
            LoglikelihoodRequest(context: "The capital of France is ", continuation: "Paris"),
        ]
        let generating = [
            GenerationRequest(context: squad, until: ["\n"], maxTokens: 10),
            GenerationRequest(context: "The capital of France is ", until: ["\n"], maxTokens: 6),
            GenerationRequest(context: "1, 2, 3,", until: [], maxTokens: 5),
        ]
        for policy in [LayerPolicy.full, .fixed(LayerPath([0, 1, 2, 2, 3] + Array(5..<30))), .decided(LengthDecider())] {
            let together = try model.evaluate(loglikelihood: scoring, generation: generating, policy: policy)
            let scored = try model.loglikelihood(scoring, policy: policy)
            let generated = try model.generate(generating, policy: policy)
            XCTAssertEqual(together.scored.map(\.logLikelihood.bitPattern), scored.map(\.logLikelihood.bitPattern))
            XCTAssertEqual(together.scored, scored)
            XCTAssertEqual(together.generated, generated)
        }
    }

    func testGeneratedTextIsGreedyUnderScoring() throws {
        let model = try SharedModel.get()
        let prompt = "The capital of France is"
        let g = try model.generate([GenerationRequest(context: prompt, until: ["."], maxTokens: 8)], policy: .full)[0]
        XCTAssertFalse(g.text.isEmpty)
        let s = try model.loglikelihood([LoglikelihoodRequest(context: prompt, continuation: g.text)], policy: .full)[0]
        XCTAssertTrue(s.isGreedy, "generated \(g.text.debugDescription) should be the greedy continuation")
    }
}
