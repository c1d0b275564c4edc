import Engine
import Foundation
import XCTest
@testable import OpenAIBackend
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A minimal HTTP/1.1 server on a loopback port (plain sockets, one thread per connection,
/// `Connection: close`) that answers with `handler`: enough to drive the real `AsyncHTTPTransport`
/// end to end without any server package.
final class LoopbackHTTPServer: @unchecked Sendable {
    typealias Handler = @Sendable (_ path: String, _ headers: [String: String], _ body: Data) async -> HTTPAnswer
    let port: Int
    private let listener: Int32
    private let handler: Handler

    init(handler: @escaping Handler) throws {
        self.handler = handler
        let listener = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard listener >= 0 else { throw POSIXError(.EIO) }
        var yes: Int32 = 1
        setsockopt(listener, SOL_SOCKET, SO_REUSEADDR, &yes, socklen_t(MemoryLayout<Int32>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(listener, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard bound == 0, listen(listener, 64) == 0 else { close(listener); throw POSIXError(.EADDRINUSE) }
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(listener, $0, &length) }
        }
        self.listener = listener
        port = Int(UInt16(bigEndian: address.sin_port))
        Thread.detachNewThread { [self] in acceptLoop() }
    }

    var baseURL: URL { URL(string: "http://127.0.0.1:\(port)/v1")! }

    /// Stops accepting: later connections are refused.
    func stop() {
        shutdown(listener, Int32(SHUT_RDWR))
        close(listener)
    }

    private func acceptLoop() {
        while true {
            let connection = accept(listener, nil, nil)
            if connection < 0 { return }
            Thread.detachNewThread { [self] in serve(connection) }
        }
    }

    private func serve(_ connection: Int32) {
        defer { close(connection) }
        var buffer = Data()
        var chunk = [UInt8](repeating: 0, count: 65536)
        func readMore() -> Bool {
            let n = recv(connection, &chunk, chunk.count, 0)
            if n <= 0 { return false }
            buffer.append(contentsOf: chunk[0..<n])
            return true
        }
        let separator = Data("\r\n\r\n".utf8)
        var headerEnd: Range<Data.Index>?
        while headerEnd == nil {
            guard readMore() else { return }
            headerEnd = buffer.range(of: separator)
        }
        let head = String(decoding: buffer[..<headerEnd!.lowerBound], as: UTF8.self).components(separatedBy: "\r\n")
        let path = head.first?.split(separator: " ").dropFirst().first.map(String.init) ?? "/"
        var headers: [String: String] = [:]
        for line in head.dropFirst() {
            guard let colon = line.firstIndex(of: ":") else { continue }
            headers[line[..<colon].lowercased()] = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
        }
        let length = Int(headers["content-length"] ?? "0") ?? 0
        while buffer.count - headerEnd!.upperBound < length {
            guard readMore() else { return }
        }
        let body = Data(buffer[headerEnd!.upperBound..<(headerEnd!.upperBound + length)])
        let box = AnswerBox()
        let done = DispatchSemaphore(value: 0)
        let handler = self.handler
        Task {
            box.answer = await handler(path, headers, body)
            done.signal()
        }
        done.wait()
        let answer = box.answer!
        var response = Data("HTTP/1.1 \(answer.status) \(answer.status == 200 ? "OK" : "Error")\r\nContent-Type: application/json\r\nContent-Length: \(answer.body.count)\r\nConnection: close\r\n\r\n".utf8)
        response.append(answer.body)
        response.withUnsafeBytes { raw in
            var sent = 0
            while sent < raw.count {
                let n = send(connection, raw.baseAddress! + sent, raw.count - sent, Int32(MSG_NOSIGNAL))
                if n <= 0 { return }
                sent += n
            }
        }
    }
}

private final class AnswerBox: @unchecked Sendable {
    var answer: HTTPAnswer?
}

/// The real transport (AsyncHTTPClient) against a real socket: the same numbers as the in-process
/// double, the bearer token sent, and a server that goes away ending the run with a clear error.
/// Counts the requests the loopback server refused (the handler runs on the server's threads).
private final class RefusalCounter: @unchecked Sendable {
    private let lock = NSLock()
    private var count = 0
    func increment() { lock.lock(); count += 1; lock.unlock() }
    var value: Int { lock.lock(); defer { lock.unlock() }; return count }
}

final class LoopbackTransportTests: XCTestCase {
    let requests = [
        LoglikelihoodRequest(context: "Question: 2+2?\nAnswer:", continuation: " 4"),
        LoglikelihoodRequest(context: "Question: 2+2?\nAnswer:", continuation: " five"),
        LoglikelihoodRequest(context: "The sky is ", continuation: "blue"),
    ]
    let generations = [GenerationRequest(context: "Q: name a colour.\nA:", until: ["\n"], maxTokens: 12),
                       GenerationRequest(context: "Once upon a time", until: [], maxTokens: 5)]

    func server(_ url: URL, apiKey: String? = nil, retries: Int = 2) -> OpenAIServer {
        OpenAIServer(baseURL: url, servedModel: "fake", apiKey: apiKey, concurrency: 4, timeoutSeconds: 10, retries: retries,
                     initialBackoffSeconds: 0.01, promptEncoding: .tokens)
    }

    func testTheRealTransportGivesTheNumbersOfTheInProcessServer() throws {
        let tokenizer = try byteLevelTokenizer()
        let fake = FakeCompletionsServer(tokenizer: tokenizer)
        let loopback = try LoopbackHTTPServer { path, headers, body in
            guard path == "/v1/completions" else { return HTTPAnswer(status: 404, body: Data()) }
            return (try? await fake.post(URL(string: "http://fake\(path)")!, json: body, headers: [], timeoutSeconds: 1))
                ?? HTTPAnswer(status: 500, body: Data())
        }
        defer { loopback.stop() }
        let rules = LMEvalRequestRules(tokenizer: tokenizer, contextLength: 512)
        let overHTTP = try OpenAICompletionsModel(name: "fake", server: server(loopback.baseURL), rules: rules)
            .evaluate(loglikelihood: requests, generation: generations)
        let inProcess = try OpenAICompletionsModel(name: "fake", server: server(loopback.baseURL), rules: rules,
                                                   transport: FakeCompletionsServer(tokenizer: tokenizer))
            .evaluate(loglikelihood: requests, generation: generations)
        XCTAssertEqual(overHTTP.scored, inProcess.scored)
        XCTAssertEqual(overHTTP.generated, inProcess.generated)
        XCTAssertEqual(overHTTP.scored.count, 3)
        XCTAssertEqual(fake.requestCount, 2 + requests.count + generations.count, "the probe (2), each scoring request and each generation went over the socket")
    }

    func testTheBearerTokenIsSentAndAWrongOneIsRefusedWithoutRetries() throws {
        let tokenizer = try byteLevelTokenizer()
        let fake = FakeCompletionsServer(tokenizer: tokenizer)
        let refused = RefusalCounter()
        let loopback = try LoopbackHTTPServer { path, headers, body in
            guard headers["authorization"] == "Bearer sesame" else {
                refused.increment()
                return HTTPAnswer(status: 401, body: Data(#"{"error":{"message":"Invalid API key"}}"#.utf8))
            }
            return (try? await fake.post(URL(string: "http://fake\(path)")!, json: body, headers: [], timeoutSeconds: 1))
                ?? HTTPAnswer(status: 500, body: Data())
        }
        defer { loopback.stop() }
        let rules = LMEvalRequestRules(tokenizer: tokenizer, contextLength: 512)
        XCTAssertNoThrow(try OpenAICompletionsModel(name: "fake", server: server(loopback.baseURL, apiKey: "sesame"), rules: rules)
            .evaluate(loglikelihood: [], generation: generations))
        let before = fake.requestCount
        XCTAssertThrowsError(try OpenAICompletionsModel(name: "fake", server: server(loopback.baseURL, apiKey: "wrong"), rules: rules)
            .evaluate(loglikelihood: [], generation: [generations[0]])) { error in
            guard case OpenAIBackendError.rejected(_, 401, let message) = error else { return XCTFail("\(error)") }
            XCTAssertEqual(message, "Invalid API key")
        }
        XCTAssertEqual(fake.requestCount, before, "a refused request is not passed on")
        XCTAssertEqual(refused.value, 1, "a 401 is answered once and not retried")
    }

    func testAStoppedServerEndsTheRunQuicklyWithAClearMessage() throws {
        let tokenizer = try byteLevelTokenizer()
        let loopback = try LoopbackHTTPServer { _, _, _ in HTTPAnswer(status: 200, body: Data()) }
        let url = loopback.baseURL
        loopback.stop()
        let start = Date()
        XCTAssertThrowsError(try OpenAICompletionsModel(name: "fake", server: server(url, retries: 2),
                                                        rules: LMEvalRequestRules(tokenizer: tokenizer, contextLength: 512))
            .evaluate(loglikelihood: [], generation: [generations[0]])) { error in
            guard case OpenAIBackendError.unreachable(_, 3, _) = error else { return XCTFail("\(error)") }
            XCTAssertTrue(error.localizedDescription.contains("rerun the same command to resume"))
        }
        XCTAssertLessThan(Date().timeIntervalSince(start), 10, "refused connections must not wait for the request timeout")
    }
}
