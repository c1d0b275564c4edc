import Engine
import Foundation
import XCTest
@testable import OpenAIBackend

/// GPT-2's byte-level alphabet: one token per byte, so any text tokenises (no merges).
func byteLevelTokenizer() throws -> BPETokenizer {
    var printable = Array(33...126) + Array(161...172) + Array(174...255)
    var map = [Int: Int]()
    for b in printable { map[b] = b }
    var extra = 0
    for b in 0..<256 where map[b] == nil {
        map[b] = 256 + extra
        extra += 1
    }
    printable.removeAll()
    let vocabulary = (0..<256).map { String(Character(Unicode.Scalar(UInt32(map[$0]!))!)) } + ["<|endoftext|>"]
    return try BPETokenizer(vocabulary: vocabulary, tokenTypes: Array(repeating: 1, count: 256) + [3], merges: [],
                            preTokenizer: "gpt2", bos: nil, eos: 256, addBOS: false)
}

struct ConnectionRefused: Error {}

/// An in-process OpenAI completions server over a made-up model whose log-probabilities are a
/// function of the prefix: each test knows every number the server should give.
final class FakeCompletionsServer: HTTPTransport, @unchecked Sendable {
    enum Fault {
        case none, shiftedEcho, noPromptLogprobs, textOnly
        /// Refuses echo outright, as llama.cpp's llama-server does.
        case noEcho
        /// Refuses token prompts as llama-cpp-python does: HTTP 500, a validation error and a traceback.
        case textOnlyWith500
    }
    let tokenizer: BPETokenizer
    let fault: Fault
    private let lock = NSLock()
    private var failures: Int
    private var busyAnswers: Int
    private(set) var bodies: [[String: Any]] = []
    private(set) var inFlight = 0
    private(set) var maxInFlight = 0

    init(tokenizer: BPETokenizer, fault: Fault = .none, failures: Int = 0, busyAnswers: Int = 0) {
        self.tokenizer = tokenizer
        self.fault = fault
        self.failures = failures
        self.busyAnswers = busyAnswers
    }

    /// log p(token | prefix) of the made-up model (not normalised; nothing here needs it to be).
    /// Values are spread widely so that two positions' best log-probabilities differ; bytes
    /// outside printable ASCII are unlikely, so greedy continuations are text that round-trips.
    static func logprob(prefix: ArraySlice<Int32>, token: Int32) -> Double {
        var h: UInt64 = 1469598103934665603
        for t in prefix { h = (h ^ UInt64(t)) &* 1099511628211 }
        let penalty = (32...126).contains(token) ? 0.0 : 30
        return -Double((h &+ UInt64(token) &* 2654435761) % 9973) / 1000 - 0.001 - penalty
    }
    /// The best next token after `prefix` (over the byte tokens) and its log-probability.
    static func best(prefix: ArraySlice<Int32>) -> (token: Int32, logprob: Double) {
        var top: (Int32, Double) = (0, -.infinity)
        for t in Int32(0)..<256 {
            let lp = logprob(prefix: prefix, token: t)
            if lp > top.1 { top = (t, lp) }
        }
        return top
    }

    var requestCount: Int { lock.withLock { bodies.count } }

