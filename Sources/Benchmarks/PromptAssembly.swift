import Engine

/// lm-eval's plain-text prompt assembly (no chat template): the task description, then each
/// few-shot example as `question + target_delimiter + answer + fewshot_delimiter`, then the
/// document's question with no trailing delimiter.
enum PlainPrompt {
    static func context(description: String = "", examples: [(question: String, answer: String)], question: String,
                        targetDelimiter: String = " ", fewshotDelimiter: String = "\n\n") -> String {
        var text = description
        for example in examples {
            text += example.question + targetDelimiter + example.answer + fewshotDelimiter
        }
        return text + question
    }

    /// One loglikelihood request per choice, each continuation `target_delimiter + choice`.
    static func choiceRequests(context: String, choices: [String], targetDelimiter: String = " ") -> BenchmarkRequest {
        .loglikelihood(choices.map { LoglikelihoodRequest(context: context, continuation: targetDelimiter + $0) })
    }
}

/// Scoring shared by the lm-eval multiple-choice tasks.
enum MultipleChoiceResult {
    /// `acc` and `acc_norm` for a single gold index (or a gold list, AGIEval), plus the index the
    /// model picked by `acc`.
    static func score(logLikelihoods: [Double], choices: [String], gold: [Int], includeNormalized: Bool)
        -> (metrics: [String: Double], predicted: Int) {
        precondition(logLikelihoods.count == choices.count, "one log-likelihood per choice")
        let predicted = MultipleChoiceScoring.prediction(logLikelihoods: logLikelihoods)
        var metrics = ["acc,none": gold.contains(predicted) ? 1.0 : 0.0]
        if includeNormalized {
            let normalized = MultipleChoiceScoring.normalizedPrediction(logLikelihoods: logLikelihoods, choices: choices)
            metrics["acc_norm,none"] = gold.contains(normalized) ? 1.0 : 0.0
        }
        return (metrics, predicted)
    }
}
