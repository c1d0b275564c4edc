@testable import Engine
import XCTest

/// The prefix cache changes time, never numbers: prompts that share a prefix give bit for bit the
/// results of a model without the cache, and the cache did serve part of them.
final class PrefixCacheTests: XCTestCase {
    /// OpenBLAS's AVX-512 kernels allow reuse (`OpenBLASCore.usesAVX512Kernels`); elsewhere a share
    /// may be declined and the numbers are all we check.
    static var kernelsAllowReuse: Bool { OpenBLASCore.usesAVX512Kernels }

    static let paragraph = """
        Title: Normans

        Background: The Normans (Norman: Nourmands; French: Normands; Latin: Normanni) were the people who in the \
        10th and 11th centuries gave their name to Normandy, a region in France. They were descended from Norse \
        ("Norman" comes from "Norseman") raiders and pirates from Denmark, Iceland and Norway who, under their \
        leader Rollo, agreed to swear fealty to King Charles III of West Francia. Through generations of \
        assimilation and mixing with the native Frankish and Roman-Gaulish populations, their descendants would \
        gradually merge with the Carolingian-based cultures of West Francia. The distinct cultural and ethnic \
        identity of the Normans emerged initially in the first half of the 10th century, and it continued to \
        evolve over the succeeding centuries.
        """
    static let questions = ["In what country is Normandy located?", "When were the Normans in Normandy?",
                            "From which countries did the Norse originate?", "Who was the Norse leader?",
                            "What century did the Normans first gain their separate identity?"]

    func prompts(repeatingParagraph times: Int) -> [String] {
        let background = Array(repeating: Self.paragraph, count: times).joined(separator: "\n")
        // The last question is long: its prompt has a length the others do not share, so the
        // sgemm calls of its full prefill are shaped differently from the entry's.
        let long = "Which of these sentences is true? " + Self.paragraph.split(separator: "\n").last!
        return (Self.questions + [long]).map { "\(background)\n\nQuestion: \($0)\n\nAnswer:" }
    }

    func testSharedPrefixesGiveTheNumbersOfAModelWithoutTheCache() throws {
        let plain = try TransformerModel(path: TestPaths.modelPath, prefixCache: nil)
        let cache = PrefixCache()
        let cached = try TransformerModel(path: TestPaths.modelPath, prefixCache: cache)
        // One paragraph (~200 tokens) and three (~600: past OpenBLAS's split of attention's
        // reduction, where the probe must shorten or refuse shares).
        for times in [1, 3] {
            cache.removeAll()
            let prompts = prompts(repeatingParagraph: times)
            let scoring = prompts.flatMap { [LoglikelihoodRequest(context: $0, continuation: " unanswerable"),
                                             LoglikelihoodRequest(context: $0, continuation: " France")] }
            let generating = prompts.map { GenerationRequest(context: $0, until: ["\n"], maxTokens: 8) }
            // One prompt at a time, as documents arrive, and all together.
            for p in prompts {
                let request = [LoglikelihoodRequest(context: p, continuation: " in the 10th century")]
                XCTAssertEqual(try cached.loglikelihood(request, policy: .full), try plain.loglikelihood(request, policy: .full))
            }
            let a = try cached.evaluate(loglikelihood: scoring, generation: generating, policy: .full)
            let b = try plain.evaluate(loglikelihood: scoring, generation: generating, policy: .full)
            XCTAssertEqual(a.scored, b.scored, "paragraph ×\(times)")
            XCTAssertEqual(a.generated, b.generated, "paragraph ×\(times)")
            for (x, y) in zip(a.scored, b.scored) { XCTAssertEqual(x.logLikelihood.bitPattern, y.logLikelihood.bitPattern) }
        }
        let s = cache.statistics
        // Where the probe finds OpenBLAS's rows depend on the call's row count (its Haswell kernels,
        // e.g. forced by OPENBLAS_CORETYPE=Haswell), it refuses every share: no reuse, same numbers.
        // Its AVX-512 kernels allow reuse, and then the cache must serve. A cache that neither
        // reused nor refused would be broken.
        XCTAssertTrue(s.hits > 0 || s.probeRefusals > 0, "the cache neither served nor refused anything: \(s)")
        if Self.kernelsAllowReuse { XCTAssertGreaterThan(s.reusedTokens, 0, "\(OpenBLASCore.name) kernels: \(s)") }
        XCTAssertEqual(s.reusedTokens > 0, s.hits > 0, "\(s)")
        XCTAssertLessThanOrEqual(s.reusedTokens, s.promptTokens)
    }

