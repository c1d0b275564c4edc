import Benchmarks
import Engine
import Foundation
import XCTest
@testable import Serving

/// The API on the test double, called without a socket: schema, model names, every refusal.
final class CompletionServiceTests: XCTestCase {
    var engine: FakeCompletionEngine!
    var service: CompletionService!

    override func setUpWithError() throws {
        engine = try FakeCompletionEngine()
        service = makeService(engine)
    }

    override func tearDown() { service.stop() }

    func makeService(_ engine: FakeCompletionEngine, apiKey: String? = nil, queue: Int = 256, routers: Bool = true) -> CompletionService {
        CompletionService(engine: engine, routers: routers ? AlwaysExecute() : nil, chatTemplate: ChatMLTemplate.smolLM2,
                          settings: .init(apiKey: apiKey, maxBodyBytes: 4096, queueCapacity: queue))
    }

    func post(_ path: String, _ json: String, service: CompletionService? = nil, auth: String? = nil) async -> (Int, [String: Any]) {
        await postJSON(service ?? self.service, path, json, auth: auth)
    }

    func errorCode(_ object: [String: Any]) -> String? { (object["error"] as? [String: Any])?["code"] as? String }

    func testACompletionAnswersInOpenAIShapeWithThePathItRan() async throws {
        let (status, body) = await post("/v1/completions", #"{"model":"fake","prompt":"abc","max_tokens":3}"#)
        XCTAssertEqual(status, 200)
        XCTAssertEqual(body["object"] as? String, "text_completion")
        XCTAssertEqual(body["model"] as? String, "fake")
        let choice = try XCTUnwrap((body["choices"] as? [[String: Any]])?.first)
        XCTAssertEqual(choice["text"] as? String, "def")
        XCTAssertEqual(choice["finish_reason"] as? String, "length")
        XCTAssertTrue(choice["logprobs"] is NSNull)
        let drllm = try XCTUnwrap(choice["drllm"] as? [String: Any])
        XCTAssertEqual(drllm["path"] as? [Int], [0, 1, 2, 3])
        XCTAssertEqual(drllm["block_applications"] as? Int, 12)
        let usage = try XCTUnwrap(body["usage"] as? [String: Int])
        XCTAssertEqual(usage, ["prompt_tokens": 3, "completion_tokens": 3, "total_tokens": 6])
        XCTAssertEqual((body["drllm"] as? [String: Any])?["policy"] as? String, "full")
    }

    func testEchoWithLogprobsGivesEveryPromptTokenAndTheGeneratedOneAsLMEvalReadsThem() async throws {
        let (status, body) = await post("/v1/completions",
                                        #"{"model":"fake","prompt":[[97,98,99,100]],"max_tokens":1,"echo":true,"logprobs":2,"temperature":0,"seed":1234}"#)
        XCTAssertEqual(status, 200)
        let choice = try XCTUnwrap((body["choices"] as? [[String: Any]])?.first)
        XCTAssertEqual(choice["text"] as? String, "abcde")
        let logprobs = try XCTUnwrap(choice["logprobs"] as? [String: Any])
        XCTAssertEqual(logprobs["tokens"] as? [String], ["a", "b", "c", "d", "e"])
        let values = try XCTUnwrap(logprobs["token_logprobs"] as? [Any])
        XCTAssertTrue(values[0] is NSNull, "the first prompt token has no log-probability")
        XCTAssertEqual(values.dropFirst().map { $0 as? Double }, [-0.1, -0.2, -0.3, -0.4])
        let top = try XCTUnwrap(logprobs["top_logprobs"] as? [Any])
        XCTAssertTrue(top[0] is NSNull)
        XCTAssertEqual((top[1] as? [String: Double])?.count, 2)
        XCTAssertEqual(logprobs["text_offset"] as? [Int], [0, 1, 2, 3, 4])
        // lm-eval's parse_logprobs: sum(token_logprobs[ctxlen:-1]).
        let ctxlen = 2
        XCTAssertEqual(values[ctxlen..<(values.count - 1)].compactMap { $0 as? Double }.reduce(0, +), -0.5, accuracy: 1e-12)
    }

    func testSeveralPromptsGiveIndexedChoicesInOrder() async throws {
        let (status, body) = await post("/v1/completions", #"{"model":"fake","prompt":["ab",[120,121]],"max_tokens":1}"#)
        XCTAssertEqual(status, 200)
        let choices = try XCTUnwrap(body["choices"] as? [[String: Any]])
        XCTAssertEqual(choices.map { $0["index"] as? Int }, [0, 1])
        XCTAssertEqual(choices.map { $0["text"] as? String }, ["c", "z"])
    }

    func testStopStringsCutTheTextAndEndWithStop() async throws {
        let (_, body) = await post("/v1/completions", #"{"model":"fake","prompt":"a","max_tokens":10,"stop":["d"]}"#)
        let choice = try XCTUnwrap((body["choices"] as? [[String: Any]])?.first)
        XCTAssertEqual(choice["text"] as? String, "bc")
        XCTAssertEqual(choice["finish_reason"] as? String, "stop")
    }

    func testTheModelNamePicksTheLayers() async throws {
        var (status, body) = await post("/v1/completions", #"{"model":"fake:path=0,1,1,3","prompt":"a","max_tokens":1}"#)
        XCTAssertEqual(status, 200)
        XCTAssertEqual(((body["choices"] as? [[String: Any]])?.first?["drllm"] as? [String: Any])?["path"] as? [Int], [0, 1, 1, 3])
        (status, body) = await post("/v1/completions", #"{"model":"fake:routed","prompt":"a","max_tokens":1}"#)
        XCTAssertEqual(status, 200)
        XCTAssertEqual((body["drllm"] as? [String: Any])?["policy"] as? String, "routed")
        (status, body) = await post("/v1/completions", #"{"model":"fake:path=3,1","prompt":"a"}"#)
        XCTAssertEqual(status, 400)
        XCTAssertEqual(errorCode(body), "invalid_path")
        (status, body) = await post("/v1/completions", #"{"model":"gpt-4","prompt":"a"}"#)
        XCTAssertEqual(status, 404)
        XCTAssertEqual(errorCode(body), "model_not_found")
        let plain = makeService(engine, routers: false)
        defer { plain.stop() }
        (status, body) = await post("/v1/completions", #"{"model":"fake:routed","prompt":"a"}"#, service: plain)
        XCTAssertEqual(status, 400)
        XCTAssertTrue(((body["error"] as? [String: Any])?["message"] as? String ?? "").contains("without routers"))
    }

    func testModelsAndHealth() async throws {
        let models = await service.handle(method: "GET", path: "/v1/models", authorization: nil, body: Data())
        let ids = ((try JSONSerialization.jsonObject(with: models.body) as? [String: Any])?["data"] as? [[String: Any]])?.map { $0["id"] as? String }
        XCTAssertEqual(ids, ["fake", "fake:routed"])
        let health = await service.handle(method: "GET", path: "/health", authorization: nil, body: Data())
        XCTAssertEqual(health.status, 200)
    }

    func testChatCompletionsUseTheModelsTemplate() async throws {
        let (status, body) = await post("/v1/chat/completions",
                                        #"{"model":"fake","messages":[{"role":"user","content":"hi"}],"max_tokens":2,"logprobs":true,"top_logprobs":1}"#)
        XCTAssertEqual(status, 200)
        XCTAssertEqual(body["object"] as? String, "chat.completion")
        let choice = try XCTUnwrap((body["choices"] as? [[String: Any]])?.first)
        let rendered = ChatMLTemplate.smolLM2.render([ChatMessage(role: .user, content: "hi")], addGenerationPrompt: true)
        XCTAssertEqual((body["usage"] as? [String: Int])?["prompt_tokens"], Array(rendered.utf8).count)
        XCTAssertEqual((choice["message"] as? [String: Any])?["role"] as? String, "assistant")
        XCTAssertEqual(((choice["logprobs"] as? [String: Any])?["content"] as? [Any])?.count, 2)
    }

    /// Every refusal is an OpenAI-style error with the right status, naming what was wrong.
    func testBadInputGetsAClearErrorAndTheRightStatus() async throws {
        let cases: [(String, String, Int, String)] = [
            ("/v1/completions", #"{"model":"fake","prompt":"a""#, 400, "not valid JSON"),
            ("/v1/completions", #"[1,2]"#, 400, "must be a JSON object"),
            ("/v1/completions", #"{"prompt":"a"}"#, 400, "'model' is required"),
            ("/v1/completions", #"{"model":"fake"}"#, 400, "'prompt' is required"),
            ("/v1/completions", #"{"model":"fake","prompt":5}"#, 400, "'prompt' must be"),
            ("/v1/completions", #"{"model":"fake","prompt":[]}"#, 400, "empty array"),
            ("/v1/completions", #"{"model":"fake","prompt":[1,"a"]}"#, 400, "'prompt[1]' must be a token id"),
            ("/v1/completions", #"{"model":"fake","prompt":[99999]}"#, 400, "outside the vocabulary"),
            ("/v1/completions", #"{"model":"fake","prompt":[-1]}"#, 400, "not a token id"),
            ("/v1/completions", #"{"model":"fake","prompt":"a","max_tokens":"8"}"#, 400, "'max_tokens' must be an integer"),
            ("/v1/completions", #"{"model":"fake","prompt":"a","max_tokens":-1}"#, 400, "'max_tokens' = -1"),
            ("/v1/completions", #"{"model":"fake","prompt":"a","max_tokens":512}"#, 400, "maximum context length is 512"),
            ("/v1/completions", #"{"model":"fake","prompt":"a","echo":1}"#, 400, "'echo' must be a boolean"),
            ("/v1/completions", #"{"model":"fake","prompt":"a","logprobs":50}"#, 400, "'logprobs' = 50"),
            ("/v1/completions", #"{"model":"fake","prompt":"a","temperature":0.7}"#, 400, "decodes greedily"),
            ("/v1/completions", #"{"model":"fake","prompt":"a","n":2}"#, 400, "one choice"),
            ("/v1/completions", #"{"model":"fake","prompt":"a","stream":true}"#, 400, "'stream'"),
            ("/v1/completions", #"{"model":"fake","prompt":"a","top_p":0.9}"#, 400, "'top_p'"),
            ("/v1/completions", #"{"model":"fake","prompt":"a","stop":[1]}"#, 400, "'stop[0]' must be a string"),
            ("/v1/completions", #"{"model":"fake","prompt":"a","logit_bias":{"1":5}}"#, 400, "'logit_bias'"),
            ("/v1/chat/completions", #"{"model":"fake","messages":[{"role":"tool","content":"x"}]}"#, 400, "'messages[0].role' is 'tool'"),
            ("/v1/chat/completions", #"{"model":"fake","messages":"hi"}"#, 400, "'messages' must be an array"),
            ("/v1/embeddings", #"{}"#, 404, "no route"),
        ]
        for (path, json, status, message) in cases {
            let (got, body) = await post(path, json)
            XCTAssertEqual(got, status, json)
            let text = (body["error"] as? [String: Any])?["message"] as? String ?? ""
            XCTAssertTrue(text.contains(message), "\(json): \(text)")
            XCTAssertNotNil((body["error"] as? [String: Any])?["type"] as? String)
        }
        let get = await service.handle(method: "GET", path: "/v1/completions", authorization: nil, body: Data())
        XCTAssertEqual(get.status, 405)
        let large = await service.handle(method: "POST", path: "/v1/completions", authorization: nil,
                                         body: Data(repeating: 0x20, count: 5000))
        XCTAssertEqual(large.status, 413)
        XCTAssertEqual(engine.calls, [], "no refused request reached the engine")
    }

    func testWithAnAPIKeyOnlyTheBearerTokenGetsIn() async throws {
        let locked = makeService(engine, apiKey: "sesame")
        defer { locked.stop() }
        let json = #"{"model":"fake","prompt":"a","max_tokens":1}"#
        var (status, body) = await post("/v1/completions", json, service: locked)
        XCTAssertEqual(status, 401)
        XCTAssertEqual(errorCode(body), "invalid_api_key")
        (status, _) = await post("/v1/completions", json, service: locked, auth: "Bearer wrong")
        XCTAssertEqual(status, 401)
        (status, _) = await post("/v1/completions", json, service: locked, auth: "Bearer sesame")
        XCTAssertEqual(status, 200)
        let models = await locked.handle(method: "GET", path: "/v1/models", authorization: nil, body: Data())
        XCTAssertEqual(models.status, 401)
        let health = await locked.handle(method: "GET", path: "/health", authorization: nil, body: Data())
        XCTAssertEqual(health.status, 200, "health stays open for load balancers")
    }

    /// Requests that wait while the engine is busy run together in its next call, with the same
    /// answers as alone; a full queue answers 429 and the server goes on.
    func testWaitingRequestsAreBatchedAndAFullQueueAnswers429() async throws {
        engine.delay = 0.3
        let busy = makeService(engine, queue: 3)
        defer { busy.stop() }
        let statuses = await withTaskGroup(of: (Int, String?).self) { group in
            for i in 0..<8 {
                group.addTask {
                    if i > 0 { try? await Task.sleep(nanoseconds: 50_000_000) }
                    let (status, body) = await postJSON(busy, "/v1/completions", #"{"model":"fake","prompt":"\#(i)","max_tokens":2}"#)
                    return (status, (body["choices"] as? [[String: Any]])?.first?["text"] as? String)
                }
            }
            var all: [(Int, String?)] = []
            for await s in group { all.append(s) }
            return all
        }
        let ok = statuses.filter { $0.0 == 200 }
        XCTAssertEqual(ok.count + statuses.filter { $0.0 == 429 }.count, 8)
        XCTAssertGreaterThanOrEqual(statuses.filter { $0.0 == 429 }.count, 1, "\(statuses)")
        XCTAssertGreaterThanOrEqual(ok.count, 4)
        XCTAssertTrue(engine.calls.contains { $0 > 1 }, "waiting requests share an engine call: \(engine.calls)")
        for (_, text) in ok {
            let t = try XCTUnwrap(text)
            XCTAssertEqual(t.count, 2)
        }
        engine.delay = 0
        let (status, _) = await post("/v1/completions", #"{"model":"fake","prompt":"a","max_tokens":1}"#, service: busy)
        XCTAssertEqual(status, 200)
        XCTAssertGreaterThan(busy.scheduler.currentStatistics.refusedQueueFull, 0)
    }
}

/// POSTs `json` to the service (no socket) and parses the answer.
func postJSON(_ service: CompletionService, _ path: String, _ json: String, auth: String? = nil) async -> (Int, [String: Any]) {
    let reply = await service.handle(method: "POST", path: path, authorization: auth, body: Data(json.utf8))
    let object = (try? JSONSerialization.jsonObject(with: reply.body)) as? [String: Any] ?? [:]
    return (reply.status, object)
}

/// Routers that execute every block (the fake engine ignores them anyway).
struct AlwaysExecute: PathDecider {
    func decide(layer: Int, hidden: UnsafeBufferPointer<Float>, tokens: Int, width: Int) -> Int { 1 }
}
