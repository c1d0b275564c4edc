import Engine
import XCTest

/// Pre-tokenizer splits on hand-made inputs. The expected pieces come from the Hugging Face
/// pre-tokenizer regexes run with Python's `regex` module (which llama.cpp's splitters aim to
/// match); for "smollm" and "default" the regexes of llama.cpp's list are applied one after
/// another, each re-splitting the pieces of the previous one.
extension TokenizerTests {
    func testPreTokenizerSplits() throws {
        for (name, expectations) in PreTokenizerCases.expected.sorted(by: { $0.key < $1.key }) {
            let pre = try PreTokenizer(name: name)
            XCTAssertEqual(expectations.count, PreTokenizerCases.samples.count)
            for (sample, expected) in zip(PreTokenizerCases.samples, expectations) {
                XCTAssertEqual(pre.split(sample), expected, "\(name): \(sample.debugDescription)")
            }
        }
    }

    func testPreTokenizerEdgeCases() throws {
        // Garay digits (Unicode 16) are unassigned in llama.cpp's Unicode 15.1 tables: no digit split.
        XCTAssertEqual(try PreTokenizer(name: "smollm").split("x\u{10D40}\u{10D41}7"), ["x", "\u{10D40}\u{10D41}", "7"])
        XCTAssertEqual(try PreTokenizer(name: "gpt-2").split("it's 42"), ["it", "'s", " 42"])
        XCTAssertEqual(try PreTokenizer(name: "").name, "default", "a missing tokenizer.ggml.pre means 'default'")
        XCTAssertEqual(try PreTokenizer(name: "llama3").split("x"), ["x"])
        XCTAssertEqual(try PreTokenizer(name: "qwen2").split(""), [])
        XCTAssertTrue(PreTokenizer.supportedNames.contains("smollm"))
    }
}

