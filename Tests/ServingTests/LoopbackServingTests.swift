import Benchmarks
import Engine
import Foundation
import OpenAIBackend
import Routing
import XCTest
@testable import Serving

/// A running server on a free loopback port, stopped by `stop()`.
final class RunningServer: @unchecked Sendable {
    let service: CompletionService
    private var task: Task<Void, Never>?
    private(set) var port = 0

    init(_ service: CompletionService) throws {
        self.service = service
        let ready = DispatchSemaphore(value: 0)
        let box = PortBox()
        task = Task.detached {
            try? await CompletionHTTPServer(service: service, host: "127.0.0.1", port: 0).run(logLevel: .critical) { port in
                box.port = port
                ready.signal()
            }
        }
        guard ready.wait(timeout: .now() + 30) == .success else { throw CocoaError(.featureUnsupported) }
        port = box.port
    }

    var baseURL: URL { URL(string: "http://127.0.0.1:\(port)/v1")! }

    func stop() {
        task?.cancel()
        task = nil
        service.stop()
    }
}

private final class PortBox: @unchecked Sendable { var port = 0 }

/// A minimal HTTP/1.1 exchange over a POSIX socket: what a client sends, byte for byte.
enum RawHTTP {
    static func connect(port: Int) throws -> Int32 {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let status = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Foundation.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard status == 0 else { close(fd); throw CocoaError(.fileReadNoPermission) }
        return fd
    }

    static func send(_ fd: Int32, _ bytes: [UInt8]) {
        var sent = 0
        while sent < bytes.count {
            let n = bytes[sent...].withUnsafeBytes { write(fd, $0.baseAddress!, $0.count) }
            if n <= 0 { return }
            sent += n
        }
    }

    /// Sends one request with `Connection: close` and reads the whole answer.
    static func request(port: Int, method: String, path: String, headers: [String: String] = [:], body: Data = Data()) throws -> (Int, Data) {
        let fd = try connect(port: port)
        defer { close(fd) }
        var head = "\(method) \(path) HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\nContent-Length: \(body.count)\r\n"
        if !body.isEmpty { head += "Content-Type: application/json\r\n" }
        for (k, v) in headers { head += "\(k): \(v)\r\n" }
        send(fd, Array((head + "\r\n").utf8) + Array(body))
        var answer: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = read(fd, &buffer, buffer.count)
            if n <= 0 { break }
            answer += buffer[0..<n]
        }
        let text = String(decoding: answer, as: UTF8.self)
        guard let split = text.range(of: "\r\n\r\n"), let status = Int(text.split(separator: " ").dropFirst().first ?? "") else {
            return (0, Data())
        }
        return (status, Data(text[split.upperBound...].utf8))
    }
}

