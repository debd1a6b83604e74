// Module: a tree of layers whose parameter names are the Hugging Face checkpoint keys.

import Foundation
import MLXEngine

// MARK: - Module

/// Base class of every layer and model.
///
/// Parameters (``MLXArray`` stored properties) and children (``Module`` properties, arrays
/// and dictionaries of them) are found by reflection. A property's key is its name, or the
/// `key:` of its ``ModuleInfo`` / ``ParameterInfo`` wrapper, so flattened names read
/// `layers.0.self_attn.q_proj.weight` exactly as in the checkpoint. Properties whose name
/// starts with `_` are not parameters.
open class Module {
    /// Whether the module is in training mode (dropout active, batch statistics used).
    public private(set) var training = true

    /// Local parameter keys excluded from training.
    private(set) var frozenKeys = Set<String>()

    /// Local keys that are never trainable (buffers such as running statistics).
    public private(set) var bufferKeys = Set<String>()

    public init() {}

    /// Declares local parameter keys as buffers: loaded and saved, never trained.
    public func declareBuffers(_ keys: String...) {
        bufferKeys.formUnion(keys)
    }

    // MARK: Reflection

    /// The module's direct items: parameters and children, by key, in declaration order.
    public func items() -> [(key: String, item: ModuleItem)] {
        var result: [(String, ModuleItem)] = []
        var mirror: Mirror? = Mirror(reflecting: self)
        var chain: [Mirror] = []
        while let m = mirror, m.subjectType != Module.self {
            chain.append(m)
            mirror = m.superclassMirror
        }
        for m in chain.reversed() {
            for child in m.children {
                guard let label = child.label else { continue }
                if let wrapper = child.value as? any WrappedItem {
                    let name = String(label.dropFirst())  // wrapper storage is `_name`
                    if let item = ModuleItem(wrapper.wrappedItem) { result.append((wrapper.key ?? name, item)) }
                } else if !label.hasPrefix("_"), let item = ModuleItem(child.value) {
                    result.append((label, item))
                }
            }
        }
        return result
    }

    /// Every parameter of the tree with its flattened key (frozen ones included).
    public func parameters() -> [(key: String, array: MLXArray)] {
        var out: [(String, MLXArray)] = []
        visitParameters { key, _, _, array in out.append((key, array)) }
        return out
    }

    /// The parameters that receive gradients: not frozen and not buffers.
    public func trainableParameters() -> [(key: String, array: MLXArray)] {
        var out: [(String, MLXArray)] = []
        visitParameters { key, module, local, array in
            if !module.frozenKeys.contains(local) && !module.bufferKeys.contains(local) { out.append((key, array)) }
        }
        return out
    }

    /// Parameters as a dictionary.
    public func parameterDictionary() -> [String: MLXArray] {
        Dictionary(parameters().map { ($0.key, $0.array) }, uniquingKeysWith: { a, _ in a })
    }

    /// Every module of the tree with its path ("" for the root), depth first.
    public func namedModules() -> [(path: String, module: Module)] {
        var out: [(String, Module)] = [("", self)]
        for (key, item) in items() {
            item.forEachModule(prefix: key) { path, m in out.append(contentsOf: m.namedModules().map { (join(path, $0.path), $0.module) }) }
        }
        return out
    }

    /// Calls `body(fullKey, owner, localKey, array)` for every parameter.
    func visitParameters(prefix: String = "", _ body: (String, Module, String, MLXArray) -> Void) {
        for (key, item) in items() {
            visit(item, full: join(prefix, key), local: key, body)
        }
    }

    private func visit(
        _ item: ModuleItem, full: String, local: String, _ body: (String, Module, String, MLXArray) -> Void
    ) {
        switch item {
        case .parameter(let a): body(full, self, local, a)
        case .module(let m): m.visitParameters(prefix: full, body)
        case .list(let items):
            for (i, item) in items.enumerated() { visit(item, full: join(full, "\(i)"), local: join(local, "\(i)"), body) }
        case .dictionary(let items):
            for k in items.keys.sorted() { visit(items[k]!, full: join(full, k), local: join(local, k), body) }
        }
    }

    // MARK: Modes

    /// Sets training (true) or evaluation (false) mode for the whole tree.
    public func train(_ on: Bool = true) {
        for (_, m) in namedModules() { m.training = on }
    }

    /// Training mode for the tree, except modules whose own parameters are all frozen: they
    /// run in evaluation mode, so a frozen BatchNorm normalizes with (and keeps) its running
    /// statistics instead of the batch's — the usual way to fine-tune with frozen layers.
    public func trainWithFrozenLayersInEvalMode() {
        for (_, m) in namedModules() {
            let own = m.items().filter { if case .parameter = $0.item { return true } else { return false } }
                .map(\.key).filter { !m.bufferKeys.contains($0) }
            m.training = own.isEmpty || own.contains { !m.frozenKeys.contains($0) }
        }
    }

    // MARK: Freezing

    /// Freezes parameters whose key matches any pattern (all of them when `patterns` is nil).
    /// A pattern is a glob over the full key (`*` any run of characters, `?` one) that also
    /// matches every parameter below a matching module path (`encoder` freezes `encoder.*`).
    @discardableResult
    public func freeze(matching patterns: [String]? = nil) -> Int {
        setFrozen(true, patterns)
    }

