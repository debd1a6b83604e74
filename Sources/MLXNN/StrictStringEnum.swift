// String-valued settings as enums that refuse what they do not know.
//
// A configuration value that selects behaviour (an activation, a schedule, a dtype) is parsed
// once into an enum. Unknown values are errors naming the value and the allowed ones, never a
// silent default.

import Foundation

/// A `String`-backed enum decoded strictly; `aliases` are other spellings it accepts.
public protocol StrictStringEnum: RawRepresentable, CaseIterable, Codable, Sendable where RawValue == String {
    static var aliases: [String: Self] { get }
}

/// An unknown value of a ``StrictStringEnum``.
public struct UnknownValueError: Error, CustomStringConvertible, Equatable {
    public let value: String
    public let allowed: [String]
    public var description: String {
        "unknown value \"\(value)\" (allowed: \(allowed.joined(separator: ", ")))"
    }
}

extension StrictStringEnum {
    public static var aliases: [String: Self] { [:] }

    /// The accepted spellings, canonical ones first.
    public static var allowedValues: [String] { allCases.map(\.rawValue) + aliases.keys.sorted() }

    /// The case spelled `value`, or an ``UnknownValueError``.
    public init(parsing value: String) throws {
        guard let known = Self(rawValue: value) ?? Self.aliases[value] else {
            throw UnknownValueError(value: value, allowed: Self.allowedValues)
        }
        self = known
    }

    public init(from decoder: Decoder) throws {
        let container = try decoder.singleValueContainer()
        let value = try container.decode(String.self)
        do {
            try self.init(parsing: value)
        } catch let error as UnknownValueError {
            throw DecodingError.dataCorruptedError(in: container, debugDescription: error.description)
        }
    }

    public func encode(to encoder: Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(rawValue)
    }
}