    func post(_ url: URL, json: Data, headers: [(String, String)], timeoutSeconds: Double) async throws -> HTTPAnswer {
        let body = try JSONSerialization.jsonObject(with: json) as! [String: Any]
        let (fail, busy): (Bool, Bool) = lock.withLock {
            bodies.append(body)
            inFlight += 1
            maxInFlight = max(maxInFlight, inFlight)
            if failures > 0 { failures -= 1; return (true, false) }
            if busyAnswers > 0 { busyAnswers -= 1; return (false, true) }
            return (false, false)
        }
        // Answers come back out of order: later requests of a batch may finish first.
        try await Task.sleep(nanoseconds: UInt64(json.count % 5) * 200_000)
        defer { lock.withLock { inFlight -= 1 } }
        if fail { throw ConnectionRefused() }
        if busy { return HTTPAnswer(status: 429, body: Data(#"{"error":{"message":"busy"}}"#.utf8)) }
        let ids: [Int32]
        if let text = body["prompt"] as? String {
            ids = tokenizer.encode(text, addSpecial: false, parseSpecial: true)
        } else if let list = body["prompt"] as? [Int] {
            if fault == .noEcho, body["echo"] as? Bool == true {
                return HTTPAnswer(status: 400, body: Data(#"{"error":{"code":400,"message":"Only no echo is supported","type":"invalid_request_error"}}"#.utf8))
            }
            if fault == .textOnlyWith500 {
                let message = "4 validation errors:\n  {'type': 'string_type', 'loc': ('body', 'prompt', 'str')}\n\n  File \"app.py\", line 264"
                return HTTPAnswer(status: 500, body: try JSONSerialization.data(withJSONObject: ["error": ["message": message]]))
            }
            if fault == .textOnly {
                return HTTPAnswer(status: 422, body: Data(#"{"detail":[{"loc":["body","prompt"],"msg":"Input should be a valid string"}]}"#.utf8))
            }
            ids = list.map { Int32($0) }
        } else {
            return HTTPAnswer(status: 400, body: Data(#"{"error":{"message":"prompt missing"}}"#.utf8))
        }
        let maxTokens = body["max_tokens"] as? Int ?? 16
        let echo = body["echo"] as? Bool ?? false
        let logprobs = body["logprobs"] as? Int
        // Greedy generation over the made-up model; stop strings cut the text.
        var generated: [Int32] = []
        var context = ids
        for _ in 0..<maxTokens {
            let next = Self.best(prefix: context[...]).token
            generated.append(next)
            context.append(next)
        }
        var text = tokenizer.decode(generated)
        var finish = "length"
        for stop in body["stop"] as? [String] ?? [] {
            if let r = text.range(of: stop) { text = String(text[..<r.lowerBound]); finish = "stop" }
        }
        var choice: [String: Any] = ["index": 0, "text": echo ? tokenizer.decode(ids) + text : text, "finish_reason": finish]
        if let logprobs, logprobs > 0 {
            var tokenLogprobs: [Any] = [], top: [Any] = []
            let all = echo ? ids + generated : generated
            let first = echo ? 0 : ids.count
            for (k, t) in all.enumerated() {
                let i = first + k
                if fault == .noPromptLogprobs && i < ids.count { continue }
                if echo && k == 0 { tokenLogprobs.append(NSNull()); top.append(NSNull()); continue }
                if fault == .shiftedEcho && echo && k == all.count - 1 { break }   // the generated entry goes missing
                // llama-cpp-python's fault: the entry of token i is taken from the distribution after it.
                let prefix = (ids + generated)[..<(fault == .shiftedEcho && echo ? i + 1 : i)]
                let best = Self.best(prefix: prefix)
                tokenLogprobs.append(Self.logprob(prefix: prefix, token: t))
                // Keyed by token text as servers do; the token itself may be the best one.
                var entries = [tokenizer.decode([best.token]): best.logprob]
                entries[tokenizer.decode([t])] = Self.logprob(prefix: prefix, token: t)
                top.append(entries)
            }
            choice["logprobs"] = ["token_logprobs": tokenLogprobs, "top_logprobs": top,
                                  "tokens": all.map { tokenizer.decode([$0]) }]
        }
        let response: [String: Any] = ["choices": [choice],
                                       "usage": ["prompt_tokens": ids.count, "completion_tokens": generated.count]]
        return HTTPAnswer(status: 200, body: try JSONSerialization.data(withJSONObject: response))
    }
}

final class OpenAICompletionsModelTests: XCTestCase {
    func server(_ encoding: PromptEncoding = .tokens, concurrency: Int = 4, retries: Int = 3) -> OpenAIServer {
        OpenAIServer(baseURL: URL(string: "http://127.0.0.1:9/v1")!, servedModel: "fake", concurrency: concurrency,
                     timeoutSeconds: 5, retries: retries, initialBackoffSeconds: 0.001, promptEncoding: encoding)
    }

    func model(_ fake: FakeCompletionsServer, _ encoding: PromptEncoding = .tokens, concurrency: Int = 4,
               retries: Int = 3) -> OpenAICompletionsModel {
        OpenAICompletionsModel(name: "fake", server: server(encoding, concurrency: concurrency, retries: retries),
                               rules: LMEvalRequestRules(tokenizer: fake.tokenizer, contextLength: 512), transport: fake)
    }

    let requests = [
        LoglikelihoodRequest(context: "Question: 2+2?\nAnswer:", continuation: " 4"),
        LoglikelihoodRequest(context: "Question: 2+2?\nAnswer:", continuation: " five"),
        LoglikelihoodRequest(context: "The sky is ", continuation: "blue"),
    ]

    /// What lm-eval computes from a correct server: the sum over continuation tokens of
    /// log p(token | everything before it), greedy when each is the argmax.
    func expected(_ r: LoglikelihoodRequest, rules: LMEvalRequestRules) -> (Double, Bool) {
        let pair = rules.encodePair(context: r.context, continuation: r.continuation)
        let ids = pair.context + pair.continuation
        var sum = 0.0, greedy = true
        for i in pair.context.count..<ids.count {
            let lp = FakeCompletionsServer.logprob(prefix: ids[..<i], token: ids[i])
            sum += lp
            if lp != FakeCompletionsServer.best(prefix: ids[..<i]).logprob { greedy = false }
        }
        return (sum, greedy)
    }

    func testLoglikelihoodIsTheSumOfEchoedContinuationLogprobs() throws {
        let fake = FakeCompletionsServer(tokenizer: try byteLevelTokenizer())
        let m = model(fake)
        let scored = try m.evaluate(loglikelihood: requests, generation: []).scored
        XCTAssertEqual(scored.count, 3)
        for (r, s) in zip(requests, scored) {
            let (sum, greedy) = expected(r, rules: m.rules)
            XCTAssertEqual(s.logLikelihood, sum, accuracy: 1e-12)
            XCTAssertEqual(s.isGreedy, greedy)
            let pair = m.rules.encodePair(context: r.context, continuation: r.continuation)
            XCTAssertEqual(s.contextTokens, pair.context.count)
            XCTAssertEqual(s.continuationTokens, pair.continuation.count)
        }
        // The probe (two requests) ran once, then one echo request per scoring request, as lm-eval sends it.
        XCTAssertEqual(fake.requestCount, 2 + 3)
        let last = fake.bodies.last!
        XCTAssertEqual(last["echo"] as? Bool, true)
        XCTAssertEqual(last["max_tokens"] as? Int, 1)
        XCTAssertEqual(last["logprobs"] as? Int, 1)
        XCTAssertEqual(last["temperature"] as? Double, 0)
        XCTAssertEqual(last["model"] as? String, "fake")
        _ = try m.evaluate(loglikelihood: requests, generation: [])
        XCTAssertEqual(fake.requestCount, 2 + 6, "the probe runs once per model")
    }

    func testGreedyFlagFollowsTopLogprobs() throws {
        let tokenizer = try byteLevelTokenizer()
        let fake = FakeCompletionsServer(tokenizer: tokenizer)
        let m = model(fake)
        // A continuation made of the model's own argmax tokens is greedy.
        let context = "Once upon a time"
        var ids = m.rules.encode(context)
        var greedyIds: [Int32] = []
        for _ in 0..<3 {
            let t = FakeCompletionsServer.best(prefix: ids[...]).token
            greedyIds.append(t)
            ids.append(t)
        }
        let continuation = tokenizer.decode(greedyIds)
        let r = LoglikelihoodRequest(context: context, continuation: continuation)
        XCTAssertEqual(m.rules.encodePair(context: context, continuation: continuation).continuation, greedyIds)
        XCTAssertTrue(try m.evaluate(loglikelihood: [r], generation: []).scored[0].isGreedy)
    }

    func testTextPromptsGiveTheSameScoresAsTokenPrompts() throws {
        let tokenizer = try byteLevelTokenizer()
        let byTokens = try model(FakeCompletionsServer(tokenizer: tokenizer)).evaluate(loglikelihood: requests, generation: []).scored
        let byText = try model(FakeCompletionsServer(tokenizer: tokenizer), .text).evaluate(loglikelihood: requests, generation: []).scored
        XCTAssertEqual(byTokens, byText)
    }

    func testAnswersDoNotDependOnConcurrency() throws {
        let tokenizer = try byteLevelTokenizer()
        let gen = [GenerationRequest(context: "Q: name a colour.\nA:", until: ["\n"], maxTokens: 12),
                   GenerationRequest(context: "Count: 1, 2,", until: [], maxTokens: 5)]
        let many = (0..<5).flatMap { k in requests.map { LoglikelihoodRequest(context: "\(k) " + $0.context, continuation: $0.continuation) } }
        let fake1 = FakeCompletionsServer(tokenizer: tokenizer)
        let serial = try model(fake1, concurrency: 1).evaluate(loglikelihood: many, generation: gen)
        XCTAssertEqual(fake1.maxInFlight, 1)
        let fake8 = FakeCompletionsServer(tokenizer: tokenizer)
        let parallel = try model(fake8, concurrency: 8).evaluate(loglikelihood: many, generation: gen)
        XCTAssertLessThanOrEqual(fake8.maxInFlight, 8)
        XCTAssertEqual(serial.scored, parallel.scored)
        XCTAssertEqual(serial.generated, parallel.generated)
    }

    func testShiftedEchoLogprobsAreRefused() throws {
        let fake = FakeCompletionsServer(tokenizer: try byteLevelTokenizer(), fault: .shiftedEcho)
        XCTAssertThrowsError(try model(fake).evaluate(loglikelihood: requests, generation: [])) { error in
            guard case OpenAIBackendError.misalignedPromptLogprobs = error else { return XCTFail("\(error)") }
            XCTAssertTrue(error.localizedDescription.contains("llama_cpp_server.py --fix-echo-logprobs"), error.localizedDescription)
        }
    }

    func testServerWithoutPromptLogprobsStillGenerates() throws {
        let fake = FakeCompletionsServer(tokenizer: try byteLevelTokenizer(), fault: .noPromptLogprobs)
        let m = model(fake)
        XCTAssertThrowsError(try m.evaluate(loglikelihood: requests, generation: [])) { error in
            guard case OpenAIBackendError.noPromptLogprobs = error else { return XCTFail("\(error)") }
        }
        let g = try m.evaluate(loglikelihood: [], generation: [GenerationRequest(context: "Hi", until: [], maxTokens: 4)])
        XCTAssertEqual(g.generated.count, 1)
    }

    func testAServerThatRefusesEchoIsReportedAsLackingPromptLogprobs() throws {
        let fake = FakeCompletionsServer(tokenizer: try byteLevelTokenizer(), fault: .noEcho)
        XCTAssertThrowsError(try model(fake).evaluate(loglikelihood: requests, generation: [])) { error in
            guard case OpenAIBackendError.noPromptLogprobs = error else { return XCTFail("\(error)") }
            XCTAssertTrue(error.localizedDescription.contains("Only no echo is supported"), error.localizedDescription)
        }
        XCTAssertEqual(try model(fake).evaluate(loglikelihood: [], generation: [GenerationRequest(context: "Hi", until: [], maxTokens: 2)]).generated.count, 1)
    }

    func testGenerationSendsBudgetAndStopsAndCutsTheText() throws {
        let tokenizer = try byteLevelTokenizer()
        let fake = FakeCompletionsServer(tokenizer: tokenizer)
        let m = model(fake)
        let context = "Q: what is next?\nA:"
        let r = GenerationRequest(context: context, until: ["Q:", ""], maxTokens: 20)
        let g = try m.evaluate(loglikelihood: [], generation: [r]).generated[0]
        let body = fake.bodies.last!
        XCTAssertEqual(body["max_tokens"] as? Int, 20)
        XCTAssertEqual(body["stop"] as? [String], ["Q:"], "empty stop strings are not sent")
        XCTAssertEqual(body["temperature"] as? Double, 0)
        XCTAssertEqual(body["prompt"] as? [Int], m.rules.encode(context).map(Int.init))
        // What the made-up model generates greedily, cut at the stop string.
        var ids = m.rules.encode(context), out: [Int32] = []
        for _ in 0..<20 {
            let t = FakeCompletionsServer.best(prefix: ids[...]).token
            out.append(t)
            ids.append(t)
        }
        XCTAssertEqual(g.text, LMEvalRequestRules.cut(tokenizer.decode(out), at: ["Q:"]))
        XCTAssertEqual(g.promptTokens, m.rules.encode(context).count)
        XCTAssertEqual(g.generatedTokens, 20)
    }

    func testLongPromptsAreLeftTruncatedAsLmEvalDoes() throws {
        let tokenizer = try byteLevelTokenizer()
        let fake = FakeCompletionsServer(tokenizer: tokenizer)
        let m = OpenAICompletionsModel(name: "fake", server: server(), rules: LMEvalRequestRules(tokenizer: tokenizer, contextLength: 64),
                                       transport: fake)
        // 60 prompt tokens and 8 to generate do not fit 64: the prompt keeps its last 56, as lm-eval's.
        let context = String(repeating: "abcdefgh", count: 7) + "abcd"
        XCTAssertEqual(m.rules.encode(context).count, 60)
        _ = try m.evaluate(loglikelihood: [], generation: [GenerationRequest(context: context, until: [], maxTokens: 8)])
        let sent = fake.bodies.last!["prompt"] as! [Int]
        XCTAssertEqual(sent, m.rules.encode(context).suffix(56).map(Int.init))
        // Prompts the context cannot hold are refused before anything is sent, as the native engine refuses them.
        let long = String(repeating: "abcdefgh", count: 20)
        let sentBefore = fake.requestCount
        XCTAssertThrowsError(try m.evaluate(loglikelihood: [LoglikelihoodRequest(context: long, continuation: "x")], generation: [])) {
            XCTAssertEqual($0 as? EngineError, .tooLong(tokens: 161, limit: 64))
        }
        XCTAssertEqual(fake.requestCount, sentBefore)
    }

    func testConnectionErrorsAndBusyAnswersAreRetried() throws {
        let fake = FakeCompletionsServer(tokenizer: try byteLevelTokenizer(), failures: 2, busyAnswers: 1)
        let g = try model(fake, concurrency: 1, retries: 3).evaluate(loglikelihood: [], generation: [GenerationRequest(context: "Hi", until: [], maxTokens: 3)])
        XCTAssertEqual(g.generated.count, 1)
        XCTAssertEqual(fake.requestCount, 4)
    }

    func testAServerThatStaysDownEndsTheRunWithAClearMessage() throws {
        let fake = FakeCompletionsServer(tokenizer: try byteLevelTokenizer(), failures: 100)
        XCTAssertThrowsError(try model(fake, retries: 2).evaluate(loglikelihood: [], generation: [GenerationRequest(context: "Hi", until: [], maxTokens: 3)])) { error in
            guard case let OpenAIBackendError.unreachable(url, attempts, _) = error else { return XCTFail("\(error)") }
            XCTAssertEqual(url, "http://127.0.0.1:9/v1/completions")
            XCTAssertEqual(attempts, 3)
            XCTAssertTrue(error.localizedDescription.contains("rerun the same command to resume"))
        }
    }

    func testTokenPromptsRefusedSuggestTextEncoding() throws {
        let fake = FakeCompletionsServer(tokenizer: try byteLevelTokenizer(), fault: .textOnly)
        XCTAssertThrowsError(try model(fake).evaluate(loglikelihood: [], generation: [GenerationRequest(context: "Hi", until: [], maxTokens: 3)])) { error in
            guard case OpenAIBackendError.tokenPromptsRefused(_, 422, _) = error else { return XCTFail("\(error)") }
            XCTAssertTrue(error.localizedDescription.contains("--prompt-encoding text"))
        }
        XCTAssertNoThrow(try model(FakeCompletionsServer(tokenizer: try byteLevelTokenizer(), fault: .textOnly), .text)
            .evaluate(loglikelihood: requests, generation: []))
        // llama-cpp-python's way: a 500 that no retry can cure is not retried; its traceback is left out.
        let llamaCpp = FakeCompletionsServer(tokenizer: try byteLevelTokenizer(), fault: .textOnlyWith500)
        XCTAssertThrowsError(try model(llamaCpp, retries: 5).evaluate(loglikelihood: [], generation: [GenerationRequest(context: "Hi", until: [], maxTokens: 3)])) { error in
            guard case OpenAIBackendError.tokenPromptsRefused(_, 500, let message) = error else { return XCTFail("\(error)") }
            XCTAssertFalse(message.contains("app.py"), message)
            XCTAssertTrue(error.localizedDescription.contains("--prompt-encoding text"))
        }
        XCTAssertEqual(llamaCpp.requestCount, 1)
    }

    func testBaseURLParsing() throws {
        XCTAssertEqual(try OpenAIServer.parseBaseURL("http://127.0.0.1:8000/v1/").absoluteString, "http://127.0.0.1:8000/v1")
        XCTAssertThrowsError(try OpenAIServer.parseBaseURL("127.0.0.1:8000"))
        XCTAssertThrowsError(try OpenAIServer.parseBaseURL("ftp://host/v1"))
        let s = OpenAIServer(baseURL: URL(string: "http://example.org:8080/v1")!, servedModel: "m", apiKey: "secret")
        XCTAssertEqual(s.hostDescription, "example.org:8080")
    }
}
