import Benchmarks
import Engine
import Foundation
import Runs
import Support
import XCTest

/// The sample of the regression check (`scripts/check_records.py` runs the full one): documents of
/// committed runs, re-run with today's code through the same workflow as `bench run`, must give
/// the committed records.
///
/// Records made of generated text (DART, GSM8K) are compared byte for byte, `seconds` aside. Records
/// holding log-likelihoods are compared field by field with the log-likelihoods within 1e-4: their
/// last digits depend on the CPU's OpenBLAS sgemm kernel (the committed ones were computed on an
/// AVX-512 machine), so byte identity across machines is not a property the engine has; on one
/// machine `scripts/check_records.py --reference-bench OLD` compares two builds byte for byte.
final class CommittedRecordsRegressionTests: XCTestCase {
    func testASampleOfCommittedRecordsReproduces() throws {
        let committed = repositoryRoot.appendingPathComponent("results", isDirectory: true)
        let scratch = try makeTemporaryFolder(self)
        let model = try ModelLocator(currentDirectory: repositoryRoot).resolve("smollm2-135m-instruct")
        let gguf = try GGUFFile(path: model.path)
        let template = try ChatTemplateFamily.template(forModel: model.name, jinja: gguf.metadata["tokenizer.chat_template"]?.stringValue,
                                                       override: nil)
        func run(_ tasks: [String], limit: Int) throws {
            let request = RunRequest(
                model: model, threads: 2, tasks: tasks, configurations: .both,
                routerFile: repositoryRoot.appendingPathComponent("routers/smollm2-135m-instruct.routers").path,
                fixedPath: nil, name: nil, routerBlend: nil, limit: limit, fewshot: nil, seed: 1234, maxGenerationTokens: nil,
                chatTemplate: template, extraSettings: [:], resultsFolder: scratch, force: false, benchVersion: "0.1.0")
            _ = try RunWorkflow.run(request)
        }
        try run(["dart_1", "arc_easy"], limit: 2)
        try run(["gsm8k"], limit: 1)

        var compared = 0
        for runName in ["baseline", "routed"] {
            for task in ["dart_1", "arc_easy", "gsm8k"] {
                let file = "smollm2-135m-instruct/\(runName)/\(task).jsonl"
                let mine = try lines(scratch.appendingPathComponent(file))
                let theirs = Dictionary(try lines(committed.appendingPathComponent(file)).map { (try id(of: $0), $0) },
                                        uniquingKeysWith: { a, _ in a })
                XCTAssertFalse(mine.isEmpty, file)
                for line in mine {
                    guard let reference = theirs[try id(of: line)] else { XCTFail("\(file): \(line.prefix(80)) has no committed record"); continue }
                    if task == "arc_easy" {
                        try assertSameRecord(line, reference, logLikelihoodTolerance: 1e-4, file: file)
                    } else {
                        XCTAssertEqual(withoutSeconds(line), withoutSeconds(reference), file)
                    }
                    compared += 1
                }
            }
        }
        XCTAssertEqual(compared, 2 * (2 + 2 + 1))
    }

    private func lines(_ url: URL) throws -> [String] {
        try String(contentsOf: url, encoding: .utf8).split(separator: "\n").map(String.init)
    }

    private func id(of line: String) throws -> String {
        let object = try JSONSerialization.jsonObject(with: Data(line.utf8)) as! [String: Any]
        return object["id"] as! String
    }

    /// The record line without its `"seconds":<number>` member.
    private func withoutSeconds(_ line: String) -> String {
        line.replacingOccurrences(of: #","seconds":[-0-9.eE+]+"#, with: "", options: .regularExpression)
    }

    /// Every field equal except `choice_loglikelihoods`, equal within `tolerance`.
    private func assertSameRecord(_ a: String, _ b: String, logLikelihoodTolerance tolerance: Double, file: String) throws {
        var x = try JSONSerialization.jsonObject(with: Data(withoutSeconds(a).utf8)) as! [String: Any]
        var y = try JSONSerialization.jsonObject(with: Data(withoutSeconds(b).utf8)) as! [String: Any]
        let lx = x.removeValue(forKey: "choice_loglikelihoods") as! [Double]
        let ly = y.removeValue(forKey: "choice_loglikelihoods") as! [Double]
        XCTAssertEqual(lx.count, ly.count, file)
        for (p, q) in zip(lx, ly) { XCTAssertEqual(p, q, accuracy: tolerance, file) }
        XCTAssertEqual(NSDictionary(dictionary: x), NSDictionary(dictionary: y), file)
    }
}
