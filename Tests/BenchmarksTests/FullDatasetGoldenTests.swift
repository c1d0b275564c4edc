import Benchmarks
import Engine
import Foundation
import XCTest

/// Every request of every benchmark, compared with prompts rendered independently in Python
/// (the templates of TASKS.md over data read with Python's `json` and `csv` modules, few-shot
/// draws with `random.Random(1234)`, GPQA's shuffle with `random.seed(0)`). Each benchmark is
/// summarised as the SHA-256 of `context + "\u{2}" + parts.joined("\u{2}") + "\u{1}"` over its
/// documents, where `parts` are the continuations or generation settings plus the target.
final class FullDatasetGoldenTests: XCTestCase {
    private static let expected: [String: String] = [
        "arc_easy": "d17d6eec4909ad9f87b9cb2b38695c2dffec6601ce0cd7a657ae1e836bdd8bac",
        "arc_challenge": "0375c89f634c46e95cbe6b917484da73c7ff1af41d1864486078f1a9a40fb3da",
        "arc_easy_letter/chat": "d9902c80f5329863ee1388064f2c3b630108636bbb93347134b7493bdb4c1df1",
        "arc_easy_letter/base": "11ebe6b7a893919588d4038fa711a75bb9680d9b3fcbdb428081a0ec84a36fa4",
        "arc_challenge_letter/chat": "97ac5a0984a56653f00ad3d46fa380e7090050d61add0a50ad3f51bc8a06723c",
        "arc_challenge_letter/base": "5424a59df1480d298249e2d60d1c800d5339cb07a5cf89c3b5e47bf09fe88d49",
        "dart_1/chat": "468a8a1756ad2690395601bb2db6e8a027ae82e4a88d22437e40ddfea15d65e3",
        "dart_1/base": "17c9b7aab7b6bd975705771d8d9436881af2bb098acf7c1d73ac17c32f9b54a8",
        "dart_2/chat": "1575246cb4d2b71c8fb55892ca4d6b70378c5507881a3242096cf5c57f95479c",
        "dart_2/base": "1be3dc1c9852631504e47f97f0afe3aea1bff7cbefba81d7f834aa6e5850cc31",
        "dart_3/chat": "97ffe8daed48c9eb3fbe68d9d388a7e927f917eb00cbfe533927e6fb29d3c364",
        "dart_3/base": "678594bdc428fa580c0f3cbebb74ed836abd6ca6ccf77b262fd9c0fda83324ad",
        "dart_4/chat": "79f6bd93a1d14425176e6f684fdf3dd30b881dc99f1e8a5297b3498ccc05db90",
        "dart_4/base": "aef2673e4e1c3a13c5048557d275209a6fab41397bb79563b38bb5ffbaebbafe",
        "dart_5/chat": "5ec558612861b25029c1772b467f3bbf9036a82917ffe5e7b117360799cc878e",
        "dart_5/base": "2e09b257242350f17ff666acd8b46c9c4dbc6c13b5e1b008afea11e3e1901ec5",
        "mmlu": "0f1878d8a72b5dc4a720ae4195e89bda6ce3c4df4cd7414a4a224cac4b6e70a5",
        "gsm8k": "1b930949674b7c63cbb64f2d3bf4d530fb8ae5861a3aad0f60f479fab43b4b3c",
        "aime24": "e542b275b44fbf16b1779ccce3b69121e0cacf3f975852dff1183ea2fc9d16bc",
        "truthfulqa_mc1": "e9058b5b17d80ed3554656f69e0432e108de5d3f858d8b01bb4281a5a5c58766",
        "truthfulqa_mc2": "a6eedb12bf25ca659d8494071ba0c6babb5eb414e249c9a02ce3fceda29ec289",
        "squadv2": "65a0248572aa8445004a0871ef8ff96cdf58c240e7a274f84d11366a85d23fe6",
        "piqa": "0e645c8a7b93bf03b71123c213add33d0b4ecd48464142d0b8b1c18542524b83",
        "agieval_en": "f30943ed2bd8a1f0db35337d958b1f85d480ff4bb7cef85c7e3b52756ef7d7cc",
        "gpqa_diamond": "6828cfd76cd2fc9e8dd84a226c6b616a2bcf24b998f1bdd7bf523923593a51e8",
    ]

