import Foundation

/// How a benchmark is configured for one run.
public struct BenchmarkOptions: Sendable {
    /// `--fewshot`: overrides the default number of examples where lm-eval lets it.
    public var fewshot: Int?
    /// lm-eval's `fewshot_random_seed`.
    public var fewshotSeed: Int
    /// The model's chat template; used by the paper's in-domain prompts (ARC letter form, DART).
    /// `PlainTemplate` (base models) selects the paper's base-model prompts.
    public var chatTemplate: any ChatTemplate
    /// Which split to load: the evaluation split, or the training split for MCTS (ARC, DART).
    public var split: DocumentSplit
    /// Overrides generative tasks' token cap (lm-eval's `--gen_kwargs max_gen_toks=N`; needed for
    /// AIME, whose 32768 exceeds small models' context). Ignored by the paper's short-answer forms.
    public var maxGenerationTokens: Int?
    /// The global Python seed lm-eval starts from (GPQA's answer shuffle).
    public var pythonSeed: Int

    public init(fewshot: Int? = nil, fewshotSeed: Int = 1234, chatTemplate: any ChatTemplate = PlainTemplate(),
                split: DocumentSplit = .evaluation, maxGenerationTokens: Int? = nil, pythonSeed: Int = 0) {
        self.fewshot = fewshot
        self.fewshotSeed = fewshotSeed
        self.chatTemplate = chatTemplate
        self.split = split
        self.maxGenerationTokens = maxGenerationTokens
        self.pythonSeed = pythonSeed
    }
}

/// All benchmarks by name, their subtasks and the suites.
///
/// Names follow lm-evaluation-harness: `arc_easy`, `arc_challenge`, `dart_1`…`dart_5`, `mmlu`
/// (+ `mmlu_<subject>`), `gsm8k`, `aime24`, `truthfulqa_mc1`, `truthfulqa_mc2`, `squadv2`,
/// `gpqa_diamond`, `piqa`, `agieval_en` (+ `agieval_<subset>`). The paper's letter form of ARC is
/// registered beside the cloze form as `arc_easy_letter` / `arc_challenge_letter`, outside the suites.
public enum BenchmarkRegistry {
    /// The top-level benchmarks, in display order.
    public static let names: [String] = [
        "arc_easy", "arc_challenge", "arc_easy_letter", "arc_challenge_letter",
        "dart_1", "dart_2", "dart_3", "dart_4", "dart_5",
        "mmlu", "gsm8k", "aime24", "truthfulqa_mc1", "truthfulqa_mc2", "squadv2", "gpqa_diamond", "piqa", "agieval_en",
    ]

    /// Subtask names of the groups (`mmlu_<subject>`, `agieval_<subset>`).
    public static let subtaskNames: [String] =
        MMLUSubjects.all.map { "mmlu_" + $0 } + AGIEvalSubsets.english.map { "agieval_" + $0.name }

    /// Every name `load` accepts.
    public static var allNames: [String] { names + subtaskNames }

    /// The benchmarks of a suite, in display order.
    public static func names(in suite: BenchmarkSuite) -> [String] {
        switch suite {
        case .indomain: return ["arc_easy", "arc_challenge", "dart_1", "dart_2", "dart_3", "dart_4", "dart_5"]
        case .ood: return ["mmlu", "gsm8k", "aime24", "truthfulqa_mc1", "gpqa_diamond", "squadv2", "piqa", "agieval_en"]
        case .all: return names(in: .indomain) + names(in: .ood)
        }
    }

    /// Expands a comma-separated list of benchmark and suite names (e.g. `ood`, `arc_easy,gsm8k`)
    /// into benchmark names, keeping order and dropping repeats.
    public static func resolve(_ list: String) throws -> [String] {
        var result: [String] = []
        for item in list.split(separator: ",").map({ $0.trimmingCharacters(in: .whitespaces) }) where !item.isEmpty {
            let expanded: [String]
            if let suite = BenchmarkSuite(rawValue: item) {
                expanded = names(in: suite)
            } else if allNames.contains(item) {
                expanded = [item]
            } else {
                throw BenchmarkDataError.unknownBenchmark(name: item, known: names + BenchmarkSuite.allCases.map(\.rawValue))
            }
            for name in expanded where !result.contains(name) { result.append(name) }
        }
        return result
    }

    /// The benchmark called `name`, configured by `options`.
    public static func benchmark(named name: String, options: BenchmarkOptions = BenchmarkOptions()) throws -> any Benchmark {
        let template = options.chatTemplate
        switch name {
        case "arc_easy": return ARCBenchmark(set: .easy)
        case "arc_challenge": return ARCBenchmark(set: .challenge)
        case "arc_easy_letter": return ARCLetterBenchmark(set: .easy, template: template)
        case "arc_challenge_letter": return ARCLetterBenchmark(set: .challenge, template: template)
        case "mmlu": return MMLUBenchmark()
        case "gsm8k": return GSM8KBenchmark(maxTokens: options.maxGenerationTokens ?? 256)
        case "aime24": return AIMEBenchmark(maxTokens: options.maxGenerationTokens ?? 32768)
        case "truthfulqa_mc1": return TruthfulQABenchmark(variant: .mc1)
        case "truthfulqa_mc2": return TruthfulQABenchmark(variant: .mc2)
        case "squadv2": return SQuADv2Benchmark(maxTokens: options.maxGenerationTokens ?? 256)
        case "gpqa_diamond": return GPQABenchmark(shuffleSeed: options.pythonSeed)
        case "piqa": return PIQABenchmark()
        case "agieval_en": return AGIEvalBenchmark()
        default:
            if name.hasPrefix("dart_"), let level = Int(name.dropFirst(5)), (1...5).contains(level) {
                return DARTBenchmark(level: level, template: template)
            }
            if name.hasPrefix("mmlu_"), MMLUSubjects.all.contains(String(name.dropFirst(5))) {
                return MMLUBenchmark(subject: String(name.dropFirst(5)))
            }
            if name.hasPrefix("agieval_"), AGIEvalSubsets.english.contains(where: { $0.name == name.dropFirst(8) }) {
                return AGIEvalBenchmark(subset: String(name.dropFirst(8)))
            }
            throw BenchmarkDataError.unknownBenchmark(name: name, known: names + BenchmarkSuite.allCases.map(\.rawValue))
        }
    }

    /// `bench tasks` information for `name` (no data is read).
    public static func info(_ name: String, options: BenchmarkOptions = BenchmarkOptions(chatTemplate: ChatMLTemplate.smolLM2)) throws -> BenchmarkInfo {
        try benchmark(named: name, options: options).info
    }

    /// Loads `name` from `tasksDirectory`: reads and verifies its data and draws its few-shot examples.
    public static func load(_ name: String, from tasksDirectory: URL, options: BenchmarkOptions = BenchmarkOptions()) throws -> LoadedBenchmark {
        let benchmark = try benchmark(named: name, options: options)
        return try LoadedBenchmark(benchmark, tasksDirectory: tasksDirectory, split: options.split,
                                   fewshot: options.fewshot, fewshotSeed: options.fewshotSeed)
    }
}
