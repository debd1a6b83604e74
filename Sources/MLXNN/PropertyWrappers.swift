// Property wrappers that give a parameter or child its checkpoint key.

import MLXEngine

// MARK: - Protocols used by reflection

protocol WrappedItem {
    var key: String? { get }
    var wrappedItem: Any { get }
}

protocol ModuleSlot {
    var key: String? { get }
    var currentModule: Module? { get }
    func setModule(_ module: Module, path: String) throws
}

// MARK: - ModuleInfo

/// A child module with an explicit checkpoint key, replaceable by
/// ``Module/replaceModules(_:)`` (how LoRA and quantization wrap layers):
///
///     @ModuleInfo(key: "self_attn") var selfAttention: Attention
@propertyWrapper
public final class ModuleInfo<M>: WrappedItem, ModuleSlot {
    private var value: M?
    public let key: String?

    public var wrappedValue: M {
        get {
            guard let value else { fatalError("module '\(key ?? "?")' read before it was set") }
            return value
        }
        set { value = newValue }
    }

    public init(wrappedValue: M, key: String? = nil) {
        self.value = wrappedValue
        self.key = key
    }

    /// Declares the key; the module is set in the owner's initializer (`_x.wrappedValue = ...`).
    public init(key: String? = nil) {
        self.key = key
    }

    var wrappedItem: Any { value as Any }

    var currentModule: Module? {
        guard let value else { return nil }
        if let m = value as? Module { return m }
        let mirror = Mirror(reflecting: value)
        if mirror.displayStyle == .optional { return mirror.children.first?.value as? Module }
        return nil
    }

    func setModule(_ module: Module, path: String) throws {
        guard let value = module as? M else {
            throw ModuleError.typeMismatch(path: path, expected: "\(M.self)", got: "\(type(of: module))")
        }
        self.value = value
    }
}

// MARK: - ParameterInfo

/// A parameter with an explicit checkpoint key:
///
///     @ParameterInfo(key: "position_embedding") var positions: MLXArray
@propertyWrapper
public final class ParameterInfo<P>: WrappedItem {
    private var value: P?
    public let key: String?

    public var wrappedValue: P {
        get {
            guard let value else { fatalError("parameter '\(key ?? "?")' read before it was set") }
            return value
        }
        set { value = newValue }
    }

    public init(wrappedValue: P, key: String? = nil) {
        self.value = wrappedValue
        self.key = key
    }

    /// Declares the key; the value is set in the owner's initializer (`_x.wrappedValue = ...`).
    public init(key: String? = nil) {
        self.key = key
    }

    var wrappedItem: Any { value as Any }
}
