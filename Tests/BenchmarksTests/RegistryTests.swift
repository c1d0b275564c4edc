import Benchmarks
import Engine
import Foundation
import XCTest

final class RegistryTests: XCTestCase {
    func testNamesSubtasksAndSuites() throws {
        XCTAssertEqual(BenchmarkRegistry.names(in: .indomain), ["arc_easy", "arc_challenge", "dart_1", "dart_2", "dart_3", "dart_4", "dart_5"])
        XCTAssertEqual(BenchmarkRegistry.names(in: .ood),
                       ["mmlu", "gsm8k", "aime24", "truthfulqa_mc1", "gpqa_diamond", "squadv2", "piqa", "agieval_en"])
        XCTAssertEqual(BenchmarkRegistry.names(in: .all).count, 15)
        XCTAssertEqual(BenchmarkRegistry.subtaskNames.filter { $0.hasPrefix("mmlu_") }.count, 57)
        XCTAssertEqual(BenchmarkRegistry.subtaskNames.filter { $0.hasPrefix("agieval_") }.count, 10)
        XCTAssertEqual(try BenchmarkRegistry.resolve("indomain, gsm8k,arc_easy"),
                       ["arc_easy", "arc_challenge", "dart_1", "dart_2", "dart_3", "dart_4", "dart_5", "gsm8k"])
        XCTAssertEqual(try BenchmarkRegistry.resolve("mmlu_anatomy"), ["mmlu_anatomy"])
        XCTAssertThrowsError(try BenchmarkRegistry.resolve("hellaswag")) { error in
            guard case BenchmarkDataError.unknownBenchmark(let name, _) = error else { return XCTFail("\(error)") }
            XCTAssertEqual(name, "hellaswag")
        }
        for name in BenchmarkRegistry.allNames {
            let info = try BenchmarkRegistry.info(name)
            XCTAssertEqual(info.name, name)
            XCTAssertFalse(info.metrics.isEmpty, name)
            XCTAssertGreaterThan(info.size, 0, name)
        }
        XCTAssertEqual(try BenchmarkRegistry.info("gsm8k").defaultFewshot, 5)
        XCTAssertTrue(try BenchmarkRegistry.info("truthfulqa_mc1").fewshotIsFixed)
        XCTAssertTrue(try BenchmarkRegistry.info("gpqa_diamond").protectsQuestionText)
        XCTAssertEqual(try BenchmarkRegistry.info("squadv2").requestKind, .generationWithLoglikelihood)
    }

    /// What a benchmark declares agrees with the rest of the registry, so a half-registered
    /// benchmark (a descriptor without data, a suite member that does not say so, a metric on the
    /// wrong scale, a searchable split that cannot be read) fails here.
    func testEveryDescriptorIsCompleteAndConsistent() throws {
        let tasks = try TestData.tasksDirectory()
        let percentMetrics: Set<String> = ["exact", "f1", "best_exact", "best_f1"]
        XCTAssertEqual(Set(BenchmarkRegistry.allNames).count, BenchmarkRegistry.allNames.count, "a name is registered twice")
        for descriptor in BenchmarkRegistry.descriptors + BenchmarkRegistry.subtaskDescriptors {
            let info = descriptor.make(BenchmarkOptions()).info
            XCTAssertEqual(info.name, descriptor.name, "the descriptor builds another benchmark")
            for subtask in info.subtasks {
                XCTAssertTrue(BenchmarkRegistry.subtaskNames.contains(subtask), "\(descriptor.name): subtask \(subtask) is not registered")
            }
            let metric = String(info.metrics[0].split(separator: ",")[0])
            let onPercentScale = percentMetrics.contains(metric) || metric.hasPrefix("HasAns_") || metric.hasPrefix("NoAns_")
            XCTAssertEqual(info.pointsScale, onPercentScale ? 1 : 100, "\(descriptor.name): points scale of \(metric)")
            for suite in info.suites {
                XCTAssertTrue(BenchmarkRegistry.names(in: suite).contains(descriptor.name), "\(descriptor.name) not in \(suite)")
            }
            XCTAssertTrue(FileManager.default.fileExists(atPath: tasks.appendingPathComponent(info.dataSource.split(separator: "/").dropFirst().first.map(String.init) ?? "").path),
                          "\(descriptor.name): no tasks/ folder for \(info.dataSource)")
            if info.searchableTrainingSplit {
                let train = try BenchmarkRegistry.load(descriptor.name, from: tasks,
                                                       options: BenchmarkOptions(chatTemplate: ChatMLTemplate.smolLM2, split: .training))
                XCTAssertFalse(train.documents.isEmpty, "\(descriptor.name): empty training split")
            }
        }
        XCTAssertEqual(BenchmarkRegistry.searchableNames,
                       ["arc_easy", "arc_challenge", "arc_easy_letter", "arc_challenge_letter", "dart_1", "dart_2", "dart_3", "dart_4", "dart_5"])
    }