enum PreTokenizerCases {
    static let samples: [String] = [
        "Hello world",
        "I'm sure they've said we'll go, it's John's.",
        "DON'T SHOUT, IT'S LOUD 'RE 'VE 'LL 'D 'M",
        "  multiple   spaces\tand\ttabs\n\n\nnewlines  ",
        "line one\r\nline two\r\n\r\n  indented\n\t\ttabbed  \n",
        "The year 2024 had 366 days; 1,234,567.89 is 1234567890.",
        "def add(a, b):\n    return a + b  # sum\n",
        "naïve café — “quotes” and emojis 🙂👍🏽 and 日本語のテキスト",
        "Ελληνικά, русский, العربية, हिन्दी",
        "x^2 + y^2 = z^2, \\frac{1}{2}, \\boxed{42}!!!",
        "a\u{a0}b\u{2009}c\u{3000}d \u{a0} e",
        "٣٤٥ and ²³ and ½ and Ⅻ",
        "...hello?! (yes) [no] {maybe} <tag> 'quoted' \"double\"",
        "'' ' 's 'x '5 ''s",
        " ",
        "\n",
        "end with space ",
        "tab\t",
        "$100 + €50 = ¥?",
    ]
    static let expected: [String: [[String]]] = [
        "gpt2": [
            ["Hello", " world"],
            ["I", "'m", " sure", " they", "'ve", " said", " we", "'ll", " go", ",", " it", "'s", " John", "'s", "."],
            ["DON", "'", "T", " SHOUT", ",", " IT", "'", "S", " LOUD", " '", "RE", " '", "VE", " '", "LL", " '", "D", " '", "M"],
            [" ", " multiple", "  ", " spaces", "\t", "and", "\t", "tabs", "\n\n", "\n", "newlines", "  "],
            ["line", " one", "\r", "\n", "line", " two", "\r\n\r\n ", " indented", "\n\t", "\t", "tabbed", "  \n"],
            ["The", " year", " 2024", " had", " 366", " days", ";", " 1", ",", "234", ",", "567", ".", "89", " is", " 1234567890", "."],
            ["def", " add", "(", "a", ",", " b", "):", "\n   ", " return", " a", " +", " b", " ", " #", " sum", "\n"],
            ["naïve", " café", " —", " “", "quotes", "”", " and", " emojis", " 🙂👍🏽", " and", " 日本語のテキスト"],
            ["Ελληνικά", ",", " русский", ",", " العربية", ",", " ह", "ि", "न", "्", "द", "ी"],
            ["x", "^", "2", " +", " y", "^", "2", " =", " z", "^", "2", ",", " \\", "frac", "{", "1", "}{", "2", "},", " \\", "boxed", "{", "42", "}!!!"],
            ["a", "\u{a0}", "b", "\u{2009}", "c", "\u{3000}", "d", " \u{a0}", " e"],
            ["٣٤٥", " and", " ²³", " and", " ½", " and", " Ⅻ"],
            ["...", "hello", "?!", " (", "yes", ")", " [", "no", "]", " {", "maybe", "}", " <", "tag", ">", " '", "quoted", "'", " \"", "double", "\""],
            ["''", " '", " '", "s", " '", "x", " '", "5", " ''", "s"],
            [" "],
            ["\n"],
            ["end", " with", " space", " "],
            ["tab", "\t"],
            ["$", "100", " +", " €", "50", " =", " ¥?"],
        ],
        "smollm": [
            ["Hello", " world"],
            ["I", "'m", " sure", " they", "'ve", " said", " we", "'ll", " go", ",", " it", "'s", " John", "'s", "."],
            ["DON", "'", "T", " SHOUT", ",", " IT", "'", "S", " LOUD", " '", "RE", " '", "VE", " '", "LL", " '", "D", " '", "M"],
            [" ", " multiple", "  ", " spaces", "\t", "and", "\t", "tabs", "\n\n", "\n", "newlines", "  "],
            ["line", " one", "\r", "\n", "line", " two", "\r\n\r\n ", " indented", "\n\t", "\t", "tabbed", "  \n"],
            ["The", " year", " ", "2", "0", "2", "4", " had", " ", "3", "6", "6", " days", ";", " ", "1", ",", "2", "3", "4", ",", "5", "6", "7", ".", "8", "9", " is", " ", "1", "2", "3", "4", "5", "6", "7", "8", "9", "0", "."],
            ["def", " add", "(", "a", ",", " b", "):", "\n   ", " return", " a", " +", " b", " ", " #", " sum", "\n"],
            ["naïve", " café", " —", " “", "quotes", "”", " and", " emojis", " 🙂👍🏽", " and", " 日本語のテキスト"],
            ["Ελληνικά", ",", " русский", ",", " العربية", ",", " ह", "ि", "न", "्", "द", "ी"],
            ["x", "^", "2", " +", " y", "^", "2", " =", " z", "^", "2", ",", " \\", "frac", "{", "1", "}{", "2", "},", " \\", "boxed", "{", "4", "2", "}!!!"],
            ["a", "\u{a0}", "b", "\u{2009}", "c", "\u{3000}", "d", " \u{a0}", " e"],
            ["٣", "٤", "٥", " and", " ", "²", "³", " and", " ", "½", " and", " ", "Ⅻ"],
            ["...", "hello", "?!", " (", "yes", ")", " [", "no", "]", " {", "maybe", "}", " <", "tag", ">", " '", "quoted", "'", " \"", "double", "\""],
            ["''", " '", " '", "s", " '", "x", " '", "5", " ''", "s"],
            [" "],
            ["\n"],
            ["end", " with", " space", " "],
            ["tab", "\t"],
            ["$", "1", "0", "0", " +", " €", "5", "0", " =", " ¥?"],
        ],
        "llama-bpe": [
            ["Hello", " world"],
            ["I", "'m", " sure", " they", "'ve", " said", " we", "'ll", " go", ",", " it", "'s", " John", "'s", "."],
            ["DON", "'T", " SHOUT", ",", " IT", "'S", " LOUD", " '", "RE", " '", "VE", " '", "LL", " '", "D", " '", "M"],
            [" ", " multiple", "  ", " spaces", "\tand", "\ttabs", "\n\n\n", "newlines", "  "],
            ["line", " one", "\r\n", "line", " two", "\r\n\r\n", " ", " indented", "\n", "\t", "\ttabbed", "  \n"],
            ["The", " year", " ", "202", "4", " had", " ", "366", " days", ";", " ", "1", ",", "234", ",", "567", ".", "89", " is", " ", "123", "456", "789", "0", "."],
            ["def", " add", "(a", ",", " b", "):\n", "   ", " return", " a", " +", " b", " ", " #", " sum", "\n"],
            ["naïve", " café", " —", " “", "quotes", "”", " and", " emojis", " 🙂👍🏽", " and", " 日本語のテキスト"],
            ["Ελληνικά", ",", " русский", ",", " العربية", ",", " ह", "िन", "्द", "ी"],
            ["x", "^", "2", " +", " y", "^", "2", " =", " z", "^", "2", ",", " \\", "frac", "{", "1", "}{", "2", "},", " \\", "boxed", "{", "42", "}!!!"],
            ["a", "\u{a0}b", "\u{2009}c", "\u{3000}d", " \u{a0}", " e"],
            ["٣٤٥", " and", " ", "²³", " and", " ", "½", " and", " ", "Ⅻ"],
            ["...", "hello", "?!", " (", "yes", ")", " [", "no", "]", " {", "maybe", "}", " <", "tag", ">", " '", "quoted", "'", " \"", "double", "\""],
            ["''", " '", " '", "s", " '", "x", " '", "5", " ''", "s"],
            [" "],
            ["\n"],
            ["end", " with", " space", " "],
            ["tab", "\t"],
            ["$", "100", " +", " €", "50", " =", " ¥?"],
        ],
        "qwen2": [
            ["Hello", " world"],
            ["I", "'m", " sure", " they", "'ve", " said", " we", "'ll", " go", ",", " it", "'s", " John", "'s", "."],
            ["DON", "'T", " SHOUT", ",", " IT", "'S", " LOUD", " '", "RE", " '", "VE", " '", "LL", " '", "D", " '", "M"],
            [" ", " multiple", "  ", " spaces", "\tand", "\ttabs", "\n\n\n", "newlines", "  "],
            ["line", " one", "\r\n", "line", " two", "\r\n\r\n", " ", " indented", "\n", "\t", "\ttabbed", "  \n"],
            ["The", " year", " ", "2", "0", "2", "4", " had", " ", "3", "6", "6", " days", ";", " ", "1", ",", "2", "3", "4", ",", "5", "6", "7", ".", "8", "9", " is", " ", "1", "2", "3", "4", "5", "6", "7", "8", "9", "0", "."],
            ["def", " add", "(a", ",", " b", "):\n", "   ", " return", " a", " +", " b", " ", " #", " sum", "\n"],
            ["naïve", " café", " —", " “", "quotes", "”", " and", " emojis", " 🙂👍🏽", " and", " 日本語のテキスト"],
            ["Ελληνικά", ",", " русский", ",", " العربية", ",", " ह", "िन", "्द", "ी"],
            ["x", "^", "2", " +", " y", "^", "2", " =", " z", "^", "2", ",", " \\", "frac", "{", "1", "}{", "2", "},", " \\", "boxed", "{", "4", "2", "}!!!"],
            ["a", "\u{a0}b", "\u{2009}c", "\u{3000}d", " \u{a0}", " e"],
            ["٣", "٤", "٥", " and", " ", "²", "³", " and", " ", "½", " and", " ", "Ⅻ"],
            ["...", "hello", "?!", " (", "yes", ")", " [", "no", "]", " {", "maybe", "}", " <", "tag", ">", " '", "quoted", "'", " \"", "double", "\""],
            ["''", " '", " '", "s", " '", "x", " '", "5", " ''", "s"],
            [" "],
            ["\n"],
            ["end", " with", " space", " "],
            ["tab", "\t"],
            ["$", "1", "0", "0", " +", " €", "5", "0", " =", " ¥?"],
        ],
        "default": [
            ["Hello", " world"],
            ["I", "'", "m", " sure", " they", "'", "ve", " said", " we", "'", "ll", " go", ",", " it", "'", "s", " John", "'", "s", "."],
            ["DON", "'", "T", " SHOUT", ",", " IT", "'", "S", " LOUD", " ", "'", "RE", " ", "'", "VE", " ", "'", "LL", " ", "'", "D", " ", "'", "M"],
            [" ", " multiple", "  ", " spaces", "\t", "and", "\t", "tabs", "\n\n", "\n", "newlines", "  "],
            ["line", " one", "\r", "\n", "line", " two", "\r\n\r\n ", " indented", "\n\t", "\t", "tabbed", "  \n"],
            ["The", " year", " ", "202", "4", " had", " ", "366", " days", ";", " ", "1", ",", "234", ",", "567", ".", "89", " is", " ", "123", "456", "789", "0", "."],
            ["def", " add", "(", "a", ",", " b", "):", "\n   ", " return", " a", " ", "+", " b", "  ", "#", " sum", "\n"],
            ["naïve", " café", " ", "—", " ", "“", "quotes", "”", " and", " emojis", " 🙂👍🏽", " and", " 日本語のテキスト"],
            ["Ελληνικά", ",", " русский", ",", " العربية", ",", " ह", "ि", "न", "्", "द", "ी"],
            ["x", "^", "2", " ", "+", " y", "^", "2", " ", "=", " z", "^", "2", ",", " ", "\\", "frac", "{", "1", "}{", "2", "},", " ", "\\", "boxed", "{", "42", "}!!!"],
            ["a", "\u{a0}", "b", "\u{2009}", "c", "\u{3000}", "d", " \u{a0}", " e"],
            ["٣٤٥", " and", " ", "²³", " and", " ", "½", " and", " ", "Ⅻ"],
            ["...", "hello", "?!", " ", "(", "yes", ")", " ", "[", "no", "]", " ", "{", "maybe", "}", " ", "<", "tag", ">", " ", "'", "quoted", "'", " ", "\"", "double", "\""],
            ["''", " ", "'", " ", "'", "s", " ", "'", "x", " ", "'", "5", " ", "''", "s"],
            [" "],
            ["\n"],
            ["end", " with", " space", " "],
            ["tab", "\t"],
            ["$", "100", " ", "+", " €", "50", " ", "=", " ¥", "?"],
        ],
    ]
}
