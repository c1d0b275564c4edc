import Benchmarks
import Foundation
import FuzzSupport
import XCTest
@testable import Serving

/// A bounded fuzz of the request decoder: mutated requests, built from valid ones with a fixed
/// seed, each answered with a well-formed JSON answer and never a crash or a server error.
final class RequestFuzzTests: XCTestCase {
    static let seeds: [(String, String)] = [
        ("/v1/completions", #"{"model":"fake","prompt":"Question: why?\nAnswer:","max_tokens":4,"stop":["\n\n","Question:"],"temperature":0,"seed":1234}"#),
        ("/v1/completions", #"{"model":"fake:routed","prompt":[[72,105,33],[1,2,3,4]],"max_tokens":1,"echo":true,"logprobs":1,"temperature":0}"#),
        ("/v1/completions", #"{"model":"fake:path=0,1,1,3","prompt":[104,105],"max_tokens":2,"logprobs":3,"n":1,"top_p":1,"stream":false}"#),
        ("/v1/chat/completions", #"{"model":"fake","messages":[{"role":"system","content":"Be brief."},{"role":"user","content":"hi ✓"}],"max_tokens":3,"logprobs":true,"top_logprobs":2}"#),
    ]
    static let dictionary: [[UInt8]] = ["null", "true", "false", "-1", "1e400", "99999999999999999999", "0.5", "[]", "{}", "[[", "]]",
                                        "\"\"", "\"\\u0000\"", "\"\\ud800\"", ",", ":", "\"prompt\"", "\"model\"", "\"max_tokens\"",
                                        "\"echo\"", "\"logprobs\"", "\"stop\"", "\"messages\"", "\u{FEFF}", "\u{0}"].map { Array($0.utf8) }

    func testTenThousandMutatedRequestsGetWellFormedAnswersAndTheServerStillAnswers() async throws {
        let engine = try FakeCompletionEngine()
        let service = CompletionService(engine: engine, routers: AlwaysExecute(), chatTemplate: ChatMLTemplate.smolLM2,
                                        settings: .init(maxBodyBytes: 1 << 20))
        defer { service.stop() }
        var mutator = ByteMutator(seed: 20261205)
        var statuses: [Int: Int] = [:]
        let allowed: Set<Int> = [200, 400, 404, 413]
        for i in 0..<10_000 {
            let (path, seed) = Self.seeds[i % Self.seeds.count]
            let body = mutator.mutate(Array(seed.utf8), dictionary: Self.dictionary)
            let reply = await service.handle(method: "POST", path: path, authorization: nil, body: Data(body))
            statuses[reply.status, default: 0] += 1
            guard allowed.contains(reply.status),
                  let object = try? JSONSerialization.jsonObject(with: reply.body) as? [String: Any],
                  reply.status == 200 ? object["choices"] != nil : (object["error"] as? [String: Any])?["message"] is String else {
                return XCTFail("request #\(i) \(String(decoding: body, as: UTF8.self).debugDescription) → \(reply.status) \(String(decoding: reply.body, as: UTF8.self))")
            }
        }
        XCTAssertGreaterThan(statuses[200] ?? 0, 100, "some mutations stay valid: \(statuses)")
        XCTAssertGreaterThan(statuses[400] ?? 0, 1000, "\(statuses)")
        // Deep nesting within the body limit is refused, not a stack overflow.
        for depth in [600, 100_000] {
            let nested = #"{"model":"fake","prompt":"# + String(repeating: "[", count: depth) + String(repeating: "]", count: depth) + "}"
            let reply = await service.handle(method: "POST", path: "/v1/completions", authorization: nil, body: Data(nested.utf8))
            XCTAssertEqual(reply.status, 400, "depth \(depth)")
        }
        let (status, _) = await postJSON(service, "/v1/completions", Self.seeds[0].1)
        XCTAssertEqual(status, 200, "the server still answers after the fuzz")
        print("request fuzz: 10,000 mutated requests, answers by status: \(statuses.sorted { $0.key < $1.key })")
    }
}