    /// Unfreezes parameters whose key matches any pattern (all when nil); buffers stay frozen.
    @discardableResult
    public func unfreeze(matching patterns: [String]? = nil) -> Int {
        setFrozen(false, patterns)
    }

    private func setFrozen(_ frozen: Bool, _ patterns: [String]?) -> Int {
        let matchers = patterns?.map(KeyPattern.init)
        var count = 0
        visitParameters { key, module, local, _ in
            guard matchers == nil || matchers!.contains(where: { $0.matches(key) }) else { return }
            if frozen { module.frozenKeys.insert(local) } else { module.frozenKeys.remove(local) }
            count += 1
        }
        return count
    }

    // MARK: Replacing modules

    /// Replaces children for which `transform(path, module)` returns a new module. Only
    /// children declared with ``ModuleInfo`` can be replaced. Returns the replaced paths.
    @discardableResult
    public func replaceModules(_ transform: (String, Module) throws -> Module?) throws -> [String] {
        var replaced: [String] = []
        try replaceModules(prefix: "", transform, &replaced)
        return replaced
    }

    private func replaceModules(
        prefix: String, _ transform: (String, Module) throws -> Module?, _ replaced: inout [String]
    ) throws {
        var mirror: Mirror? = Mirror(reflecting: self)
        while let m = mirror, m.subjectType != Module.self {
            for child in m.children {
                guard let label = child.label else { continue }
                if let info = child.value as? any ModuleSlot, let current = info.currentModule {
                    let path = join(prefix, info.key ?? String(label.dropFirst()))
                    if let new = try transform(path, current) {
                        try info.setModule(new, path: path)
                        replaced.append(path)
                    } else {
                        try current.replaceModules(prefix: path, transform, &replaced)
                    }
                } else if !label.hasPrefix("_"), let item = ModuleItem(child.value) {
                    let path = join(prefix, label)
                    var failure: Error?
                    item.forEachModule(prefix: path) { p, module in
                        guard failure == nil else { return }
                        do {
                            if try transform(p, module) != nil {
                                throw ModuleError.notReplaceable(path: p)
                            }
                            try module.replaceModules(prefix: p, transform, &replaced)
                        } catch { failure = error }
                    }
                    if let failure { throw failure }
                }
            }
            mirror = m.superclassMirror
        }
    }
}

// MARK: - Items

/// One reflected stored property of a module.
public enum ModuleItem {
    case parameter(MLXArray)
    case module(Module)
    case list([ModuleItem])
    case dictionary([String: ModuleItem])

    init?(_ value: Any) {
        switch value {
        case let a as MLXArray: self = .parameter(a)
        case let m as Module: self = .module(m)
        case let list as [Any]:
            let items = list.compactMap(ModuleItem.init)
            guard !items.isEmpty else { return nil }
            self = .list(items)
        case let dict as [String: Any]:
            let items = dict.compactMapValues(ModuleItem.init)
            guard !items.isEmpty else { return nil }
            self = .dictionary(items)
        default:
            let mirror = Mirror(reflecting: value)
            guard mirror.displayStyle == .optional, let wrapped = mirror.children.first?.value else { return nil }
            self.init(wrapped)
        }
    }

    /// Visits modules (direct, in lists, in dictionaries) with their paths.
    func forEachModule(prefix: String, _ body: (String, Module) -> Void) {
        switch self {
        case .parameter: break
        case .module(let m): body(prefix, m)
        case .list(let items):
            for (i, item) in items.enumerated() { item.forEachModule(prefix: join(prefix, "\(i)"), body) }
        case .dictionary(let items):
            for key in items.keys.sorted() { items[key]!.forEachModule(prefix: join(prefix, key), body) }
        }
    }
}

public enum ModuleError: Error, CustomStringConvertible, Equatable {
    case notReplaceable(path: String)
    case typeMismatch(path: String, expected: String, got: String)

    public var description: String {
        switch self {
        case .notReplaceable(let p): "module '\(p)' cannot be replaced: declare it with @ModuleInfo"
        case .typeMismatch(let p, let e, let g): "module '\(p)' expects \(e), got \(g)"
        }
    }
}

@inline(__always)
func join(_ prefix: String, _ key: String) -> String {
    prefix.isEmpty ? key : key.isEmpty ? prefix : "\(prefix).\(key)"
}

// MARK: - Key patterns

/// A glob over dotted parameter keys: `*` matches any run of characters, `?` one character.
/// A pattern also matches keys below a matching prefix (`encoder` matches `encoder.x.weight`).
public struct KeyPattern {
    let regex: NSRegularExpression

    public init(_ pattern: String) {
        var re = "^"
        for c in pattern {
            switch c {
            case "*": re += ".*"
            case "?": re += "."
            default: re += NSRegularExpression.escapedPattern(for: String(c))
            }
        }
        re += "(\\..*)?$"
        regex = try! NSRegularExpression(pattern: re)
    }

    public func matches(_ key: String) -> Bool {
        regex.firstMatch(in: key, range: NSRange(key.startIndex..., in: key)) != nil
    }
}