    /// Every benchmark loads through the registry and renders its first and last documents
    /// (sizes and full contents are checked in FullDatasetGoldenTests).
    func testEveryBenchmarkLoadsThroughTheRegistry() throws {
        let tasks = try TestData.tasksDirectory()
        let gpqaReady = try TestData.gpqaIsDecrypted()
        for name in BenchmarkRegistry.names where name != "gpqa_diamond" || gpqaReady {
            let loaded = try BenchmarkRegistry.load(name, from: tasks, options: BenchmarkOptions(chatTemplate: ChatMLTemplate.smolLM2))
            XCTAssertEqual(loaded.documents.count, loaded.info.size, name)
            XCTAssertFalse(loaded.dataFiles.isEmpty)
            XCTAssertEqual(loaded.dataDigest.count, 64)
            for index in [0, loaded.documents.count - 1] {
                let request = try loaded.request(at: index)
                XCTAssertFalse(request.loglikelihoodRequests.isEmpty && request.generationRequest == nil, name)
            }
        }
    }

    func testFewshotOverridesAndRefusals() throws {
        let tasks = try TestData.tasksDirectory()
        XCTAssertEqual(try BenchmarkRegistry.load("truthfulqa_mc1", from: tasks, options: BenchmarkOptions(fewshot: 3)).fewshotCount, 0)
        XCTAssertEqual(try BenchmarkRegistry.load("gsm8k", from: tasks, options: BenchmarkOptions(fewshot: 8)).fewshotCount, 8)
        for name in ["piqa", "agieval_lsat_ar"] {
            XCTAssertThrowsError(try BenchmarkRegistry.load(name, from: tasks, options: BenchmarkOptions(fewshot: 1))) { error in
                guard case BenchmarkDataError.fewshotUnavailable = error else { return XCTFail("\(error)") }
            }
        }
        XCTAssertThrowsError(try BenchmarkRegistry.load("mmlu_anatomy", from: tasks, options: BenchmarkOptions(fewshot: 6))) { error in
            XCTAssertEqual(error as? BenchmarkDataError, .fewshotPoolTooSmall(benchmark: "mmlu_anatomy", requested: 6, available: 5))
        }
        XCTAssertThrowsError(try BenchmarkRegistry.load("mmlu", from: tasks, options: BenchmarkOptions(split: .training))) { error in
            XCTAssertEqual(error as? BenchmarkDataError, .splitUnavailable(benchmark: "mmlu", split: "training"))
        }
        let piqa = try BenchmarkRegistry.load("piqa", from: tasks)
        XCTAssertThrowsError(try piqa.request(at: 1838)) { error in
            XCTAssertEqual(error as? BenchmarkDataError, .documentIndexOutOfRange(benchmark: "piqa", index: 1838, count: 1838))
        }
    }

    func testLimitTakesTheFirstDocumentsOfEachSubtask() throws {
        let agieval = try BenchmarkRegistry.load("agieval_en", from: try TestData.tasksDirectory())
        let indices = agieval.indices(limit: 3)
        XCTAssertEqual(indices.count, 30)
        XCTAssertEqual(indices.prefix(4).map { agieval.documents[$0].id },
                       ["agieval_aqua_rat/0", "agieval_aqua_rat/1", "agieval_aqua_rat/2", "agieval_gaokao_english/0"])
        XCTAssertEqual(agieval.indices(limit: nil).count, 3852)
    }

    func testChatTemplates() {
        let messages = [ChatMessage(role: .user, content: "Hi")]
        XCTAssertEqual(ChatMLTemplate.smolLM2.render(messages, addGenerationPrompt: true),
                       "<|im_start|>system\nYou are a helpful AI assistant named SmolLM, trained by Hugging Face<|im_end|>\n"
                        + "<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n")
        let withSystem = [ChatMessage(role: .system, content: "Be brief.")] + messages
        XCTAssertEqual(ChatMLTemplate.smolLM2.render(withSystem, addGenerationPrompt: false),
                       "<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n")
        XCTAssertEqual(PlainTemplate().render(messages, addGenerationPrompt: true), "Hi")
        XCTAssertFalse(PlainTemplate().isChat)

        // SmolLM2-135M-Instruct's GGUF `tokenizer.chat_template`, verbatim.
        let smolLM2 = "{% for message in messages %}{% if loop.first and messages[0]['role'] != 'system' %}{{ '<|im_start|>system\nYou are a helpful AI assistant named SmolLM, trained by Hugging Face<|im_end|>\n' }}{% endif %}{{'<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>' + '\n'}}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}"
        XCTAssertEqual(ChatMLTemplate(jinjaTemplate: smolLM2)?.defaultSystemPrompt, ChatMLTemplate.smolLM2.defaultSystemPrompt)
        // A ChatML template whose system text only comes from the messages.
        let noDefault = "{% for message in messages %}{{'<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>\\n'}}{% endfor %}"
        XCTAssertNotNil(ChatMLTemplate(jinjaTemplate: noDefault))
        XCTAssertNil(ChatMLTemplate(jinjaTemplate: noDefault)?.defaultSystemPrompt)
        let qwenLike = "{%- if messages[0]['role'] == 'system' %}{{- '<|im_start|>system\\n' + messages[0]['content'] + '<|im_end|>\\n' }}{%- else %}{{- '<|im_start|>system\\nYou are Qwen, created by Alibaba Cloud. You are a helpful assistant.<|im_end|>\\n' }}{%- endif %}"
        XCTAssertEqual(ChatMLTemplate(jinjaTemplate: qwenLike)?.defaultSystemPrompt, ChatMLTemplate.qwen25.defaultSystemPrompt)
        XCTAssertNil(ChatMLTemplate(jinjaTemplate: "{{ bos_token }}{% for m in messages %}[INST] {{ m['content'] }} [/INST]{% endfor %}"))
    }

