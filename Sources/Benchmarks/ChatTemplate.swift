import Foundation

/// A role in a chat conversation.
public enum ChatRole: String, Sendable, Hashable, Codable {
    case system, user, assistant
}

/// One message of a conversation.
public struct ChatMessage: Sendable, Hashable, Codable {
    public var role: ChatRole
    public var content: String
    public init(role: ChatRole, content: String) {
        self.role = role
        self.content = content
    }
}

/// Turns a conversation into the prompt text a model is conditioned on.
///
/// Each model brings its own, read from its GGUF's `tokenizer.chat_template` (`ChatTemplateFamily`):
/// `ChatMLTemplate` for ChatML instruct models (SmolLM2, Qwen2.5), `PlainTemplate` for base models.
/// Only the paper's in-domain prompts (ARC letter form, DART) use it; the lm-eval tasks are plain
/// text, as the paper ran them.
public protocol ChatTemplate: Sendable {
    /// A short name for records, e.g. `chatml` or `plain`.
    var name: String { get }
    /// Whether this is an instruct-model template; base models get the paper's base prompts.
    var isChat: Bool { get }
    /// The prompt for `messages`, ending with the opening of the assistant's turn when
    /// `addGenerationPrompt` is true (Hugging Face's `apply_chat_template` semantics).
    func render(_ messages: [ChatMessage], addGenerationPrompt: Bool) -> String
}

/// Base models: no template; message contents are joined by blank lines.
public struct PlainTemplate: ChatTemplate {
    public init() {}
    public var name: String { "plain" }
    public var isChat: Bool { false }
    public func render(_ messages: [ChatMessage], addGenerationPrompt: Bool) -> String {
        messages.map(\.content).joined(separator: "\n\n")
    }
}

/// ChatML: `<|im_start|>{role}\n{content}<|im_end|>\n` per message, then `<|im_start|>assistant\n`.
///
/// Many ChatML templates insert a default system message when the conversation does not start
/// with one; SmolLM2's GGUF template does (`defaultSystemPrompt`).
public struct ChatMLTemplate: ChatTemplate {
    /// Inserted as the first message when the conversation has no system message (nil: none).
    public var defaultSystemPrompt: String?

    public init(defaultSystemPrompt: String?) {
        self.defaultSystemPrompt = defaultSystemPrompt
    }

    /// What SmolLM2-Instruct's GGUF template renders (for tests that need no model file; runs read
    /// the template from the model's GGUF).
    public static let smolLM2 = ChatMLTemplate(defaultSystemPrompt: "You are a helpful AI assistant named SmolLM, trained by Hugging Face")

    /// What Qwen2.5-Instruct's GGUF template renders without tools (for tests, as above).
    public static let qwen25 = ChatMLTemplate(defaultSystemPrompt: "You are Qwen, created by Alibaba Cloud. You are a helpful assistant.")

    public var name: String { "chatml" }
    public var isChat: Bool { true }

    public func render(_ messages: [ChatMessage], addGenerationPrompt: Bool) -> String {
        var text = ""
        if let defaultSystemPrompt, messages.first?.role != .system {
            text += "<|im_start|>system\n\(defaultSystemPrompt)<|im_end|>\n"
        }
        for message in messages {
            text += "<|im_start|>\(message.role.rawValue)\n\(message.content)<|im_end|>\n"
        }
        if addGenerationPrompt { text += "<|im_start|>assistant\n" }
        return text
    }

    /// Recognises a ChatML Jinja template (a GGUF's `tokenizer.chat_template`) and reads the
    /// default system prompt written literally in it; nil when the template is not ChatML.
    public init?(jinjaTemplate template: String) {
        guard template.contains("<|im_start|>"), template.contains("<|im_end|>") else { return nil }
        self.defaultSystemPrompt = Self.literalSystemPrompt(in: template)
    }

    /// The text of a string literal `'<|im_start|>system\n…<|im_end|>` in the template, if any.
    private static func literalSystemPrompt(in template: String) -> String? {
        var rest = Substring(template)
        let marker = "<|im_start|>system"
        while let start = rest.range(of: marker) {
            var after = rest[start.upperBound...]
            if after.hasPrefix("\n") {
                after = after.dropFirst()
            } else if after.hasPrefix("\\n") {
                after = after.dropFirst(2)
            } else {
                rest = after
                continue
            }
            if let end = after.range(of: "<|im_end|>") {
                let content = after[..<end.lowerBound]
                // Only a literal: a Jinja expression or the end of a string literal means the
                // system text comes from the messages.
                if !content.isEmpty, !content.contains("'"), !content.contains("\""), !content.contains("{{"), !content.contains("{%") {
                    return String(content)
                }
            }
            rest = after
        }
        return nil
    }
}

/// The chat-template families the harness renders, recognised from a GGUF's Jinja template the way
/// llama.cpp does it (by the family's marker tokens, not by running Jinja); the literal default
/// system prompt is read from the template itself.
public enum ChatTemplateFamily: String, CaseIterable, Sendable {
    /// `<|im_start|>role\n…<|im_end|>` (SmolLM2, Qwen2.5).
    case chatml
    /// No template: base models (the paper's base-model prompts).
    case plain

    /// The family of a Jinja chat template, nil when it is none we can render.
    public static func detect(jinja template: String) -> ChatTemplateFamily? {
        if ChatMLTemplate(jinjaTemplate: template) != nil { return .chatml }
        return nil
    }

    /// This family's template, with the default system prompt read from `jinja` where the GGUF
    /// has a template of this family.
    public func template(jinja: String?) -> any ChatTemplate {
        switch self {
        case .chatml: return jinja.flatMap { ChatMLTemplate(jinjaTemplate: $0) } ?? ChatMLTemplate(defaultSystemPrompt: nil)
        case .plain: return PlainTemplate()
        }
    }

    /// The template a model's GGUF carries (`tokenizer.chat_template`), or the family given by
    /// `override` (`--chat-template`). A template of no known family is an error naming the
    /// families, so a model never silently gets another model's prompt format.
    public static func template(forModel model: String, jinja: String?, override: ChatTemplateFamily?) throws(ChatTemplateError) -> any ChatTemplate {
        if let override { return override.template(jinja: jinja) }
        guard let jinja, !jinja.isEmpty else { throw .missing(model: model) }
        guard let family = detect(jinja: jinja) else {
            throw .unrecognised(model: model, excerpt: String(jinja.prefix(80)))
        }
        return family.template(jinja: jinja)
    }
}

/// Why a model's chat template could not be chosen.
public enum ChatTemplateError: LocalizedError, Equatable {
    case missing(model: String)
    case unrecognised(model: String, excerpt: String)

    public var errorDescription: String? {
        let families = ChatTemplateFamily.allCases.map(\.rawValue).joined(separator: ", ")
        switch self {
        case let .missing(model):
            return "model '\(model)' has no tokenizer.chat_template in its GGUF: choose one with --chat-template (\(families))"
        case let .unrecognised(model, excerpt):
            return "the chat template of model '\(model)' is of no family bench knows (\(excerpt.debugDescription)…): "
                + "choose one with --chat-template (\(families))"
        }
    }
}