    /// Short prompts asked twice: the second reuses all but the last 9 rows. Found by the resume
    /// test: with 26 tokens, 1–2 attention scores of a 9-row tail came out in another order than
    /// inside the 26-row call, which a single data set of narrow-range probe numbers missed.
    func testShortPromptsAskedAgainGiveTheSameNumbers() throws {
        let plain = try TransformerModel(path: TestPaths.modelPath, prefixCache: nil)
        let cache = PrefixCache()
        let cached = try TransformerModel(path: TestPaths.modelPath, prefixCache: cache)
        let questions = ["Which of the following is an example of a physical change rather than a chemical change in the kitchen today?",
                         "Which gas do plants absorb from the air during photosynthesis, and which one do they give off in daylight hours?",
                         "A student mixes baking soda and vinegar in a cup. Which observation shows that a new substance formed?",
                         "What is the boiling point of water at sea level?"]
        for q in questions {
            let request = [LoglikelihoodRequest(context: "Question: \(q)\nAnswer:", continuation: " melting ice"),
                           LoglikelihoodRequest(context: "Question: \(q)\nAnswer:", continuation: " burning wood")]
            let reference = try plain.loglikelihood(request, policy: .full)
            for round in 0..<2 {
                XCTAssertEqual(try cached.loglikelihood(request, policy: .full), reference, "\(q.prefix(30))…, round \(round)")
            }
        }
        XCTAssertEqual(cache.statistics.prompts, 2 * questions.count)
    }

    func testAFixedPathSharesOnlyWithItsOwnPath() throws {
        let plain = try TransformerModel(path: TestPaths.modelPath, prefixCache: nil)
        let cache = PrefixCache()
        let cached = try TransformerModel(path: TestPaths.modelPath, prefixCache: cache)
        let skipping = LayerPath(Array(0..<plain.layerCount).filter { $0 != 5 && $0 != 20 })
        let prompts = prompts(repeatingParagraph: 1)
        for (i, p) in prompts.enumerated() {
            let request = [LoglikelihoodRequest(context: p, continuation: " Normandy")]
            for policy in [LayerPolicy.full, .fixed(skipping)] {
                XCTAssertEqual(try cached.loglikelihood(request, policy: policy), try plain.loglikelihood(request, policy: policy), "prompt \(i)")
            }
        }
        // The first prompt of each path fills the cache; the others may reuse their own path's entry.
        XCTAssertEqual(cache.statistics.prompts, 2 * prompts.count)
        // Reuse where the probe allows it on this machine (see the test above).
        XCTAssertTrue(cache.statistics.hits > 0 || cache.statistics.probeRefusals > 0, "\(cache.statistics)")
        if Self.kernelsAllowReuse { XCTAssertGreaterThan(cache.statistics.hits, 0, "\(OpenBLASCore.name) kernels") }
    }

    /// Decides from the mean of every row's first component entering a layer, as a router pools
    /// the whole prompt: block 3 skipped and block 7 repeated for every prompt; blocks 12, 18 and
    /// 24 applied 0, 1 or 2 times by the bits of that mean, so prompts sharing a paragraph part
    /// ways at different blocks (or not at all).
    struct PooledHiddenStateDecider: PathDecider {
        func decide(layer: Int, hidden: UnsafeBufferPointer<Float>, tokens: Int, width: Int) -> Int {
            switch layer {
            case 3: return 0
            case 7: return 2
            case 12, 18, 24:
                var sum: Float = 0
                for t in 0..<tokens { sum += hidden[t * width] }
                let mean = sum / Float(tokens)
                return Int((mean.bitPattern >> 3) % 3)
            default: return 1
            }
        }
    }

    /// Routed prompts key the cache on (token prefix, path prefix): a prompt reuses the shared rows
    /// for as long as its decisions choose the entry's blocks, then computes every row. Its
    /// decisions, paths and numbers must be those of a model without the cache, bit for bit.
    func testDecidedPathsShareWhileTheyAgreeAndGiveTheNumbersOfAModelWithoutTheCache() throws {
        let plain = try TransformerModel(path: TestPaths.modelPath, prefixCache: nil)
        let cache = PrefixCache()
        let cached = try TransformerModel(path: TestPaths.modelPath, prefixCache: cache)
        let policy = LayerPolicy.decided(PooledHiddenStateDecider())
        let prompts = prompts(repeatingParagraph: 1)
        var paths: [LayerPath] = []
        for p in prompts {
            let request = [LoglikelihoodRequest(context: p, continuation: " in the 10th century"),
                           LoglikelihoodRequest(context: p, continuation: " France")]
            let a = try cached.loglikelihood(request, policy: policy)
            let b = try plain.loglikelihood(request, policy: policy)
            XCTAssertEqual(a, b, "\(p.suffix(40))")
            for (x, y) in zip(a, b) { XCTAssertEqual(x.logLikelihood.bitPattern, y.logLikelihood.bitPattern) }
            paths.append(a[0].path)
        }
        // The decider did route these prompts apart: the test covers paths that part from the entry's.
        XCTAssertGreaterThan(Set(paths).count, 1, "\(paths)")
        XCTAssertTrue(paths.allSatisfy { !$0.blocks.contains(3) && $0.blocks.filter { $0 == 7 }.count == 2 })
        // Generation (one batch, continuous) along decided paths, from the same cache.
        let generating = prompts.map { GenerationRequest(context: $0, until: ["\n"], maxTokens: 8) }
        XCTAssertEqual(try cached.generate(generating, policy: policy), try plain.generate(generating, policy: policy))
        let s = cache.statistics
        XCTAssertTrue(s.hits > 0 || s.probeRefusals > 0, "the cache neither served nor refused anything: \(s)")
        if Self.kernelsAllowReuse { XCTAssertGreaterThan(s.reusedTokens, 0, "\(OpenBLASCore.name) kernels: \(s)") }
        XCTAssertLessThanOrEqual(s.reusedTokens, s.promptTokens)
    }

