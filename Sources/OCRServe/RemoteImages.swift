// Images named by http(s) URLs, off unless the operator allows hosts (`--allow-media-domain`).
// The client follows no redirect by itself: each hop's Location is resolved and its host checked
// against the allowed ones again (at most 3 hops), the body is cut off past the image byte limit,
// and the whole fetch has a deadline. Errors name the request part, never the remote's words.

import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1

final class RemoteImages: @unchecked Sendable {  // `client` is created once under `lock`
    let allowedDomains: [String]
    let limits: ServeLimits
    static let maxRedirects = 3
    static let timeout: TimeAmount = .seconds(20)

    private let lock = NSLock()
    private var client: HTTPClient?

    init(allowedDomains: [String], limits: ServeLimits) {
        self.allowedDomains = allowedDomains.map { $0.lowercased() }
        self.limits = limits
    }

    /// Whether `host` is allowed: equal to an allowed name, or under a `.example.org` entry.
    func allows(host: String) -> Bool {
        let h = host.lowercased()
        return allowedDomains.contains { d in d.hasPrefix(".") ? h.hasSuffix(d) || h == String(d.dropFirst()) : h == d }
    }

    /// A URL the server may fetch: http(s), no credentials, an allowed host.
    func checked(_ text: String, param: String) throws -> URL {
        guard !allowedDomains.isEmpty else {
            throw ServeError.badRequest("\(param): image URLs are not allowed on this server (send the image inline as base64)",
                                        param: param, code: "image_url_not_allowed")
        }
        guard let url = URL(string: text), let scheme = url.scheme?.lowercased(), scheme == "http" || scheme == "https",
              let host = url.host, url.user == nil, url.password == nil else {
            throw ServeError.badRequest("\(param) is not a valid http(s) URL", param: param, code: "invalid_image_url")
        }
        guard allows(host: host) else {
            throw ServeError.badRequest("\(param): the host \(host.prefix(100)) is not allowed (see --allow-media-domain)",
                                        param: param, code: "image_url_not_allowed")
        }
        return url
    }

    private func sharedClient() -> HTTPClient {
        lock.lock()
        defer { lock.unlock() }
        if let client { return client }
        let made = HTTPClient(
            eventLoopGroupProvider: .singleton,
            configuration: .init(redirectConfiguration: .disallow, timeout: .init(connect: .seconds(5), read: .seconds(10))))
        client = made
        return made
    }

    /// The bytes at `text`, following up to three redirects, each to an allowed host.
    func fetch(_ text: String, param: String) async throws -> Data {
        var url = try checked(text, param: param)
        let deadline = NIODeadline.now() + Self.timeout
        for _ in 0 ... Self.maxRedirects {
            let request = HTTPClientRequest(url: url.absoluteString)
            let response: HTTPClientResponse
            do {
                response = try await sharedClient().execute(request, deadline: deadline)
            } catch {
                throw ServeError.badRequest("\(param): the image could not be fetched", param: param, code: "image_fetch_failed")
            }
            if [301, 302, 303, 307, 308].contains(response.status.code) {
                guard let location = response.headers.first(name: "location"), let next = URL(string: location, relativeTo: url) else {
                    throw ServeError.badRequest("\(param): a redirect without a valid Location", param: param, code: "image_fetch_failed")
                }
                url = try checked(next.absoluteString, param: param)
                continue
            }
            guard response.status == .ok else {
                throw ServeError.badRequest("\(param): fetching the image gave HTTP \(response.status.code)", param: param, code: "image_fetch_failed")
            }
            if let length = response.headers.first(name: "content-length").flatMap({ Int($0) }), length > limits.maxImageBytes {
                throw ServeError(.contentTooLarge, "image_too_large", "\(param) is larger than \(limits.maxImageBytes) bytes", param: param)
            }
            var data = Data()
            do {
                for try await chunk in response.body {
                    guard data.count + chunk.readableBytes <= limits.maxImageBytes else {
                        throw ServeError(.contentTooLarge, "image_too_large", "\(param) is larger than \(limits.maxImageBytes) bytes", param: param)
                    }
                    data.append(contentsOf: chunk.readableBytesView)
                }
            } catch let error as ServeError {
                throw error
            } catch {
                throw ServeError.badRequest("\(param): the image could not be fetched", param: param, code: "image_fetch_failed")
            }
            return data
        }
        throw ServeError.badRequest("\(param): more than \(Self.maxRedirects) redirects", param: param, code: "image_fetch_failed")
    }

    func shutdown() async {
        let c = lock.withLock {
            defer { client = nil }
            return client
        }
        try? await c?.shutdown()
    }
}