/// The server on a real loopback socket: the double engine for the HTTP behaviour, the real
/// model for the numbers (through this project's own OpenAI client, as lm-eval reaches it).
final class LoopbackServingTests: XCTestCase {
    func testTheEndpointsAnswerOverHTTPAndBadRequestsGetJSONErrors() throws {
        let engine = try FakeCompletionEngine()
        let server = try RunningServer(CompletionService(engine: engine, routers: nil, chatTemplate: ChatMLTemplate.smolLM2,
                                                         settings: .init(apiKey: "sesame", maxBodyBytes: 4096)))
        defer { server.stop() }
        let auth = ["Authorization": "Bearer sesame"]
        var (status, body) = try RawHTTP.request(port: server.port, method: "GET", path: "/health")
        XCTAssertEqual(status, 200)
        XCTAssertEqual((try JSONSerialization.jsonObject(with: body) as? [String: Any])?["status"] as? String, "ok")
        (status, body) = try RawHTTP.request(port: server.port, method: "GET", path: "/v1/models", headers: auth)
        XCTAssertEqual(status, 200)
        (status, body) = try RawHTTP.request(port: server.port, method: "POST", path: "/v1/completions", headers: auth,
                                             body: Data(#"{"model":"fake","prompt":"abc","max_tokens":2}"#.utf8))
        XCTAssertEqual(status, 200)
        let choice = ((try JSONSerialization.jsonObject(with: body) as? [String: Any])?["choices"] as? [[String: Any]])?.first
        XCTAssertEqual(choice?["text"] as? String, "de")
        (status, body) = try RawHTTP.request(port: server.port, method: "POST", path: "/v1/completions",
                                             body: Data(#"{"model":"fake","prompt":"abc"}"#.utf8))
        XCTAssertEqual(status, 401)
        XCTAssertNotNil((try JSONSerialization.jsonObject(with: body) as? [String: Any])?["error"])
        (status, body) = try RawHTTP.request(port: server.port, method: "POST", path: "/v1/completions", headers: auth,
                                             body: Data(repeating: 0x7b, count: 100_000))
        XCTAssertEqual(status, 413)
        (status, body) = try RawHTTP.request(port: server.port, method: "POST", path: "/v1/completions", headers: auth,
                                             body: Data("{not json".utf8))
        XCTAssertEqual(status, 400)
        XCTAssertTrue(String(decoding: body, as: UTF8.self).contains("not valid JSON"))
        (status, _) = try RawHTTP.request(port: server.port, method: "GET", path: "/nowhere", headers: auth)
        XCTAssertEqual(status, 404)
    }

    func testAClientThatDisconnectsMidGenerationLeavesTheServerAnswering() throws {
        let engine = try FakeCompletionEngine()
        engine.delay = 0.5
        let server = try RunningServer(CompletionService(engine: engine, routers: nil, chatTemplate: ChatMLTemplate.smolLM2, settings: .init()))
        defer { server.stop() }
        for _ in 0..<3 {
            let fd = try RawHTTP.connect(port: server.port)
            let body = #"{"model":"fake","prompt":"abc","max_tokens":100}"#
            RawHTTP.send(fd, Array("POST /v1/completions HTTP/1.1\r\nHost: x\r\nContent-Length: \(body.utf8.count)\r\n\r\n\(body)".utf8))
            close(fd)
        }
        // Half a request, then gone.
        let fd = try RawHTTP.connect(port: server.port)
        RawHTTP.send(fd, Array("POST /v1/completions HTTP/1.1\r\nHost: x\r\nContent-Length: 500\r\n\r\n{\"model\":".utf8))
        close(fd)
        engine.delay = 0
        let (status, _) = try RawHTTP.request(port: server.port, method: "POST", path: "/v1/completions",
                                              body: Data(#"{"model":"fake","prompt":"abc","max_tokens":1}"#.utf8))
        XCTAssertEqual(status, 200)
    }

    // MARK: - The real model

    static let repoRoot: URL = {
        var u = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        while !FileManager.default.fileExists(atPath: u.appendingPathComponent("Package.swift").path) { u = u.deletingLastPathComponent() }
        return u
    }()

    func realModel(threads: Int = 2) throws -> TransformerModel {
        let path = Self.repoRoot.appendingPathComponent("models/SmolLM2-135M-Instruct.Q4_1.gguf").path
        guard FileManager.default.fileExists(atPath: path) else { throw XCTSkip("model not installed: run scripts/setup.sh") }
        return try TransformerModel(path: path, name: "smollm2-135m-instruct", threads: threads)
    }

    /// lm-eval's local-completions requests (this project's client makes them the same way)
    /// against `bench serve` give the engine's own log-likelihoods, greedy flags and generations.
    func testLMEvalStyleRequestsThroughTheServerGiveTheEnginesNumbers() throws {
        let served = try realModel()
        let direct = try realModel()
        let server = try RunningServer(CompletionService(engine: served, routers: nil, chatTemplate: ChatMLTemplate.smolLM2, settings: .init()))
        defer { server.stop() }
        let client = OpenAICompletionsModel(
            name: "smollm2-135m-instruct",
            server: OpenAIServer(baseURL: server.baseURL, servedModel: "smollm2-135m-instruct", concurrency: 4, retries: 0),
            rules: direct.requestRules)
        let scoring = [
            LoglikelihoodRequest(context: "Question: Which gas do plants take in?\nAnswer:", continuation: " carbon dioxide"),
            LoglikelihoodRequest(context: "Question: Which gas do plants take in?\nAnswer:", continuation: " oxygen"),
            LoglikelihoodRequest(context: "The capital of France is", continuation: " Paris"),
            LoglikelihoodRequest(context: "2 + 2 =", continuation: " 4"),
        ]
        let generating = [GenerationRequest(context: "Question: What is 3 + 4?\nAnswer:", until: ["\n\n", "Question:"], maxTokens: 24)]
        let viaServer = try client.evaluate(loglikelihood: scoring, generation: generating)
        let native = try direct.evaluate(loglikelihood: scoring, generation: generating, policy: .full)
        for (s, n) in zip(viaServer.scored, native.scored) {
            XCTAssertEqual(s.logLikelihood, n.logLikelihood, accuracy: 1e-4)
            XCTAssertEqual(s.isGreedy, n.isGreedy)
        }
        XCTAssertEqual(viaServer.generated.map(\.text), native.generated.map(\.text))
        // lm-eval sums token_logprobs[ctxlen:-1]: the last entry must be the generated token even
        // when the model ends its turn there (this prompt's greedy continuation is <|im_end|>).
        let context = "Question: Which piece of safety equipment is used to keep mold spores from entering the respiratory system?\nAnswer:"
        let ids = direct.encode(context + " breathing mask")
        let body = try JSONSerialization.data(withJSONObject: ["model": "smollm2-135m-instruct", "prompt": ids.map(Int.init),
                                                               "max_tokens": 1, "echo": true, "logprobs": 1])
        let (status, answer) = try RawHTTP.request(port: server.port, method: "POST", path: "/v1/completions", body: body)
        XCTAssertEqual(status, 200)
        let choice = ((try JSONSerialization.jsonObject(with: answer) as? [String: Any])?["choices"] as? [[String: Any]])?.first
        let logprobs = try XCTUnwrap(choice?["logprobs"] as? [String: Any])
        let values = try XCTUnwrap(logprobs["token_logprobs"] as? [Any])
        XCTAssertEqual(values.count, ids.count + 1)
        let ctxlen = direct.encode(context).count
        let lmEvalSum = values[ctxlen..<(values.count - 1)].compactMap { $0 as? Double }.reduce(0, +)
        let native2 = try direct.loglikelihood([LoglikelihoodRequest(context: context, continuation: " breathing mask")], policy: .full)[0]
        XCTAssertEqual(lmEvalSum, native2.logLikelihood, accuracy: 1e-4)
    }

    /// 32 clients × 50 requests at once, mixing log-likelihood and generation requests and the
    /// three kinds of layer policy: every answer is the one the same request got alone, none is lost.
    func testUnderLoadEveryAnswerEqualsTheSerialAnswer() async throws {
        let model = try realModel(threads: 1)
        let routerFile = Self.repoRoot.appendingPathComponent("routers/smollm2-135m-instruct.routers").path
        let routers = FileManager.default.fileExists(atPath: routerFile) ? try RouterSet.load(from: routerFile) : nil
        let server = try RunningServer(CompletionService(engine: model, routers: routers, chatTemplate: ChatMLTemplate.smolLM2,
                                                         settings: .init(queueCapacity: 4096)))
        defer { server.stop() }
        let words = ["cat", "river", "seven", "blue", "Paris", "quickly", "engine", "apple", "storm", "north"]
        let models = ["smollm2-135m-instruct", routers == nil ? "smollm2-135m-instruct" : "smollm2-135m-instruct:routed",
                      "smollm2-135m-instruct:path=0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,28"]
        let distinct: [String] = (0..<50).map { i in
            // Short prompts (up to 8 tokens take the engine's quantised kernels): the test is about
            // the server, so each request is cheap.
            let prompt = "\(words[i % 10]) \(words[(i / 10 + 3) % 10])"
            let model = models[i % 3]
            return i % 2 == 0
                ? #"{"model":"\#(model)","prompt":"\#(prompt)","max_tokens":1,"echo":true,"logprobs":1,"temperature":0}"#
                : #"{"model":"\#(model)","prompt":"\#(prompt)","max_tokens":3,"stop":["\n"]}"#
        }
        let transport = AsyncHTTPTransport()
        let url = server.baseURL.appendingPathComponent("completions")
        @Sendable func choices(_ json: String) async throws -> String {
            let answer = try await transport.post(url, json: Data(json.utf8), headers: [("Content-Type", "application/json")], timeoutSeconds: 120)
            guard answer.status == 200, let object = try JSONSerialization.jsonObject(with: answer.body) as? [String: Any],
                  let choices = object["choices"] else { return "HTTP \(answer.status): \(String(decoding: answer.body, as: UTF8.self))" }
            return String(decoding: try JSONSerialization.data(withJSONObject: choices, options: [.sortedKeys]), as: UTF8.self)
        }
        var serial: [String] = []
        let serialStart = Date()
        for json in distinct { serial.append(try await choices(json)) }
        print("load test: 50 distinct requests one at a time in \(String(format: "%.1f", Date().timeIntervalSince(serialStart))) s")
        XCTAssertFalse(serial.contains { $0.hasPrefix("HTTP") }, serial.first { $0.hasPrefix("HTTP") } ?? "")
        let start = Date()
        let answers = try await withThrowingTaskGroup(of: [(Int, String)].self) { group in
            for client in 0..<32 {
                group.addTask {
                    var mine: [(Int, String)] = []
                    for j in 0..<50 {
                        let which = (client * 7 + j) % 50
                        mine.append((which, try await choices(distinct[which])))
                    }
                    return mine
                }
            }
            var all: [(Int, String)] = []
            for try await part in group { all += part }
            return all
        }
        XCTAssertEqual(answers.count, 32 * 50, "no answer lost")
        let different = answers.filter { serial[$0.0] != $0.1 }
        XCTAssertEqual(different.count, 0, "first difference: \(different.first.map { "\($0.1.prefix(300)) vs \(serial[$0.0].prefix(300))" } ?? "")")
        XCTAssertLessThan(Date().timeIntervalSince(start), 300, "the load test is bounded in time")
        let health = try RawHTTP.request(port: server.port, method: "GET", path: "/health")
        let stats = try JSONSerialization.jsonObject(with: health.1) as? [String: Any]
        XCTAssertGreaterThan(stats?["largest_batch"] as? Int ?? 0, 1, "concurrent requests were batched: \(stats ?? [:])")
        print("load test: 1,600 requests in \(String(format: "%.1f", Date().timeIntervalSince(start))) s; \(stats ?? [:])")
    }
}
