import Engine
import Foundation
@testable import Serving

/// A byte-level tokenizer (one token per byte, id 256 = "<|endoftext|>"): enough for the API's
/// text handling without a model file.
func byteTokenizer() throws -> BPETokenizer {
    var map = [Int: Int]()
    for b in Array(33...126) + Array(161...172) + Array(174...255) { map[b] = b }
    var extra = 0
    for b in 0..<256 where map[b] == nil {
        map[b] = 256 + extra
        extra += 1
    }
    let vocabulary = (0..<256).map { String(Character(Unicode.Scalar(UInt32(map[$0]!))!)) } + ["<|endoftext|>"]
    return try BPETokenizer(vocabulary: vocabulary, tokenTypes: Array(repeating: 1, count: 256) + [3], merges: [],
                            preTokenizer: "gpt2", bos: nil, eos: 256, addBOS: false)
}

/// The test double of the engine seam: a made-up model whose next token is (last + 1) mod 256
/// and whose log-probabilities are a known function of the position; it records every call, and
/// can be made slow (to fill the queue) or to fail.
final class FakeCompletionEngine: CompletionEngine, @unchecked Sendable {
    let name = "fake"
    let layerCount = 4
    let contextLength = 512
    let tokenizer: BPETokenizer
    private let lock = NSLock()
    private var _calls: [Int] = []
    /// Seconds each call sleeps.
    var delay: Double = 0

    init() throws { tokenizer = try byteTokenizer() }

    /// Sizes (in prompts) of the engine calls so far.
    var calls: [Int] { lock.lock(); defer { lock.unlock() }; return _calls }

    func complete(_ requests: [TokenCompletionRequest], policy: LayerPolicy) throws -> [TokenCompletion] {
        lock.lock(); _calls.append(requests.count); lock.unlock()
        if delay > 0 { Thread.sleep(forTimeInterval: delay) }
        let path: LayerPath
        switch policy {
        case .full: path = .full(layerCount)
        case let .fixed(p): path = p
        case .decided: path = LayerPath([0, 2])
        }
        return requests.map { r in
            func entry(_ token: Int32, position: Int) -> TokenLogprob {
                TokenLogprob(token: token, logprob: -Double(position) / 10,
                             top: (0..<(r.topLogprobs ?? 0)).map { TokenAlternative(token: Int32(($0 + position) % 256), logprob: -Double($0) / 10) })
            }
            var generated: [Int32] = []
            var text = ""
            var reason = StopReason.maxTokens
            var last = r.prompt.last!
            while generated.count < r.maxTokens {
                last = (last + 1) % 256
                generated.append(last)
                text = tokenizer.decode(generated)
                if let s = r.stop.first(where: { text.contains($0) }) {
                    text = String(text[..<text.range(of: s)!.lowerBound])
                    reason = .stopString
                    break
                }
            }
            let prompt = r.scorePrompt && r.topLogprobs != nil
                ? [TokenLogprob(token: r.prompt[0], logprob: nil, top: [])] + r.prompt.dropFirst().enumerated().map { entry($1, position: $0 + 1) }
                : []
            return TokenCompletion(promptLogprobs: prompt, generated: generated,
                                   generatedLogprobs: r.topLogprobs == nil ? [] : generated.enumerated().map { entry($1, position: r.prompt.count + $0) },
                                   text: text, stopReason: reason, path: path,
                                   blockApplications: max(1, generated.count) * path.count, forwardPasses: max(1, generated.count))
        }
    }
}
