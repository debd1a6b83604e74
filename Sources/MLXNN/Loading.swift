// Loading parameters by name, with a report of what did not match.

import Foundation
import MLXEngine

// MARK: - Report

/// What a name-matched load found: checkpoint keys the model lacks, model keys the
/// checkpoint lacks, and keys present in both whose shapes differ.
public struct ParameterLoadReport: Equatable, CustomStringConvertible {
    public var missing: [String] = []
    public var unexpected: [String] = []
    public var shapeMismatches: [ShapeMismatch] = []

    public struct ShapeMismatch: Equatable {
        public let key: String
        public let expected: [Int]
        public let found: [Int]

        public init(key: String, expected: [Int], found: [Int]) {
            self.key = key
            self.expected = expected
            self.found = found
        }
    }

    public var isClean: Bool { missing.isEmpty && unexpected.isEmpty && shapeMismatches.isEmpty }

    public var description: String {
        var lines: [String] = []
        if !missing.isEmpty { lines.append("missing keys (in the model, not in the checkpoint): \(missing.joined(separator: ", "))") }
        if !unexpected.isEmpty { lines.append("unexpected keys (in the checkpoint, not in the model): \(unexpected.joined(separator: ", "))") }
        for m in shapeMismatches { lines.append("shape mismatch for \(m.key): model \(m.expected), checkpoint \(m.found)") }
        return lines.isEmpty ? "all keys matched" : lines.joined(separator: "\n")
    }
}

/// Thrown by a verified load that found mismatches.
public struct ParameterLoadError: Error, CustomStringConvertible {
    public let source: String
    public let report: ParameterLoadReport
    public var description: String { "cannot load \(source):\n\(report)" }
}

// MARK: - Update

public struct LoadVerification: OptionSet, Sendable {
    public let rawValue: Int
    public init(rawValue: Int) { self.rawValue = rawValue }
    public static let noMissing = LoadVerification(rawValue: 1)
    public static let noUnexpected = LoadVerification(rawValue: 2)
    public static let shapesMatch = LoadVerification(rawValue: 4)
    public static let all: LoadVerification = [.noMissing, .noUnexpected, .shapesMatch]
    public static let none: LoadVerification = []
}

extension Module {
    /// Loads `parameters` by key into the module's arrays (in place). Keys are matched
    /// exactly; what does not match is reported, and under `verify` it throws before any
    /// array is touched.
    @discardableResult
    public func update(
        parameters: [String: MLXArray], verify: LoadVerification = .all, source: String = "parameters"
    ) throws -> ParameterLoadReport {
        let own = self.parameters()
        var report = ParameterLoadReport()
        var seen = Set<String>()
        var assignments: [(MLXArray, MLXArray)] = []
        for (key, array) in own {
            seen.insert(key)
            guard let value = parameters[key] else {
                report.missing.append(key)
                continue
            }
            let expected = array.shape
            let found = value.shape
            if expected != found {
                report.shapeMismatches.append(.init(key: key, expected: expected, found: found))
                continue
            }
            assignments.append((array, value))
        }
        report.unexpected = parameters.keys.filter { !seen.contains($0) }.sorted()
        let failed = (verify.contains(.noMissing) && !report.missing.isEmpty)
            || (verify.contains(.noUnexpected) && !report.unexpected.isEmpty)
            || (verify.contains(.shapesMatch) && !report.shapeMismatches.isEmpty)
        if failed { throw ParameterLoadError(source: source, report: report) }
        for (target, value) in assignments { target.update(value) }
        return report
    }
}