    /// An entry of a decided path keeps each row's hidden state entering every path position (and
    /// after the last); a fixed path's entry keeps none. Both count toward the capacity.
    func testEntriesOfDecidedPathsKeepHiddenStatesWithinTheCapacity() throws {
        let cache = PrefixCache()
        let model = try TransformerModel(path: TestPaths.modelPath, prefixCache: cache)
        let prompt = prompts(repeatingParagraph: 1)[0]
        let request = [LoglikelihoodRequest(context: prompt, continuation: " Normandy")]
        _ = try model.loglikelihood(request, policy: .full)
        let fixedBytes = cache.storedBytes
        let tokens = model.encode(prompt).count, c = model.configuration
        XCTAssertEqual(fixedBytes, 2 * c.layerCount * c.kvWidth * tokens * 4)
        let path = try model.loglikelihood(request, policy: .decided(PooledHiddenStateDecider()))[0].path
        XCTAssertEqual(cache.storedBytes - fixedBytes, (2 * path.count * c.kvWidth + (path.count + 1) * c.width) * tokens * 4)
        let entry = try XCTUnwrap(cache.longestMatchKeepingHiddenStates(model.encode(prompt), limit: tokens))
        XCTAssertEqual(entry.shared, tokens)
        XCTAssertEqual(entry.entry.blocks, path.blocks)
        XCTAssertEqual(entry.entry.hidden.count, path.count + 1)
        XCTAssertNil(cache.longestMatch(model.encode(prompt), blocks: [0, 1], limit: tokens))
    }

    func testEntriesAreEvictedLeastRecentlyUsedFirstWithinTheCapacity() {
        let kv = 4, blocks = [0, 1]
        let entryBytes = 2 * blocks.count * 20 * kv * MemoryLayout<Float>.size
        let cache = PrefixCache(capacityBytes: 2 * entryBytes, minimumSharedTokens: 3)
        let a = (0..<20).map(Int32.init), b = (100..<120).map(Int32.init), c = (200..<220).map(Int32.init)
        XCTAssertNotNil(cache.makeEntry(tokens: a, blocks: blocks, kvWidth: kv))
        XCTAssertNotNil(cache.makeEntry(tokens: b, blocks: blocks, kvWidth: kv))
        XCTAssertEqual(cache.storedBytes, 2 * entryBytes)
        XCTAssertEqual(cache.longestMatch(a + [7], blocks: blocks, limit: 21)?.shared, 20)   // a is now the most recent
        XCTAssertNotNil(cache.makeEntry(tokens: c, blocks: blocks, kvWidth: kv))          // evicts b
        XCTAssertEqual(cache.storedBytes, 2 * entryBytes)
        XCTAssertNil(cache.longestMatch(b, blocks: blocks, limit: 20))
        XCTAssertEqual(cache.longestMatch(Array(a.prefix(10)) + [999], blocks: blocks, limit: 11)?.shared, 10)
        XCTAssertNil(cache.longestMatch(a, blocks: [0], limit: 20), "another path shares nothing")
        XCTAssertNil(cache.longestMatch(Array(a.prefix(2)) + [999], blocks: blocks, limit: 3), "below the minimum")
        XCTAssertEqual(cache.longestMatch(a, blocks: blocks, limit: 12)?.shared, 12, "never past the limit")
        // The same tokens again replace their entry; an entry larger than the capacity is not kept.
        XCTAssertNotNil(cache.makeEntry(tokens: a, blocks: blocks, kvWidth: kv))
        XCTAssertEqual(cache.storedBytes, 2 * entryBytes)
        XCTAssertNil(cache.makeEntry(tokens: (0..<100).map(Int32.init), blocks: blocks, kvWidth: kv))
        cache.removeAll()
        XCTAssertEqual(cache.storedBytes, 0)
    }

    func testTheProbeComparesTheCallShapesItIsAskedAbout() throws {
        let model = try TransformerModel(path: TestPaths.modelPath, prefixCache: nil)
        let probe = PrefixReuseProbe(model: model)
        XCTAssertFalse(probe.weightRowsAreShapeFree(rows: probe.referenceRows + 1), "no reference past it")
        XCTAssertTrue(probe.weightRowsAreShapeFree(rows: probe.referenceRows))
    }
}
