// The error of a model folder or config that cannot be read, naming the file and field; in a file
// of its own so that config decoding compiles without the engine (Fuzz/model_config).

import Foundation

public struct ModelFolderError: Error, CustomStringConvertible, Equatable {
    public let description: String
    public init(_ description: String) { self.description = description }
}