    private func digest(_ items: [(context: String, parts: [String])]) -> String {
        var text = ""
        for item in items { text += item.context + "\u{2}" + item.parts.joined(separator: "\u{2}") + "\u{1}" }
        return SHA256.hexDigest(of: Data(text.utf8))
    }

    /// Context and continuations (or stop strings and cap) of one request.
    private func parts(_ request: BenchmarkRequest) -> (context: String, parts: [String]) {
        switch request {
        case .loglikelihood(let requests):
            return (requests[0].context, requests.map(\.continuation))
        case .generation(let generation):
            return (generation.context, generation.until + [String(generation.maxTokens)])
        case .generationWithLoglikelihood(let generation, let requests):
            return (generation.context, generation.until + [String(generation.maxTokens)] + requests.map(\.continuation))
        }
    }

    private func check<B: Benchmark>(_ key: String, _ benchmark: B, extra: (B.Document) -> [String] = { _ in [] },
                                     file: StaticString = #filePath, line: UInt = #line) throws {
        let documents = try benchmark.loadDocuments(from: try TestData.tasksDirectory(), split: .evaluation).documents
        XCTAssertEqual(documents.count, benchmark.info.size, key, file: file, line: line)
        XCTAssertEqual(Set(documents.map(\.id)).count, documents.count, "\(key): ids must be unique", file: file, line: line)
        let items = documents.map { document -> (context: String, parts: [String]) in
            let rendered = parts(benchmark.requests(for: document, fewshot: []))
            return (rendered.context, rendered.parts + extra(document))
        }
        XCTAssertEqual(digest(items), Self.expected[key], key, file: file, line: line)
    }

    func testInDomainBenchmarks() throws {
        try check("arc_easy", ARCBenchmark(set: .easy))
        try check("arc_challenge", ARCBenchmark(set: .challenge))
        for set in [ARCSet.easy, .challenge] {
            let name = set == .easy ? "arc_easy_letter" : "arc_challenge_letter"
            // The letter form's generation has no stop strings, so only the cap is in `parts`.
            try check(name + "/chat", ARCLetterBenchmark(set: set, template: ChatMLTemplate.smolLM2))
            try check(name + "/base", ARCLetterBenchmark(set: set, template: PlainTemplate()))
        }
        for level in 1...5 {
            try check("dart_\(level)/chat", DARTBenchmark(level: level, template: ChatMLTemplate.smolLM2), extra: { [$0.goldAnswer] })
            try check("dart_\(level)/base", DARTBenchmark(level: level, template: PlainTemplate()))
        }
    }

    func testOutOfDomainBenchmarks() throws {
        try check("mmlu", MMLUBenchmark(), extra: { [$0.target] })
        try check("aime24", AIMEBenchmark(), extra: { [$0.target] })
        try check("truthfulqa_mc1", TruthfulQABenchmark(variant: .mc1))
        try check("truthfulqa_mc2", TruthfulQABenchmark(variant: .mc2))
        try check("squadv2", SQuADv2Benchmark(), extra: { $0.answers })
        try check("piqa", PIQABenchmark())
        try check("agieval_en", AGIEvalBenchmark(), extra: { $0.subset == "math" ? [$0.answer] : [String($0.gold[0])] })
        if try TestData.gpqaIsDecrypted() {
            try check("gpqa_diamond", GPQABenchmark(), extra: { [String($0.target.dropFirst().prefix(1))] })
        }
    }

    func testGSM8KWithLMEvalFewshotDraws() throws {
        let gsm8k = try BenchmarkRegistry.load("gsm8k", from: try TestData.tasksDirectory())
        XCTAssertEqual(gsm8k.documents.count, 1319)
        let items = try gsm8k.documents.indices.map { try parts(gsm8k.request(at: $0)) }
        XCTAssertEqual(digest(items), Self.expected["gsm8k"])
    }
}
