/// Splits a shell command line into the simple commands it would run, so a policy rule on
/// `rm` also sees the `rm` in `a && rm b`, `x | xargs rm`, `sh -c 'rm -rf x'`, `env rm …`,
/// `bash -lc "…"`, `sudo rm`, `timeout 5 rm`. It is a second layer over the sandbox, not a
/// shell: what it cannot parse it keeps whole, and rules see every word of it.
public enum ShellCommands {
    /// Each simple command as its words, wrappers removed, nested `-c` scripts expanded.
    public static func commands(in line: String, depth: Int = 0) -> [[String]] {
        var result: [[String]] = []
        for words in split(line) where !words.isEmpty {
            result += unwrap(words, depth: depth)
        }
        return result
    }

    /// Programs that run their arguments as a command.
    static let wrappers: Set<String> = ["env", "sudo", "doas", "nohup", "nice", "ionice", "time", "command",
                                        "exec", "builtin", "xargs", "timeout", "stdbuf", "setsid", "chroot",
                                        "busybox", "strace", "watch", "unbuffer", "flock"]
    static let shells: Set<String> = ["sh", "bash", "dash", "zsh", "ksh", "ash", "fish", "mksh"]

    private static func unwrap(_ words: [String], depth: Int) -> [[String]] {
        var words = words
        // Leading VAR=value assignments.
        while let first = words.first, isAssignment(first) { words.removeFirst() }
        guard let first = words.first else { return [] }
        let name = basename(first)
        if shells.contains(name), depth < 8 {
            // sh -c 'script' (also -lc, -ec, -xc …): the script is what runs.
            if let index = words.firstIndex(where: { $0.hasPrefix("-") && !$0.hasPrefix("--") && $0.contains("c") }),
               index + 1 < words.count {
                return [words] + commands(in: words[index + 1], depth: depth + 1)
            }
            return [words]
        }
        if wrappers.contains(name), depth < 8 {
            // Where the wrapped command starts depends on each wrapper's options (`xargs -n 1
            // rm`, `timeout 5 rm`, `flock /lock rm`); every later word that is not an option
            // is taken as a possible start, so a rule errs on the strict side.
            var result = [words]
            for start in words.indices.dropFirst().prefix(64)
            where !words[start].hasPrefix("-") && !isAssignment(words[start]) {
                result += unwrap(Array(words[start...]), depth: depth + 1)
            }
            return result
        }
        return [words]
    }

    private static func isAssignment(_ word: String) -> Bool {
        guard let equals = word.firstIndex(of: "="), equals != word.startIndex else { return false }
        return word[..<equals].allSatisfy { $0.isLetter || $0.isNumber || $0 == "_" }
    }

    static func basename(_ word: String) -> String {
        word.split(separator: "/").last.map(String.init) ?? word
    }

    /// Words of each simple command: quotes and backslashes resolved; `|`, `||`, `&&`, `;`,
    /// `&`, newlines and parentheses separate commands; `$(…)` and backquotes are scanned
    /// as commands too.
    static func split(_ line: String) -> [[String]] {
        var commands: [[String]] = []
        var words: [String] = []
        var word = ""
        var inWord = false
        let chars = Array(line)
        var index = 0
        func endWord() {
            if inWord { words.append(word) }
            word = ""
            inWord = false
        }
        func endCommand() {
            endWord()
            if !words.isEmpty { commands.append(words) }
            words = []
        }
        while index < chars.count {
            let char = chars[index]
            switch char {
            case "'":
                inWord = true
                index += 1
                while index < chars.count, chars[index] != "'" { word.append(chars[index]); index += 1 }
            case "\"":
                inWord = true
                index += 1
                while index < chars.count, chars[index] != "\"" {
                    if chars[index] == "\\", index + 1 < chars.count { index += 1 }
                    word.append(chars[index])
                    index += 1
                }
            case "\\":
                inWord = true
                if index + 1 < chars.count { index += 1; word.append(chars[index]) }
            case "$" where index + 1 < chars.count && chars[index + 1] == "(":
                // A command substitution: its contents are a command line of their own.
                var level = 1
                var inner = ""
                index += 2
                while index < chars.count, level > 0 {
                    if chars[index] == "(" { level += 1 }
                    if chars[index] == ")" { level -= 1; if level == 0 { break } }
                    inner.append(chars[index])
                    index += 1
                }
                commands += split(inner)
                inWord = true
                word += "$(…)"
            case "`":
                var inner = ""
                index += 1
                while index < chars.count, chars[index] != "`" { inner.append(chars[index]); index += 1 }
                commands += split(inner)
                inWord = true
                word += "`…`"
            case " ", "\t":
                endWord()
            case "\n", ";", "&", "|", "(", ")", "{", "}":
                endCommand()
            default:
                inWord = true
                word.append(char)
            }
            index += 1
        }
        endCommand()
        return commands
    }
}
