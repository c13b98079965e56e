import Foundation
import Yams

/// Reads a policy from YAML (docs/policy.md).
public enum PolicyFile {
    public struct Failure: Error, CustomStringConvertible {
        public var description: String
    }

    public static func load(_ path: String) throws -> Policy {
        let text: String
        do { text = try String(contentsOfFile: path, encoding: .utf8) }
        catch { throw Failure(description: "cannot read the policy \(path): \(error.localizedDescription)") }
        return try parse(text, source: path)
    }

    public static func parse(_ text: String, source: String = "policy") throws -> Policy {
        do {
            let policy = try YAMLDecoder().decode(Policy.self, from: text)
            for (index, rule) in policy.rules.enumerated()
            where rule.tool == nil && rule.program == nil && rule.command == nil && rule.path == nil {
                throw Failure(description: "\(source): rule \(index + 1) matches nothing (give tool, program, command or path)")
            }
            return policy
        } catch let failure as Failure {
            throw failure
        } catch {
            throw Failure(description: "\(source) is not a valid policy: \(error)")
        }
    }
}