    func testTasksTableListsEveryBenchmark() throws {
        let table = try BenchmarkRendering.tasksTable()
        for name in BenchmarkRegistry.names { XCTAssertTrue(table.contains("| \(name) |"), name) }
        XCTAssertTrue(table.contains("| gsm8k | ood | 1319 | generate_until (max 256 tokens, until \"Question:\" \"</s>\" \"<\\|im_end\\|>\") |"))
        XCTAssertTrue(table.contains("mmlu_abstract_algebra"))
        XCTAssertTrue(table.contains("- indomain: arc_easy, arc_challenge, dart_1"))
    }

    func testPromptRendering() throws {
        let tasks = try TestData.tasksDirectory()
        let piqa = try BenchmarkRegistry.load("piqa", from: tasks)
        let text = try BenchmarkRendering.prompt(piqa, index: 1)
        XCTAssertEqual(text, """
            piqa · document 1 of 1838 · id piqa/1 · 0-shot · target "finish, woodgrain with  bobby pin "
            --- context (25 characters, verbatim between the rules) ---
            Question: dresser
            Answer:
            --- end of context ---
            loglikelihood continuations (2):
              [0] " replace drawer with bobby pin "
              [1] " finish, woodgrain with  bobby pin "

            """)
        let gsm8k = try BenchmarkRendering.prompt(try BenchmarkRegistry.load("gsm8k", from: tasks), index: 0)
        XCTAssertTrue(gsm8k.contains("few-shot examples: gsm8k_train/6374, gsm8k_train/3610, gsm8k_train/957, gsm8k_train/61, gsm8k_train/742"))
        XCTAssertTrue(gsm8k.hasSuffix("generation: greedy, max 256 tokens, until \"Question:\", \"</s>\", \"<|im_end|>\" (+ EOS)\n"))
        let squad = try BenchmarkRendering.prompt(try BenchmarkRegistry.load("squadv2", from: tasks), index: 0)
        XCTAssertTrue(squad.contains("until \"\\n\" (+ EOS)\nloglikelihood continuations (1):\n  [0] \" unanswerable\"\n"))
    }

    /// `bench prompt --json`: the same requests as data, one object per document, and the text
    /// form's protections.
    func testPromptRecordsAreTheRequestsAsJSONLines() throws {
        let tasks = try TestData.tasksDirectory()
        let piqa = try BenchmarkRegistry.load("piqa", from: tasks)
        let lines = try BenchmarkRendering.promptRecords(piqa, indices: 1..<3).split(separator: "\n")
        XCTAssertEqual(lines.count, 2)
        let first = try JSONDecoder().decode(BenchmarkRendering.PromptRecord.self, from: Data(lines[0].utf8))
        XCTAssertEqual([first.task, first.id, first.target, first.context], ["piqa", "piqa/1", "finish, woodgrain with  bobby pin ",
                                                                             "Question: dresser\nAnswer:"])
        XCTAssertEqual([first.index, first.fewshot], [1, 0])
        XCTAssertNil(first.subtask)
        XCTAssertNil(first.generation)
        XCTAssertEqual(first.continuations, [" replace drawer with bobby pin ", " finish, woodgrain with  bobby pin "])
        let squad = try BenchmarkRegistry.load("squadv2", from: tasks)
        let both = try JSONDecoder().decode(BenchmarkRendering.PromptRecord.self,
                                            from: Data(try BenchmarkRendering.promptRecords(squad, indices: 0..<1).utf8))
        XCTAssertEqual(both.continuations, [" unanswerable"])
        XCTAssertEqual(both.generation?.until, ["\n"])
        XCTAssertEqual(both.generation?.context, both.context)
        XCTAssertTrue(try BenchmarkRendering.promptRecords(squad, indices: 0..<1).contains("\"max_tokens\""))
        if try TestData.gpqaIsDecrypted() {
            let gpqa = try BenchmarkRegistry.load("gpqa_diamond", from: tasks)
            XCTAssertThrowsError(try BenchmarkRendering.promptRecords(gpqa, indices: 0..<1)) { error in
                XCTAssertEqual(error as? BenchmarkDataError, .protectedContent(benchmark: "gpqa_diamond"))
            }
        }
    }
}
